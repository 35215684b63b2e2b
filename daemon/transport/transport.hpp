// The only door to websocketpp. Turns socket events into calls on a Listener
// and executes connect/send/close/abort. Every connection is driven by the
// caller's asio::io_context on the caller's (single) thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/io_context.hpp>

#include "config.hpp"
#include "log/log.hpp"
#include "supervisor/supervisor.hpp"

namespace wsheart::transport {

using ConnId = std::uint64_t;  // never reused within a process; 0 = none

struct ConnectRequest {
  std::string user_id;  // for log lines only
  config::Url url;      // parsed by config; its userinfo is a credential: never log it
  std::vector<config::Header> headers;
  std::string headers_file;  // "Name: value" lines, read now (before this handshake)
  std::chrono::milliseconds connect_timeout{10000};  // TCP + TLS + upgrade, in total
  std::uint64_t max_message_size = 1024 * 1024;
  bool tls_verify = true;
  std::string ca_file;
  std::string client_cert;  // PEM chain presented to the server (with client_key); "" = none
  std::string client_key;
  // Canonical base64 SHA-256 digests of acceptable server SubjectPublicKeyInfos;
  // empty = no pinning. Checked after chain and host name verification.
  std::vector<std::string> pin_sha256;
  // An http:// proxy to tunnel through with CONNECT; nullopt = direct. Its
  // userinfo is a secret (Basic credentials for the proxy alone).
  std::optional<config::ProxyUrl> proxy;
  std::string proxy_auth_file;  // "user:password", read now; takes precedence over the proxy URL's userinfo
  // Kernel backstops for a dead peer: TCP_USER_TIMEOUT and keepalive.
  std::chrono::milliseconds tcp_user_timeout{0};  // 0 = leave the kernel default
};

class Listener {
 public:
  virtual ~Listener() = default;
  virtual void on_open(ConnId id) = 0;
  virtual void on_frame(ConnId id, supervisor::FrameKind kind, std::string payload) = 0;
  // Exactly once per connection, unless abort() was called first.
  virtual void on_disconnect(ConnId id, const supervisor::Disconnect& why) = 0;
};

class Transport {
 public:
  Transport(asio::io_context& io, Listener& listener, const Logger& log);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Starts an attempt. Failures (even immediate ones such as a bad URL or an
  // unreadable headers_file) are reported later through on_disconnect, never
  // from inside connect().
  ConnId connect(const ConnectRequest& request);
  // False if the connection is not open (the text is not sent).
  bool send_text(ConnId id, std::string_view text);
  bool send_ping(ConnId id, std::string_view payload);
  void close(ConnId id, std::uint16_t code, std::string_view reason);  // graceful; on_disconnect follows
  void abort(ConnId id);  // best-effort close frame, socket closed now; no callback follows
  void abort_all();       // shutdown

  std::size_t connection_count() const;

  // websocketpp 0.8.2 parses a proxy's answer to CONNECT with an HTTP parser
  // that throws on a malformed status line, out of its handler and so out of
  // io_context::run(). Returns true if `e` is that: the attempt it belonged
  // to is then failed (proxy_failed) from the loop, which may run again.
  bool absorb(const std::exception& e);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wsheart::transport
