// The daemon's state file: per user with a cursor, the cursor values, the
// origin they came from, the last seq and the identities of recent cursor
// messages. JSON, written atomically (temp file, fsync, rename, fsync dir).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "resume/render.hpp"

namespace wsheart::state {

inline constexpr int kFormatVersion = 1;
inline constexpr std::string_view kFileName = "state.json";

struct UserRecord {
  std::string origin;  // scheme://host:port/path of the url the cursors came from
  std::uint64_t last_seq = 0;
  resume::CursorValues cursors;
  std::vector<std::uint64_t> seen;  // oldest first
  bool operator==(const UserRecord& other) const {
    return origin == other.origin && last_seq == other.last_seq && cursors == other.cursors && seen == other.seen;
  }
};

using Records = std::map<std::string, UserRecord>;  // by user id

std::string serialize(const Records& records);
// nullopt with `error` set on anything but a well-formed file of kFormatVersion.
std::optional<Records> parse(std::string_view text, std::string* error);

struct Loaded {
  Records records;
  // Set when the file existed but could not be used: one line for the log
  // saying why and where it was moved.
  std::optional<std::string> warning;
};
// A missing file is an empty state. An unreadable, corrupt or foreign file
// is moved aside (PATH.bad-<unix seconds>) so that it is kept for a human
// and not read again.
Loaded load(const std::string& path, std::uint64_t unix_seconds);

// Creates `directory` (and missing parents, mode 0700) if needed, then
// writes `contents` to directory/name atomically with mode 0600. The error
// text on failure; the old file is left as it was.
std::optional<std::string> write_atomic(const std::string& directory, std::string_view name,
                                        std::string_view contents);

// StateDirectory= (STATE_DIRECTORY, set by systemd) or /var/lib/wsheartd.
std::string default_system_directory();
// ${XDG_STATE_HOME:-~/.local/state}/wsheartd
std::string default_user_directory();

}  // namespace wsheart::state
