// The notify agent's memory between runs: the last seq shown per user, in
// $XDG_STATE_HOME/wsheartd/notify.state (default ~/.local/state), as JSON
// {"last_seq":{"alice":17}}. Written atomically (temporary file + rename).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace wsheart::cli::notify {

using LastSeqs = std::map<std::string, std::uint64_t>;

std::string serialize_state(const LastSeqs& seqs);
// nullopt when `text` is not a state document.
std::optional<LastSeqs> parse_state(const std::string& text);

// From the environment values (either may be null); empty when neither is set.
std::string state_file_path(const char* xdg_state_home, const char* home);

// A missing file is an empty state; an unreadable or malformed one too,
// with a reason in `warning`.
LastSeqs load_state_file(const std::string& path, std::string& warning);
// Creates the directory (0700) when needed. Throws std::runtime_error.
void save_state_file(const std::string& path, const LastSeqs& seqs);

}  // namespace wsheart::cli::notify
