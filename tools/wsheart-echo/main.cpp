// wsheart-echo: a local WebSocket peer for the demo, the integration tests and
// the benchmarks. See docs/echo-server.md. Option parsing only; the server is
// in echo_server.cpp (the one websocketpp translation unit).
#include "options.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using wsheart::echo::Options;

constexpr std::string_view kUsage =
    "usage: wsheart-echo [--host 127.0.0.1] [--port N (0 = ephemeral)]\n"
    "                    [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]\n"
    "                    [--heartbeat-payload TEXT] [--heartbeat-reply TEXT] [--no-heartbeat-reply]\n"
    "                    [--notify-every DURATION (e.g. 3s, 250ms)]\n"
    "                    [--refuse-upgrade STATUS] [--never-upgrade] [--stall-after-upgrade]\n"
    "                    [--close-on-open CODE] [--max-connections N] [--quiet]\n"
    "                    [--report-handshakes]\n"
    "Prints \"PORT <n>\" on stdout once listening; logs go to stderr.\n"
    "Text commands: <heartbeat payload>, echo:TEXT, burst:N:SIZE, pace:N:RATE:SIZE,\n"
    "               burst-all:N:SIZE, pace-all:N:RATE:SIZE, binary:N, big:N,\n"
    "               close:CODE, silence, headers, path, drop. Binary frames are echoed.\n"
    "SIGUSR1: silence every connection and answer new upgrades 503; SIGUSR2: accept again.\n";

template <class T>
std::optional<T> parse_integer(std::string_view text) {
  T value{};
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// "3s", "250ms", "1.5s", "100us", "2m"; a bare number means seconds.
std::optional<std::chrono::nanoseconds> parse_duration(const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const std::string_view unit = std::string_view(text).substr(used);
  double scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1e9;
  } else if (unit == "ms") {
    scale = 1e6;
  } else if (unit == "us") {
    scale = 1e3;
  } else if (unit == "ns") {
    scale = 1;
  } else if (unit == "m" || unit == "min") {
    scale = 60e9;
  } else {
    return std::nullopt;
  }
  const double ns = value * scale;
  if (!std::isfinite(ns) || ns < 0 || ns > 1e18) return std::nullopt;
  return std::chrono::nanoseconds(std::llround(ns));
}

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "wsheart-echo: " << message << "\n" << kUsage;
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options options;
  const std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) usage_error(arg + " needs a value");
      return args[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cerr << kUsage;
      std::exit(0);
    } else if (arg == "--host") {
      options.host = value();
    } else if (arg == "--port") {
      const auto port = parse_integer<std::uint16_t>(value());
      if (!port) usage_error("bad --port");
      options.port = *port;
    } else if (arg == "--tls-cert") {
      options.tls_cert = value();
    } else if (arg == "--tls-key") {
      options.tls_key = value();
    } else if (arg == "--tls-client-ca") {
      options.tls_client_ca = value();
    } else if (arg == "--heartbeat-payload") {
      options.heartbeat_payload = value();
    } else if (arg == "--heartbeat-reply") {
      options.heartbeat_reply = value();
    } else if (arg == "--no-heartbeat-reply") {
      options.heartbeat_reply_enabled = false;
    } else if (arg == "--notify-every") {
      const auto period = parse_duration(value());
      if (!period || period->count() == 0) usage_error("bad --notify-every (e.g. 3s, 250ms)");
      options.notify_every = *period;
    } else if (arg == "--refuse-upgrade") {
      const auto status = parse_integer<int>(value());
      if (!status || *status < 100 || *status > 599) usage_error("bad --refuse-upgrade (HTTP status 100..599)");
      options.refuse_upgrade_status = *status;
    } else if (arg == "--never-upgrade") {
      options.never_upgrade = true;
    } else if (arg == "--stall-after-upgrade") {
      options.stall_after_upgrade = true;
    } else if (arg == "--close-on-open") {
      const auto code = parse_integer<std::uint16_t>(value());
      if (!code || *code < 1000 || *code > 4999) usage_error("bad --close-on-open (close code 1000..4999)");
      options.close_on_open = *code;
    } else if (arg == "--max-connections") {
      const auto max = parse_integer<std::size_t>(value());
      if (!max) usage_error("bad --max-connections");
      options.max_connections = *max;
    } else if (arg == "--report-handshakes") {
      options.report_handshakes = true;
    } else if (arg == "--quiet" || arg == "-q") {
      options.quiet = true;
    } else {
      usage_error("unknown argument " + arg);
    }
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) usage_error("--tls-cert and --tls-key go together");
  if (!options.tls_client_ca.empty() && options.tls_cert.empty()) usage_error("--tls-client-ca needs --tls-cert");
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  return wsheart::echo::run(parse(argc, argv));
}
