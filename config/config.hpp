// The configuration model: TOML -> plain structs. No I/O but reading files.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cursor.hpp"
#include "proxy.hpp"
#include "url.hpp"

namespace wsheart::config {

using Duration = std::chrono::milliseconds;

enum class HeartbeatMode { Text, Ping, Off };
enum class Jitter { Full, None };

std::string_view to_string(HeartbeatMode mode);
std::string_view to_string(Jitter jitter);

// A header sent on the HTTP upgrade. Values may be secrets: never log them.
struct Header {
  std::string name;
  std::string value;
  bool operator==(const Header& other) const { return name == other.name && value == other.value; }
};

// One [[user]] after [defaults] have been applied and {id} substituted.
struct UserConfig {
  std::string id;
  std::string url;  // {id} already substituted (percent-encoded)
  Url endpoint;     // url, parsed by the loader; what the transport connects to
  std::vector<Header> headers;
  std::string headers_file;  // re-read before every handshake; "" = none
  std::vector<std::string> on_open;
  HeartbeatMode heartbeat = HeartbeatMode::Text;
  std::string heartbeat_payload = "HeartBeat";
  std::string heartbeat_reply = "HeartBeat";
  Duration heartbeat_interval{5000};
  Duration heartbeat_timeout{5000};
  Duration connect_timeout{10000};
  Duration reconnect_initial{1000};
  Duration reconnect_max{60000};
  double reconnect_multiplier = 2.0;
  Jitter reconnect_jitter = Jitter::Full;
  Duration stable_after{10000};
  Duration fatal_backoff{600000};
  Duration wake_probe_timeout{2000};  // after a wake, an open connection's probe must be answered this soon
  std::uint64_t max_message_size = 1024 * 1024;
  std::size_t send_queue_limit = 1000;
  std::size_t history = 256;
  bool tls_verify = true;
  std::string ca_file;    // "" = the system store
  std::string client_cert;  // PEM certificate (chain) presented to the server; "" = none
  std::string client_key;   // PEM private key of client_cert; set iff client_cert is
  std::vector<std::string> pin_sha256;  // base64 SHA-256 of the server's SubjectPublicKeyInfo; any may match
  std::string unix_user;  // as written; "" = none
  std::optional<std::uint32_t> unix_uid;  // resolved from unix_user
  std::vector<CursorRule> cursors;        // `cursor`, in file order; empty = no resume
  std::optional<CursorCondition> cursor_if;
  Duration state_flush{5000};             // the daemon flushes at the smallest of its users'
  std::string proxy = "env";       // as written: "env", "none" or an http:// URL (its userinfo is a secret)
  std::string no_proxy;            // as written; "" = the environment's with proxy = "env"
  std::string proxy_auth_file;     // "user:password", re-read before every handshake through a proxy; "" = none
  // Chosen at load from proxy, no_proxy and (for "env") the daemon's
  // environment, for endpoint: nullopt = direct. Its userinfo is a secret.
  std::optional<ProxyUrl> proxy_url;
  std::string proxy_source;        // "proxy" or the environment variable proxy_url came from

  bool operator==(const UserConfig& other) const;
  bool operator!=(const UserConfig& other) const { return !(*this == other); }
};

enum class OnSleep { Keep, Close };
enum class NetworkWatch { Auto, Off };

struct DaemonConfig {
  unsigned max_handshakes = 8;
  OnSleep on_sleep = OnSleep::Keep;
  NetworkWatch network_watch = NetworkWatch::Auto;
  std::uint64_t bus_queue_size = std::uint64_t{64} << 20;  // bytes of signals waiting for a slow bus
  // Prometheus text file, as written ("" = none); a relative path is the
  // daemon's to resolve (against its state directory).
  std::string metrics_file;
  Duration metrics_interval{15000};
  bool operator==(const DaemonConfig& other) const {
    return max_handshakes == other.max_handshakes && on_sleep == other.on_sleep &&
           network_watch == other.network_watch && bus_queue_size == other.bus_queue_size &&
           metrics_file == other.metrics_file && metrics_interval == other.metrics_interval;
  }
};

struct Config {
  std::string path;  // the file it came from
  DaemonConfig daemon;
  std::vector<UserConfig> users;  // in file order, ids unique
};

enum class Severity { Error, Warning };

// One problem, printed as "PATH:LINE:COL: message" (line/column 1-based;
// 0 when the problem has no position, e.g. an unreadable file).
struct Diagnostic {
  Severity severity = Severity::Error;
  std::string path;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string message;
  std::string to_string() const;
};

struct LoadResult {
  std::optional<Config> config;       // set iff there is no error
  std::vector<Diagnostic> diagnostics;  // every error and warning, in file order
  bool ok() const { return config.has_value(); }
};

// Parse and validate. Collects every problem rather than stopping at the first.
// `env` is where proxy = "env" looks (the daemon passes its own environment).
LoadResult load_file(const std::string& path, const EnvLookup& env = process_environment());
LoadResult load_string(std::string_view toml_text, const std::string& path,
                       const EnvLookup& env = process_environment());

// Default config locations of the contract.
std::string default_system_path();                 // /etc/wsheartd/config.toml
std::string default_user_path();                   // ${XDG_CONFIG_HOME:-~/.config}/wsheartd/config.toml

}  // namespace wsheart::config
