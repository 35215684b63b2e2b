// Typed readers: one TOML value -> one typed field, or a diagnostic.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <tuple>

#include "diagnostic_text.hpp"
#include "encoding.hpp"
#include "limits.hpp"
#include "loader.hpp"
#include "proxy.hpp"
#include "pin.hpp"
#include "system_lookup.hpp"
#include "units.hpp"
#include "url.hpp"

namespace wsheart::config {

namespace {

std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
  }
  return "value";
}

}  // namespace

void Loader::expected(std::string_view key, const toml::node& value, std::string_view what) {
  error(value, std::string(key) + ": expected " + std::string(what) + ", got " + std::string(type_name(value.type())));
}

std::optional<std::string> Loader::read_string(std::string_view key, const toml::node& value) {
  if (const auto* text = value.as_string()) return text->get();
  expected(key, value, "a string");
  return std::nullopt;
}

std::optional<Duration> Loader::read_duration(std::string_view key, const toml::node& value, Duration shortest,
                                              Duration longest) {
  const auto* text = value.as_string();
  if (text == nullptr) {
    expected(key, value, "a duration string such as \"5s\"");
    return std::nullopt;
  }
  std::string reason;
  const auto duration = parse_duration(text->get(), &reason);
  const std::string prefix = std::string(key) + ": ";
  if (!duration) {
    error(value, prefix + "bad duration " + quoted(text->get()) + ": " + reason);
    return std::nullopt;
  }
  if (duration->count() == 0) {
    error(value, prefix + "must be positive, got " + quoted(text->get()));
    return std::nullopt;
  }
  if (shortest != kShortestDuration || longest != kLongestDuration) {
    if (*duration < shortest || *duration > longest) {
      error(value, prefix + "must be between " + format_duration(shortest) + " and " + format_duration(longest) +
                       ", got " + format_duration(*duration));
      return std::nullopt;
    }
    return duration;
  }
  if (*duration < shortest) {
    error(value, prefix + "must be at least " + format_duration(shortest) + ", got " + quoted(text->get()));
    return std::nullopt;
  }
  if (*duration > longest) {
    error(value, prefix + "must be at most " + format_duration(longest) + ", got " + quoted(text->get()));
    return std::nullopt;
  }
  return duration;
}

std::optional<std::uint64_t> Loader::read_size(std::string_view key, const toml::node& value) {
  const std::string prefix = std::string(key) + ": ";
  std::uint64_t bytes = 0;
  std::string written;
  if (const auto* integer = value.as_integer()) {
    written = std::to_string(integer->get());
    if (integer->get() <= 0) {
      error(value, prefix + "must be positive, got " + written);
      return std::nullopt;
    }
    bytes = static_cast<std::uint64_t>(integer->get());
  } else if (const auto* text = value.as_string()) {
    written = quoted(text->get());
    std::string reason;
    const auto parsed = parse_size(text->get(), &reason);
    if (!parsed) {
      error(value, prefix + "bad size " + written + ": " + reason);
      return std::nullopt;
    }
    bytes = *parsed;
    if (bytes == 0) {
      error(value, prefix + "must be positive, got " + written);
      return std::nullopt;
    }
  } else {
    expected(key, value, "a size such as \"1MiB\" or an integer of bytes");
    return std::nullopt;
  }
  if (bytes > kLargestMessageSize) {
    error(value, prefix + "must be at most 1GiB, got " + written);
    return std::nullopt;
  }
  return bytes;
}

std::optional<std::int64_t> Loader::read_integer(std::string_view key, const toml::node& value, std::int64_t lowest,
                                                 std::int64_t highest) {
  const auto* integer = value.as_integer();
  if (integer == nullptr) {
    expected(key, value, "an integer");
    return std::nullopt;
  }
  if (integer->get() < lowest || integer->get() > highest) {
    error(value, std::string(key) + ": must be between " + std::to_string(lowest) + " and " +
                     std::to_string(highest) + ", got " + std::to_string(integer->get()));
    return std::nullopt;
  }
  return integer->get();
}

std::optional<bool> Loader::read_bool(std::string_view key, const toml::node& value) {
  if (const auto* boolean = value.as_boolean()) return boolean->get();
  expected(key, value, "true or false");
  return std::nullopt;
}

std::optional<double> Loader::read_multiplier(std::string_view key, const toml::node& value) {
  double multiplier = 0;
  if (const auto* floating = value.as_floating_point()) {
    multiplier = floating->get();
  } else if (const auto* integer = value.as_integer()) {
    multiplier = static_cast<double>(integer->get());
  } else {
    expected(key, value, "a number");
    return std::nullopt;
  }
  const std::string prefix = std::string(key) + ": ";
  if (!std::isfinite(multiplier)) {
    error(value, prefix + "must be a finite number");
    return std::nullopt;
  }
  if (multiplier < 1.0) {
    error(value, prefix + "must be at least 1 (1 keeps the delay constant), got " + format_number(multiplier));
    return std::nullopt;
  }
  if (multiplier > kLargestMultiplier) {
    error(value, prefix + "must be at most " + format_number(kLargestMultiplier) + ", got " +
                     format_number(multiplier));
    return std::nullopt;
  }
  return multiplier;
}

std::optional<HeartbeatMode> Loader::read_heartbeat(std::string_view key, const toml::node& value) {
  const auto text = read_string(key, value);
  if (!text) return std::nullopt;
  for (HeartbeatMode mode : {HeartbeatMode::Text, HeartbeatMode::Ping, HeartbeatMode::Off}) {
    if (*text == to_string(mode)) return mode;
  }
  error(value, std::string(key) + ": unknown mode " + quoted(*text) + " (expected \"text\", \"ping\" or \"off\")");
  return std::nullopt;
}

std::optional<Jitter> Loader::read_jitter(std::string_view key, const toml::node& value) {
  const auto text = read_string(key, value);
  if (!text) return std::nullopt;
  for (Jitter jitter : {Jitter::Full, Jitter::None}) {
    if (*text == to_string(jitter)) return jitter;
  }
  error(value, std::string(key) + ": unknown jitter " + quoted(*text) + " (expected \"full\" or \"none\")");
  return std::nullopt;
}

std::optional<std::vector<Header>> Loader::read_headers(std::string_view key, const toml::node& value) {
  const auto* table = value.as_table();
  if (table == nullptr) {
    expected(key, value, "a table of strings such as { Authorization = \"...\" }");
    return std::nullopt;
  }
  // toml::table iterates by name; report and keep headers in file order.
  struct Entry {
    const toml::key* name;
    const toml::node* value;
  };
  std::vector<Entry> entries;
  for (auto&& [name, header_value] : *table) entries.push_back(Entry{&name, &header_value});
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    const Position pa = a.name->source().begin;
    const Position pb = b.name->source().begin;
    return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column);
  });

  bool valid = true;
  std::vector<Header> headers;
  std::map<std::string, std::string_view> seen;  // lowercased name -> name as first written
  for (const Entry& entry : entries) {
    const std::string_view name = entry.name->str();
    const Position name_at = entry.name->source().begin;
    const std::string label = std::string(key) + "." + printable(name);
    if (!encoding::is_http_token(name)) {
      error(name_at, std::string(key) + ": '" + printable(name) + "' is not a valid HTTP header name");
      valid = false;
      continue;
    }
    const std::string folded = encoding::ascii_lowercase(name);
    if (std::find(kHandshakeHeaders.begin(), kHandshakeHeaders.end(), folded) != kHandshakeHeaders.end()) {
      error(name_at, std::string(key) + ": '" + std::string(name) +
                         "' is set by the WebSocket handshake and cannot be overridden");
      valid = false;
      continue;
    }
    const auto [first, inserted] = seen.emplace(folded, name);
    if (!inserted) {
      error(name_at, std::string(key) + ": '" + std::string(name) + "' repeats '" + std::string(first->second) +
                         "' (header names are case-insensitive)");
      valid = false;
      continue;
    }
    const auto* text = entry.value->as_string();
    if (text == nullptr) {
      expected(label, *entry.value, "a string");
      valid = false;
      continue;
    }
    // CR/LF would let a value inject further header lines into the upgrade request.
    if (has_control_character(text->get())) {
      error(*entry.value, label + ": value contains a control character");
      valid = false;
      continue;
    }
    if (!check_placeholders(label, *entry.value, TemplateContext::Header, reporter())) {
      valid = false;
      continue;
    }
    headers.push_back(Header{std::string(name), text->get()});
  }
  if (!valid) return std::nullopt;
  return headers;
}

std::optional<std::vector<std::string>> Loader::read_string_array(std::string_view key, const toml::node& value) {
  const auto* array = value.as_array();
  if (array == nullptr) {
    expected(key, value, "an array of strings");
    return std::nullopt;
  }
  bool valid = true;
  std::vector<std::string> strings;
  for (std::size_t index = 0; index < array->size(); ++index) {
    const toml::node& element = (*array)[index];
    if (const auto* text = element.as_string()) {
      strings.push_back(text->get());
    } else {
      expected(std::string(key) + "[" + std::to_string(index) + "]", element, "a string");
      valid = false;
    }
  }
  if (!valid) return std::nullopt;
  return strings;
}

std::optional<std::string> Loader::read_url_template(std::string_view key, const toml::node& value) {
  auto text = read_string(key, value);
  if (!text) return std::nullopt;
  if (!check_placeholders(key, value, TemplateContext::Url, reporter())) return std::nullopt;
  // {id} becomes a percent-encoded id, which is valid wherever the word "id"
  // is; so does a cursor value (percent-encoded) wherever the word "cursor" is.
  std::string reason;
  if (!parse_ws_url(url_with_stand_ins(substitute_id(*text, "id")), &reason)) {
    error(value, std::string(key) + ": " + reason);
    return std::nullopt;
  }
  return text;
}

bool Loader::file_readable(std::string_view key, const toml::node& value, const std::string& path) {
  if (access(path.c_str(), R_OK) == 0) return true;
  const int error_number = errno;
  error(value, std::string(key) + ": cannot read '" + printable(path) + "': " + errno_text(error_number));
  return false;
}

std::optional<std::string> Loader::read_ca_file(std::string_view key, const toml::node& value) {
  auto path = read_string(key, value);
  if (!path) return std::nullopt;
  if (!path->empty() && !file_readable(key, value, *path)) return std::nullopt;
  return path;
}

// The Prometheus text file. Not checked for existence: the daemon writes it
// (and reports a failure once). A relative name is a file of the daemon's
// state directory, so it may not name a directory of its own.
std::optional<std::string> Loader::read_metrics_file(std::string_view key, const toml::node& value) {
  auto path = read_string(key, value);
  if (!path || path->empty()) return path;
  const std::string prefix = std::string(key) + ": ";
  if (std::any_of(path->begin(), path->end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    error(value, prefix + "control characters are not allowed in a path");
    return std::nullopt;
  }
  const std::string name = path->substr(path->rfind('/') + 1);
  if (name.empty() || name == "." || name == "..") {
    error(value, prefix + "'" + printable(*path) + "' names a directory, not a file");
    return std::nullopt;
  }
  if (path->front() != '/' && path->find('/') != std::string::npos) {
    error(value, prefix + "a relative path is a file name in the state directory; '" + printable(*path) +
                     "' has a '/' (use an absolute path)");
    return std::nullopt;
  }
  constexpr std::string_view kSuffix = ".prom";
  if (name.size() <= kSuffix.size() || name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
    report(Severity::Warning, value.source().begin,
           prefix + "node_exporter's textfile collector reads only files named *.prom");
  }
  return path;
}

// A path that may name a systemd credential: a relative name is resolved
// against $CREDENTIALS_DIRECTORY (LoadCredential=NAME:...). "" = none.
std::optional<std::string> Loader::read_credential_path(std::string_view key, const toml::node& value) {
  auto path = read_string(key, value);
  if (!path || path->empty()) return path;
  if (path->front() != '/') {
    const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
    if (credentials == nullptr || *credentials == '\0') {
      error(value, std::string(key) + ": relative path '" + printable(*path) +
                       "' needs $CREDENTIALS_DIRECTORY (set by systemd's LoadCredential=); "
                       "otherwise use an absolute path");
      return std::nullopt;
    }
    path = std::string(credentials) + "/" + *path;
  }
  if (!file_readable(key, value, *path)) return std::nullopt;
  struct stat status {};
  if (key != "client_cert" && ::stat(path->c_str(), &status) == 0 && S_ISREG(status.st_mode) &&
      (status.st_mode & 004) != 0) {
    // headers_file, client_key and proxy_auth_file hold secrets; 0640 root:wsheartd is the intended mode.
    report(Severity::Warning, value.source().begin,
           std::string(key) + ": '" + printable(*path) + "' holds credentials but is readable by others (mode " +
               format_mode(status.st_mode) + ")");
  }
  return path;
}

std::optional<std::string> Loader::read_headers_file(std::string_view key, const toml::node& value) {
  return read_credential_path(key, value);
}

// "env", "none" or an http:// proxy URL; the environment is consulted later,
// per user, by choose_user_proxy. Errors never quote the value (it may hold
// a password).
std::optional<std::string> Loader::read_proxy(std::string_view key, const toml::node& value) {
  auto text = read_string(key, value);
  if (!text || *text == "env" || *text == "none") return text;
  if (text->find("://") == std::string::npos) {
    error(value, std::string(key) + ": expected \"env\", \"none\" or a proxy URL such as \"http://proxy.example:3128\"");
    return std::nullopt;
  }
  std::string why;
  if (!parse_proxy_url(*text, &why)) {
    error(value, std::string(key) + ": " + why);
    return std::nullopt;
  }
  return text;
}

std::optional<std::vector<std::string>> Loader::read_pins(std::string_view key, const toml::node& value) {
  std::vector<const toml::node*> elements;
  bool is_array = false;
  if (value.is_string()) {
    elements.push_back(&value);
  } else if (const auto* array = value.as_array()) {
    is_array = true;
    for (const toml::node& element : *array) elements.push_back(&element);
  } else {
    expected(key, value, "a string or an array of strings");
    return std::nullopt;
  }
  bool valid = true;
  std::vector<std::string> pins;
  for (std::size_t index = 0; index < elements.size(); ++index) {
    const toml::node& element = *elements[index];
    const std::string label = is_array ? std::string(key) + "[" + std::to_string(index) + "]" : std::string(key);
    const auto* text = element.as_string();
    if (text == nullptr) {
      expected(label, element, "a string");
      valid = false;
      continue;
    }
    std::string why;
    auto pin = parse_pin(text->get(), why);
    if (!pin) {
      error(element, label + ": " + why + " (write the base64 SHA-256 of the server's public key, "
                                          "e.g. \"sha256//AbC...=\")");
      valid = false;
      continue;
    }
    pins.push_back(std::move(*pin));
  }
  if (!valid) return std::nullopt;
  return pins;
}

bool Loader::read_unix_user(std::string_view key, const toml::node& value, UserConfig& config) {
  const std::string prefix = std::string(key) + ": ";
  if (const auto* integer = value.as_integer()) {
    if (integer->get() < 0 || integer->get() > kLargestUid) {
      error(value, prefix + "uid must be between 0 and " + std::to_string(kLargestUid) + ", got " +
                       std::to_string(integer->get()));
      return false;
    }
    config.unix_user = std::to_string(integer->get());
    config.unix_uid = static_cast<std::uint32_t>(integer->get());
    return true;
  }
  const auto* text = value.as_string();
  if (text == nullptr) {
    expected(key, value, "a user name or uid");
    return false;
  }
  const std::string& name = text->get();
  if (name.empty()) {
    config.unix_user.clear();
    config.unix_uid.reset();
    return true;
  }
  if (std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // A numeric uid need not have a passwd entry (e.g. a DynamicUser= range).
    if (name.size() > 10 || std::stoll(name) > kLargestUid) {
      error(value, prefix + "uid must be between 0 and " + std::to_string(kLargestUid) + ", got " + name);
      return false;
    }
    config.unix_user = name;
    config.unix_uid = static_cast<std::uint32_t>(std::stoll(name));
    return true;
  }
  const auto uid = lookup_uid(name);
  if (!uid) {
    error(value, prefix + "no such Unix user '" + printable(name) + "'");
    return false;
  }
  config.unix_user = name;
  config.unix_uid = uid;
  return true;
}
}  // namespace wsheart::config
