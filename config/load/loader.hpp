// The TOML -> Config loader: one Loader per load, collecting every problem
// as a positioned Diagnostic.
//
// Position convention (documented in docs/config.md):
//   - a problem with a value points at the value (`heartbeat = "pong"` -> the
//     opening quote), an array element at the element, a header name at the name;
//   - an unknown or misplaced key points at the key;
//   - a problem with a whole [[user]] table (no id, no url) points at its `[[`;
//   - file-level warnings (permissions, no users) point at 1:1;
//   - a file that cannot be read at all has no position (0:0).
// A [defaults] value is checked once, where it is written, not once per user.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "config.hpp"
#include "cursor_keys.hpp"
#include "limits.hpp"

namespace wsheart::config {

using Position = toml::source_position;

enum class Section { Root, Daemon, Defaults, User };

// Keys of one table that were present (even if invalid) and where the valid
// ones were set: cross-key checks run only where one of their keys is written.
struct KeyPositions {
  std::set<std::string_view> present;
  std::map<std::string_view, Position> valid_at;
};

class Loader {
 public:
  Loader(std::string path, EnvLookup env) : path_(std::move(path)), env_(std::move(env)) {}

  // file_mode: the config file's st_mode, for the permission warning; none
  // when the text did not come from a file.
  LoadResult load(std::string_view text, std::optional<mode_t> file_mode);

  // --- reporting
  void report(Severity severity, Position at, std::string message) {
    diagnostics_.push_back(Diagnostic{severity, path_, at.line, at.column, std::move(message)});
  }
  void error(Position at, std::string message) { report(Severity::Error, at, std::move(message)); }
  void error(const toml::node& at, std::string message) { error(at.source().begin, std::move(message)); }
  void expected(std::string_view key, const toml::node& value, std::string_view what);

  // --- typed readers (readers.cpp): nullopt after reporting the problem
  std::optional<std::string> read_string(std::string_view key, const toml::node& value);
  // Within [shortest, longest]; a key with a narrower range than the default
  // names both ends when it refuses a value.
  std::optional<Duration> read_duration(std::string_view key, const toml::node& value,
                                        Duration shortest = kShortestDuration, Duration longest = kLongestDuration);
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
  std::optional<std::string> read_proxy(std::string_view key, const toml::node& value);
  std::optional<std::string> read_metrics_file(std::string_view key, const toml::node& value);
  std::optional<std::vector<std::string>> read_pins(std::string_view key, const toml::node& value);
  bool read_unix_user(std::string_view key, const toml::node& value, UserConfig& config);
  ReportError reporter() {
    return [this](Position at, std::string message) { error(at, std::move(message)); };
  }

 private:
  // --- structure (loader.cpp)
  void unknown_key(const toml::key& key, Section section);
  void load_daemon(const toml::node& node, DaemonConfig& daemon);
  KeyPositions apply_user_keys(const toml::table& table, Section section, UserConfig& config);
  void check_reconnect_range(const UserConfig& config, const KeyPositions& here);
  void check_client_pair(const UserConfig& config, const KeyPositions& here, const KeyPositions& defaults);
  void load_users(const toml::node& node, const UserConfig& defaults, const KeyPositions& defaults_keys,
                  std::vector<UserConfig>& users);
  std::optional<std::string> read_id(const toml::table& table);
  void choose_user_proxy(UserConfig& user, const toml::table& table, const KeyPositions& here,
                         const KeyPositions& defaults);
  bool file_readable(std::string_view key, const toml::node& value, const std::string& path);

  std::string path_;
  EnvLookup env_;  // for proxy = "env"
  std::vector<Diagnostic> diagnostics_;
  std::set<std::pair<std::uint32_t, std::uint32_t>> pair_reported_;  // [defaults] client pair errors
  std::set<std::pair<std::uint32_t, std::uint32_t>> cursor_reported_;  // placeholder names, once per place
  std::set<std::pair<std::uint32_t, std::uint32_t>> proxy_reported_;   // environment proxy errors, once per place
  const toml::table* defaults_table_ = nullptr;
};

// "{id}" in a url template replaced by the percent-encoded id.
std::string substitute_id(std::string_view url_template, std::string_view id);

}  // namespace wsheart::config
