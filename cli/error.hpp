// Exit codes and the one error type every verb reports through.
#pragma once

#include <stdexcept>
#include <string>

namespace wsheart::cli {

// The contract's exit codes (docs/cli.md).
enum class Exit : int {
  Ok = 0,
  Failure = 1,
  Usage = 2,
  NotOpen = 3,         // status: some listed user is not open
  NotReachable = 4,    // daemon not running / bus unreachable
  NoSuchUser = 5,
  Unavailable = 69,    // notify: no session bus or no notification server (EX_UNAVAILABLE)
};

constexpr int to_int(Exit code) { return static_cast<int>(code); }

// Thrown by verbs and the bus client; main prints "wsheartctl: <message>" as
// the single stderr line and exits with `code`. `detail_lines` go to stderr
// before that line (only reload uses them: the PATH:LINE:COL diagnostics).
class CliError : public std::runtime_error {
 public:
  CliError(Exit code, const std::string& message, std::string detail_lines = {})
      : std::runtime_error(message), code_(code), detail_lines_(std::move(detail_lines)) {}
  Exit code() const { return code_; }
  const std::string& detail_lines() const { return detail_lines_; }

 private:
  Exit code_;
  std::string detail_lines_;
};

}  // namespace wsheart::cli
