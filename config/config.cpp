// TOML -> Config with every problem collected as a positioned Diagnostic.
//
// Position convention (documented in docs/config.md):
//   - a problem with a value points at the value (`heartbeat = "pong"` -> the
//     opening quote), an array element at the element, a header name at the name;
//   - an unknown or misplaced key points at the key;
//   - a problem with a whole [[user]] table (no id, no url) points at its `[[`;
//   - file-level warnings (permissions, no users) point at 1:1;
//   - a file that cannot be read at all has no position (0:0).
// A [defaults] value is checked once, where it is written, not once per user.
#include "config.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>

#include <toml++/toml.h>

#include "units.hpp"
#include "url.hpp"

static_assert(TOML_EXCEPTIONS, "the loader catches toml::parse_error");

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
                    c.fatal_backoff, c.max_message_size, c.send_queue_limit, c.history, c.tls_verify, c.ca_file,
                    c.client_cert, c.client_key, c.pin_sha256, c.unix_user, c.unix_uid);
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

using Position = toml::source_position;

// Bounds. Anything outside is far more likely a typo ("5h" for "5s") than intent.
constexpr Duration kShortestDuration{10};
constexpr Duration kLongestDuration{24LL * 60 * 60 * 1000};
constexpr std::uint64_t kLargestMessageSize = 1ULL << 30;  // 1GiB
constexpr std::int64_t kLargestSendQueue = 1'000'000;
constexpr std::int64_t kLargestHistory = 100'000;
constexpr std::int64_t kMostHandshakes = 10'000;
constexpr double kLargestMultiplier = 100.0;
constexpr std::size_t kLongestIdBytes = 255;
constexpr std::int64_t kLargestUid = 4'294'967'294;  // (uid_t)-1 means "no user"
constexpr off_t kLargestConfigFile = 16 * 1024 * 1024;

// Header fields the WebSocket client writes itself; overriding them breaks the upgrade.
constexpr std::array<std::string_view, 5> kHandshakeHeaders{"host", "upgrade", "connection", "sec-websocket-key",
                                                            "sec-websocket-version"};

enum class Section { Root, Daemon, Defaults, User };

std::string_view section_label(Section section) {
  switch (section) {
    case Section::Root:
      return "at the top level";
    case Section::Daemon:
      return "in [daemon]";
    case Section::Defaults:
      return "in [defaults]";
    case Section::User:
      return "in [[user]]";
  }
  return "";
}

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

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// Values echoed in messages must not break the one-problem-per-line format.
std::string printable(std::string_view text) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += kHexDigits[byte >> 4];
      out += kHexDigits[byte & 0x0f];
    } else {
      out += c;
    }
  }
  return out;
}

std::string quoted(std::string_view text) { return "\"" + printable(text) + "\""; }

std::string format_number(double value) {
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out << value;
  return out.str();
}

// "0644": permission bits as chmod takes them.
std::string format_mode(mode_t mode) {
  std::string digits;
  for (int shift = 9; shift >= 0; shift -= 3) digits += static_cast<char>('0' + ((mode >> shift) & 07));
  return digits;
}

std::string format_position(Position at) { return std::to_string(at.line) + ":" + std::to_string(at.column); }

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> previous(b.size() + 1);
  std::vector<std::size_t> current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code_point = lead & 0x1Fu;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code_point = lead & 0x0Fu;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code_point = lead & 0x07u;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto continuation = static_cast<unsigned char>(text[i + k]);
      if ((continuation & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (continuation & 0x3Fu);
    }
    const bool overlong = (length == 2 && code_point < 0x80) || (length == 3 && code_point < 0x800) ||
                          (length == 4 && code_point < 0x10000);
    if (overlong || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

// RFC 9110 token.
bool is_header_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

std::string replace_all(std::string text, std::string_view needle, std::string_view replacement) {
  std::size_t at = 0;
  while ((at = text.find(needle, at)) != std::string::npos) {
    text.replace(at, needle.size(), replacement);
    at += replacement.size();
  }
  return text;
}

std::string substitute_id(std::string_view url_template, std::string_view id) {
  return replace_all(std::string(url_template), "{id}", percent_encode(id));
}

std::string errno_text(int error_number) { return std::generic_category().message(error_number); }

std::optional<std::uint32_t> lookup_uid(const std::string& name) {
  long suggested = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(suggested > 0 ? static_cast<std::size_t>(suggested) : 16384);
  while (true) {
    passwd entry{};
    passwd* found = nullptr;
    const int rc = getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc != 0 || found == nullptr) return std::nullopt;
    const std::uint32_t uid = found->pw_uid;
    return uid;
  }
}

// Keys of one table that were present (even if invalid) and where the valid
// ones were set: cross-key checks run only where one of their keys is written.
struct KeyPositions {
  std::set<std::string_view> present;
  std::map<std::string_view, Position> valid_at;
};

class Loader;

struct UserKeyRule {
  std::string_view name;
  // Reports its own errors; true when the value was valid and stored.
  bool (*apply)(Loader& loader, std::string_view key, const toml::node& value, UserConfig& config);
};

class Loader {
 public:
  explicit Loader(std::string path) : path_(std::move(path)) {}

  LoadResult load(std::string_view text, std::optional<mode_t> file_mode);

  // --- reporting
  void report(Severity severity, Position at, std::string message) {
    diagnostics_.push_back(Diagnostic{severity, path_, at.line, at.column, std::move(message)});
  }
  void error(Position at, std::string message) { report(Severity::Error, at, std::move(message)); }
  void error(const toml::node& at, std::string message) { error(at.source().begin, std::move(message)); }
  void expected(std::string_view key, const toml::node& value, std::string_view what) {
    error(value, std::string(key) + ": expected " + std::string(what) + ", got " +
                     std::string(type_name(value.type())));
  }

  // --- typed readers: nullopt after reporting the problem
  std::optional<std::string> read_string(std::string_view key, const toml::node& value);
  std::optional<Duration> read_duration(std::string_view key, const toml::node& value);
  std::optional<std::uint64_t> read_size(std::string_view key, const toml::node& value);
  std::optional<std::int64_t> read_integer(std::string_view key, const toml::node& value, std::int64_t lowest,
                                           std::int64_t highest);
  std::optional<bool> read_bool(std::string_view key, const toml::node& value);
  std::optional<double> read_multiplier(std::string_view key, const toml::node& value);
  std::optional<HeartbeatMode> read_heartbeat(std::string_view key, const toml::node& value);
  std::optional<Jitter> read_jitter(std::string_view key, const toml::node& value);
  std::optional<std::vector<Header>> read_headers(std::string_view key, const toml::node& value);
  std::optional<std::vector<std::string>> read_string_array(std::string_view key, const toml::node& value);
  std::optional<std::string> read_url_template(std::string_view key, const toml::node& value);
  std::optional<std::string> read_ca_file(std::string_view key, const toml::node& value);
  std::optional<std::string> read_headers_file(std::string_view key, const toml::node& value);
  std::optional<std::string> read_credential_path(std::string_view key, const toml::node& value);
  std::optional<std::vector<std::string>> read_pins(std::string_view key, const toml::node& value);
  bool read_unix_user(std::string_view key, const toml::node& value, UserConfig& config);

 private:
  void unknown_key(const toml::key& key, Section section);
  void load_daemon(const toml::node& node, DaemonConfig& daemon);
  KeyPositions apply_user_keys(const toml::table& table, Section section, UserConfig& config);
  void check_reconnect_range(const UserConfig& config, const KeyPositions& here);
  void check_client_pair(const UserConfig& config, const KeyPositions& here, const KeyPositions& defaults);
  void load_users(const toml::node& node, const UserConfig& defaults, const KeyPositions& defaults_keys,
                  std::vector<UserConfig>& users);
  std::optional<std::string> read_id(const toml::table& table);
  bool file_readable(std::string_view key, const toml::node& value, const std::string& path);

  std::string path_;
  std::vector<Diagnostic> diagnostics_;
  std::set<std::pair<std::uint32_t, std::uint32_t>> pair_reported_;  // [defaults] client pair errors
};

template <typename T>
bool store(std::optional<T> value, T& field) {
  if (!value) return false;
  field = std::move(*value);
  return true;
}

// Every key a [defaults] or [[user]] table may hold ("id" only in [[user]], handled apart).
constexpr std::array<UserKeyRule, 25> kUserKeyRules{{
    {"url", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_url_template(k, v), c.url);
     }},
    {"headers", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_headers(k, v), c.headers);
     }},
    {"headers_file", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_headers_file(k, v), c.headers_file);
     }},
    {"on_open", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_string_array(k, v), c.on_open);
     }},
    {"heartbeat", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_heartbeat(k, v), c.heartbeat);
     }},
    {"heartbeat_payload", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_string(k, v), c.heartbeat_payload);
     }},
    {"heartbeat_reply", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_string(k, v), c.heartbeat_reply);
     }},
    {"heartbeat_interval", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.heartbeat_interval);
     }},
    {"heartbeat_timeout", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.heartbeat_timeout);
     }},
    {"connect_timeout", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.connect_timeout);
     }},
    {"reconnect_initial", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.reconnect_initial);
     }},
    {"reconnect_max", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.reconnect_max);
     }},
    {"reconnect_multiplier", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_multiplier(k, v), c.reconnect_multiplier);
     }},
    {"reconnect_jitter", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_jitter(k, v), c.reconnect_jitter);
     }},
    {"stable_after", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.stable_after);
     }},
    {"fatal_backoff", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.fatal_backoff);
     }},
    {"max_message_size", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_size(k, v), c.max_message_size);
     }},
    {"send_queue_limit", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       const auto limit = l.read_integer(k, v, 0, kLargestSendQueue);
       if (limit) c.send_queue_limit = static_cast<std::size_t>(*limit);
       return limit.has_value();
     }},
    {"history", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       const auto history = l.read_integer(k, v, 0, kLargestHistory);
       if (history) c.history = static_cast<std::size_t>(*history);
       return history.has_value();
     }},
    {"tls_verify", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_bool(k, v), c.tls_verify);
     }},
    {"ca_file", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_ca_file(k, v), c.ca_file);
     }},
    {"client_cert", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_credential_path(k, v), c.client_cert);
     }},
    {"client_key", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_credential_path(k, v), c.client_key);
     }},
    {"pin_sha256", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_pins(k, v), c.pin_sha256);
     }},
    {"unix_user", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return l.read_unix_user(k, v, c);
     }},
}};

const UserKeyRule* find_user_key(std::string_view name) {
  for (const UserKeyRule& rule : kUserKeyRules) {
    if (rule.name == name) return &rule;
  }
  return nullptr;
}

std::vector<std::string_view> known_keys(Section section) {
  switch (section) {
    case Section::Root:
      return {"daemon", "defaults", "user"};
    case Section::Daemon:
      return {"max_handshakes"};
    case Section::Defaults:
    case Section::User: {
      std::vector<std::string_view> names;
      if (section == Section::User) names.push_back("id");
      for (const UserKeyRule& rule : kUserKeyRules) names.push_back(rule.name);
      return names;
    }
  }
  return {};
}

// The closest known key, if it is close enough to be a plausible typo.
std::optional<std::string_view> closest_key(std::string_view unknown, Section section) {
  const std::string lower = lowercase(unknown);
  const std::size_t tolerance = lower.size() <= 4 ? 1 : (lower.size() <= 10 ? 2 : 3);
  std::optional<std::string_view> best;
  std::size_t best_distance = tolerance + 1;
  for (std::string_view candidate : known_keys(section)) {
    const std::size_t distance = edit_distance(lower, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

// ---------------------------------------------------------------- readers

std::optional<std::string> Loader::read_string(std::string_view key, const toml::node& value) {
  if (const auto* text = value.as_string()) return text->get();
  expected(key, value, "a string");
  return std::nullopt;
}

std::optional<Duration> Loader::read_duration(std::string_view key, const toml::node& value) {
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
  if (*duration < kShortestDuration) {
    error(value, prefix + "must be at least " + format_duration(kShortestDuration) + ", got " + quoted(text->get()));
    return std::nullopt;
  }
  if (*duration > kLongestDuration) {
    error(value, prefix + "must be at most " + format_duration(kLongestDuration) + ", got " + quoted(text->get()));
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
    if (!is_header_name(name)) {
      error(name_at, std::string(key) + ": '" + printable(name) + "' is not a valid HTTP header name");
      valid = false;
      continue;
    }
    const std::string folded = lowercase(name);
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
  // {id} becomes a percent-encoded id, which is valid wherever the word "id" is.
  std::string reason;
  if (!parse_ws_url(substitute_id(*text, "id"), &reason)) {
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
    // headers_file and client_key hold secrets; 0640 root:wsheartd is the intended mode.
    report(Severity::Warning, value.source().begin,
           std::string(key) + ": '" + printable(*path) + "' holds credentials but is readable by others (mode " +
               format_mode(status.st_mode) + ")");
  }
  return path;
}

std::optional<std::string> Loader::read_headers_file(std::string_view key, const toml::node& value) {
  return read_credential_path(key, value);
}

// "sha256//" + base64 (curl's --pinnedpubkey form) or the bare base64 of a
// SHA-256 digest; returned as canonical base64 (padded, 44 characters).
std::optional<std::string> parse_pin(std::string_view text, std::string& why) {
  constexpr std::string_view kPrefix = "sha256//";
  if (text.substr(0, kPrefix.size()) == kPrefix) text.remove_prefix(kPrefix.size());
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t padding = 0;
  for (char c : text) {
    if (c == '=') {
      ++padding;
      continue;
    }
    const auto index = kAlphabet.find(c);
    if (padding != 0 || index == std::string_view::npos) {
      why = "not base64";
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<std::uint32_t>(index);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += static_cast<char>((buffer >> bits) & 0xffu);
    }
  }
  if (padding > 2 || (text.size() % 4 != 0 && padding != 0)) {
    why = "not base64";
    return std::nullopt;
  }
  if (bytes.size() != 32) {
    why = "expected the base64 of a 32-byte SHA-256 digest, got " + std::to_string(bytes.size()) + " bytes";
    return std::nullopt;
  }
  std::string canonical;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t group = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) group |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 2]);
    canonical += kAlphabet[(group >> 18) & 63];
    canonical += kAlphabet[(group >> 12) & 63];
    canonical += i + 1 < bytes.size() ? kAlphabet[(group >> 6) & 63] : '=';
    canonical += i + 2 < bytes.size() ? kAlphabet[group & 63] : '=';
  }
  return canonical;
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

// ---------------------------------------------------------------- structure

void Loader::unknown_key(const toml::key& key, Section section) {
  const std::string_view name = key.str();
  const Position at = key.source().begin;
  const bool is_user_key = find_user_key(name) != nullptr;
  if (section != Section::Daemon && name == "max_handshakes") {
    error(at, "'max_handshakes' belongs in [daemon]");
  } else if (section == Section::Defaults && name == "id") {
    error(at, "'id' belongs in each [[user]], not in [defaults]");
  } else if (section == Section::Root && (is_user_key || name == "id")) {
    error(at, "'" + std::string(name) + "' must be inside [defaults] or a [[user]] table");
  } else if (section == Section::Daemon && (is_user_key || name == "id")) {
    error(at, "'" + std::string(name) + "' belongs in [defaults] or [[user]], not in [daemon]");
  } else {
    std::string message = "unknown key '" + printable(name) + "' " + std::string(section_label(section));
    if (const auto suggestion = closest_key(name, section)) {
      message += "; did you mean '" + std::string(*suggestion) + "'?";
    }
    error(at, std::move(message));
  }
}

void Loader::load_daemon(const toml::node& node, DaemonConfig& daemon) {
  const auto* table = node.as_table();
  if (table == nullptr) {
    expected("daemon", node, "a table ([daemon])");
    return;
  }
  for (auto&& [key, value] : *table) {
    if (key.str() == "max_handshakes") {
      if (const auto count = read_integer("max_handshakes", value, 1, kMostHandshakes)) {
        daemon.max_handshakes = static_cast<unsigned>(*count);
      }
    } else {
      unknown_key(key, Section::Daemon);
    }
  }
}

KeyPositions Loader::apply_user_keys(const toml::table& table, Section section, UserConfig& config) {
  KeyPositions keys;
  for (auto&& [key, value] : table) {
    if (section == Section::User && key.str() == "id") continue;  // read by load_users
    const UserKeyRule* rule = find_user_key(key.str());
    if (rule == nullptr) {
      unknown_key(key, section);
      continue;
    }
    keys.present.insert(rule->name);
    if (rule->apply(*this, rule->name, value, config)) keys.valid_at[rule->name] = value.source().begin;
  }
  return keys;
}

void Loader::check_reconnect_range(const UserConfig& config, const KeyPositions& here) {
  if (config.reconnect_max >= config.reconnect_initial) return;
  // Report where the table being checked wrote one of the two keys; if it wrote
  // neither, the problem was inherited and is reported where it was written.
  for (std::string_view key : {"reconnect_max", "reconnect_initial"}) {
    const auto found = here.valid_at.find(key);
    if (found == here.valid_at.end()) continue;
    error(found->second, "reconnect_max (" + format_duration(config.reconnect_max) +
                             ") is shorter than reconnect_initial (" + format_duration(config.reconnect_initial) + ")");
    return;
  }
}

// client_cert and client_key go together. Reported where the checked table
// wrote one of them; a pair broken by [defaults] alone is reported there, once.
void Loader::check_client_pair(const UserConfig& config, const KeyPositions& here, const KeyPositions& defaults) {
  if (config.client_cert.empty() == config.client_key.empty()) return;
  for (std::string_view key : {"client_cert", "client_key"}) {
    // An invalid value was reported already; the pair is not the problem.
    if (here.present.count(key) != 0 && here.valid_at.count(key) == 0) return;
  }
  const std::string_view missing = config.client_cert.empty() ? "client_cert" : "client_key";
  const std::string_view set = config.client_cert.empty() ? "client_key" : "client_cert";
  for (const KeyPositions* keys : {&here, &defaults}) {
    const auto found = keys->valid_at.find(set);
    const auto other = keys->valid_at.find(missing);
    const auto at = found != keys->valid_at.end() ? found : other;
    if (at == keys->valid_at.end()) continue;
    if (keys == &defaults && !pair_reported_.insert(std::make_pair(at->second.line, at->second.column)).second) return;
    error(at->second, std::string(set) + " is set but " + std::string(missing) + " is not (they go together)");
    return;
  }
}

std::optional<std::string> Loader::read_id(const toml::table& table) {
  const toml::node* node = table.get("id");
  if (node == nullptr) {
    error(table.source().begin, "[[user]] has no id");
    return std::nullopt;
  }
  auto id = read_string("id", *node);
  if (!id) return std::nullopt;
  if (id->empty()) {
    error(*node, "id: must not be empty");
  } else if (id->size() > kLongestIdBytes) {
    error(*node, "id: longer than 255 bytes (" + std::to_string(id->size()) + ")");
  } else if (!is_valid_utf8(*id)) {
    error(*node, "id: not valid UTF-8");
  } else if (has_control_character(*id)) {
    // Ids appear in logs, bus paths and CLI tables: keep them one printable line.
    error(*node, "id: contains a control character");
  } else {
    return id;
  }
  return std::nullopt;
}

void Loader::load_users(const toml::node& node, const UserConfig& defaults, const KeyPositions& defaults_keys,
                        std::vector<UserConfig>& users) {
  const auto* array = node.as_array();
  if (array == nullptr) {
    expected("user", node, "[[user]] tables");
    return;
  }
  std::map<std::string, Position> first_definition;
  for (std::size_t index = 0; index < array->size(); ++index) {
    const toml::node& element = (*array)[index];
    const auto* table = element.as_table();
    if (table == nullptr) {
      expected("user[" + std::to_string(index) + "]", element, "a table");
      continue;
    }
    UserConfig user = defaults;
    const auto id = read_id(*table);
    if (id) {
      const Position id_at = table->get("id")->source().begin;
      const auto [first, inserted] = first_definition.emplace(*id, id_at);
      if (!inserted) {
        error(id_at, "duplicate id '" + *id + "' (first defined at " + format_position(first->second) + ")");
      }
      user.id = *id;
    }
    const KeyPositions keys = apply_user_keys(*table, Section::User, user);
    check_reconnect_range(user, keys);
    check_client_pair(user, keys, defaults_keys);

    const bool url_in_user = keys.present.count("url") != 0;
    const bool url_in_defaults = defaults_keys.present.count("url") != 0;
    if (!url_in_user && !url_in_defaults) {
      error(table->source().begin, "[[user]] " + (id ? "'" + *id + "' " : std::string()) +
                                       "has no url (set url here or in [defaults])");
    }
    const auto url_at = keys.valid_at.count("url") != 0 ? keys.valid_at.find("url") : defaults_keys.valid_at.find("url");
    if (id && url_at != defaults_keys.valid_at.end() && url_at != keys.valid_at.end()) {
      user.url = substitute_id(user.url, *id);
      // The template was checked with a stand-in id; this is a safety net.
      std::string reason;
      if (!parse_ws_url(user.url, &reason)) error(url_at->second, "url: " + reason + " (for user '" + *id + "')");
    }
    users.push_back(std::move(user));
  }
}

// toml++ quotes what it saw ("expected 'true', saw 'to'"): on a line such as
// `Authorization = Bearer abc` that is the start of a secret. Only a single
// character (or its escape, '\n') is kept.
std::string parser_message(std::string_view description) {
  std::string out(description);
  constexpr std::string_view kSaw = "saw '";
  std::size_t at = 0;
  while ((at = out.find(kSaw, at)) != std::string::npos) {
    const std::size_t begin = at + kSaw.size();
    const std::size_t end = out.find('\'', begin);
    if (end == std::string::npos) break;
    const std::size_t length = end - begin;
    const bool one_character = length == 1 || (length == 2 && out[begin] == '\\');
    if (!one_character) {
      out.replace(at, end + 1 - at, "saw unexpected text");
      at += std::string_view("saw unexpected text").size();
    } else {
      at = end + 1;
    }
  }
  return out;
}

LoadResult Loader::load(std::string_view text, std::optional<mode_t> file_mode) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(path_));
  } catch (const toml::parse_error& failure) {
    error(failure.source().begin, parser_message(failure.description()));
    return LoadResult{std::nullopt, std::move(diagnostics_)};
  }

  Config config;
  config.path = path_;
  UserConfig defaults;
  KeyPositions defaults_keys;
  for (auto&& [key, value] : root) {
    const std::string_view name = key.str();
    if (name == "daemon") {
      load_daemon(value, config.daemon);
    } else if (name == "defaults") {
      if (const auto* table = value.as_table()) {
        defaults_keys = apply_user_keys(*table, Section::Defaults, defaults);
        check_reconnect_range(defaults, defaults_keys);
      } else {
        expected("defaults", value, "a table ([defaults])");
      }
    } else if (name != "user") {
      unknown_key(key, Section::Root);
    }
  }
  // After [defaults], whatever the order in the file.
  if (const toml::node* users = root.get("user")) load_users(*users, defaults, defaults_keys, config.users);

  const toml::node* user_node = root.get("user");
  const bool no_user_tables = user_node == nullptr || (user_node->is_array() && user_node->as_array()->empty());
  if (no_user_tables) {
    report(Severity::Warning, Position{1, 1}, "no [[user]] tables: the daemon will start with nothing to do");
  }

  if (file_mode && (*file_mode & 044) != 0) {
    const auto holds_credentials = [](const UserConfig& user) {
      return !user.headers.empty() || redact_url(user.url) != user.url;
    };
    if (holds_credentials(defaults) || std::any_of(config.users.begin(), config.users.end(), holds_credentials)) {
      report(Severity::Warning, Position{1, 1},
             std::string("file holds credentials but is readable by ") +
                 ((*file_mode & 004) != 0 ? "others" : "its group") + " (mode " + format_mode(*file_mode) + ")");
    }
  }

  std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  const bool failed = std::any_of(diagnostics_.begin(), diagnostics_.end(),
                                  [](const Diagnostic& d) { return d.severity == Severity::Error; });
  LoadResult result;
  if (!failed) result.config = std::move(config);
  result.diagnostics = std::move(diagnostics_);
  return result;
}

LoadResult unreadable(const std::string& path, std::string message) {
  LoadResult result;
  result.diagnostics.push_back(Diagnostic{Severity::Error, path, 0, 0, std::move(message)});
  return result;
}

std::string home_directory() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/') return home;
  long suggested = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(suggested > 0 ? static_cast<std::size_t>(suggested) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr &&
      found->pw_dir != nullptr) {
    return found->pw_dir;
  }
  return "/";
}

}  // namespace

LoadResult load_string(std::string_view toml_text, const std::string& path) {
  return Loader(path).load(toml_text, std::nullopt);
}

LoadResult load_file(const std::string& path) {
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
  return Loader(path).load(text, status.st_mode);
}

std::string default_system_path() { return "/etc/wsheartd/config.toml"; }

std::string default_user_path() {
  // XDG Base Directory: a relative XDG_CONFIG_HOME is invalid and ignored.
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const std::string base = (xdg != nullptr && *xdg == '/') ? std::string(xdg) : home_directory() + "/.config";
  return base + "/wsheartd/config.toml";
}

}  // namespace wsheart::config
