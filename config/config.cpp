// The public face of the config module: model helpers and the entry points
// that read a file and hand it to the Loader (load/).
#include "config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <tuple>

#include "limits.hpp"
#include "loader.hpp"
#include "system_lookup.hpp"

namespace wsheart::config {

std::string_view to_string(HeartbeatMode mode) {
  switch (mode) {
    case HeartbeatMode::Text:
      return "text";
    case HeartbeatMode::Ping:
      return "ping";
    case HeartbeatMode::Off:
      return "off";
  }
  return "text";
}

std::string_view to_string(Jitter jitter) {
  switch (jitter) {
    case Jitter::Full:
      return "full";
    case Jitter::None:
      return "none";
  }
  return "full";
}

bool UserConfig::operator==(const UserConfig& other) const {
  const auto fields = [](const UserConfig& c) {
    return std::tie(c.id, c.url, c.headers, c.headers_file, c.on_open, c.heartbeat, c.heartbeat_payload,
                    c.heartbeat_reply, c.heartbeat_interval, c.heartbeat_timeout, c.connect_timeout,
                    c.reconnect_initial, c.reconnect_max, c.reconnect_multiplier, c.reconnect_jitter, c.stable_after,
                    c.fatal_backoff, c.wake_probe_timeout, c.max_message_size, c.send_queue_limit, c.history, c.tls_verify, c.ca_file,
                    c.client_cert, c.client_key, c.pin_sha256, c.unix_user, c.unix_uid, c.cursors,
                    c.cursor_if, c.state_flush, c.proxy, c.no_proxy, c.proxy_auth_file, c.proxy_url,
                    c.proxy_source);
  };
  return fields(*this) == fields(other);
}

std::string Diagnostic::to_string() const {
  std::string out = path;
  out += ':';
  out += std::to_string(line);
  out += ':';
  out += std::to_string(column);
  out += ": ";
  if (severity == Severity::Warning) out += "warning: ";
  out += message;
  return out;
}

namespace {

LoadResult unreadable(const std::string& path, std::string message) {
  LoadResult result;
  result.diagnostics.push_back(Diagnostic{Severity::Error, path, 0, 0, std::move(message)});
  return result;
}

}  // namespace

LoadResult load_string(std::string_view toml_text, const std::string& path, const EnvLookup& env) {
  return Loader(path, env).load(toml_text, std::nullopt);
}

LoadResult load_file(const std::string& path, const EnvLookup& env) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return unreadable(path, "cannot open config file: " + errno_text(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { close(fd); }
  } closer{fd};

  struct stat status {};
  if (fstat(fd, &status) != 0) return unreadable(path, "cannot read config file: " + errno_text(errno));
  if (!S_ISREG(status.st_mode)) return unreadable(path, "not a regular file");
  if (status.st_size > kLargestConfigFile) return unreadable(path, "config file is larger than 16MiB");

  std::string text;
  std::array<char, 65536> chunk{};
  while (true) {
    const ssize_t count = read(fd, chunk.data(), chunk.size());
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return unreadable(path, "cannot read config file: " + errno_text(errno));
    if (count == 0) break;
    text.append(chunk.data(), static_cast<std::size_t>(count));
    if (text.size() > static_cast<std::size_t>(kLargestConfigFile)) {
      return unreadable(path, "config file is larger than 16MiB");
    }
  }
  return Loader(path, env).load(text, status.st_mode);
}

std::string default_system_path() { return "/etc/wsheartd/config.toml"; }

std::string default_user_path() {
  // XDG Base Directory: a relative XDG_CONFIG_HOME is invalid and ignored.
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const std::string base = (xdg != nullptr && *xdg == '/') ? std::string(xdg) : home_directory() + "/.config";
  return base + "/wsheartd/config.toml";
}

}  // namespace wsheart::config
