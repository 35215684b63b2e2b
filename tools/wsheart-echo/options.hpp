// wsheart-echo: command-line options shared by main.cpp (parsing) and
// echo_server.cpp (the only translation unit that instantiates websocketpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace wsheart::echo {

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = ephemeral
  std::string tls_cert;    // both set = wss://
  std::string tls_key;
  std::string tls_client_ca;  // set: require a client certificate signed by these CAs
  std::string heartbeat_payload = "HeartBeat";
  std::string heartbeat_reply = "HeartBeat";
  bool heartbeat_reply_enabled = true;
  std::chrono::nanoseconds notify_every{0};  // 0 = no notifications
  int refuse_upgrade_status = 0;             // 0 = accept upgrades
  bool never_upgrade = false;
  bool stall_after_upgrade = false;
  std::optional<std::uint16_t> close_on_open;
  std::size_t max_connections = 0;  // 0 = unlimited
  bool quiet = false;
  bool report_handshakes = false;  // print "peak handshakes N" on stderr at exit

  bool tls() const { return !tls_cert.empty(); }
};

// Serves until SIGTERM/SIGINT. Prints exactly "PORT <n>" on stdout once
// listening; everything else goes to stderr. Returns the process exit code.
int run(const Options& options);

}  // namespace wsheart::echo
