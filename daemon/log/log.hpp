// Logging for journald. Where stderr is a plain stream: one line per event,
// "<N>" syslog priority prefix so journald keeps the level. Where stderr IS
// the journal (JOURNAL_STREAM matches fd 2, systemd's documented check):
// one sd-journal entry per event with PRIORITY= and MESSAGE=, plus
// WSHEART_USER=, WSHEART_STATE=, WSHEART_REASON= on lines about a user, so
// `journalctl WSHEART_USER=alice` selects them.
// Callers must never pass secrets: use config::redact_url for URLs and never
// log header values. The fields hold only a user id, a state name and the
// reason also published as the bus's StateReason.
#pragma once

#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace wsheart {

enum class LogLevel : int { Err = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

std::optional<LogLevel> parse_log_level(std::string_view name);  // err|warning|notice|info|debug
std::string_view to_string(LogLevel level);

// What a line is about, for the journal's fields; empty members are left out.
struct LogFields {
  std::string_view user;
  std::string_view state;
  std::string_view reason;
};
// A line about a user, not about its state.
inline LogFields user_fields(std::string_view user) {
  LogFields fields;
  fields.user = user;
  return fields;
}

// systemd's check: JOURNAL_STREAM ("DEVICE:INODE", decimal) names the file
// that `fd` is. `journal_stream` is the variable's value (nullptr: unset).
bool is_journal_stream(const char* journal_stream, int fd);

class Logger {
 public:
  explicit Logger(LogLevel max_level = LogLevel::Info, std::FILE* sink = stderr)
      : max_level_(max_level), sink_(sink) {}

  void set_level(LogLevel level) { max_level_ = level; }
  LogLevel level() const { return max_level_; }
  bool enabled(LogLevel level) const { return static_cast<int>(level) <= static_cast<int>(max_level_); }
  // Send entries to sd-journal instead of "<N>" lines to the sink. An entry
  // the journal refuses is written as a line to the sink (sd-journal itself
  // drops entries silently while journald's socket is missing; with our
  // stderr held by journald, it is there).
  void use_journal(bool on) { journal_ = on; }
  bool journal() const { return journal_; }

  // Newlines inside `line` are replaced so one event stays one journal entry.
  void write(LogLevel level, std::string_view line, const LogFields& fields = {}) const;

  template <typename... Args>
  void log(LogLevel level, const Args&... args) const {
    if (!enabled(level)) return;
    write(level, text(args...));
  }
  // A line about one user (and maybe its state and the reason).
  template <typename... Args>
  void log_for(LogLevel level, const LogFields& fields, const Args&... args) const {
    if (!enabled(level)) return;
    write(level, text(args...), fields);
  }
  template <typename... Args> void err(const Args&... a) const { log(LogLevel::Err, a...); }
  template <typename... Args> void warning(const Args&... a) const { log(LogLevel::Warning, a...); }
  template <typename... Args> void notice(const Args&... a) const { log(LogLevel::Notice, a...); }
  template <typename... Args> void info(const Args&... a) const { log(LogLevel::Info, a...); }
  template <typename... Args> void debug(const Args&... a) const { log(LogLevel::Debug, a...); }

 private:
  template <typename... Args>
  static std::string text(const Args&... args) {
    std::ostringstream out;
    (out << ... << args);
    return out.str();
  }
  void write_line(LogLevel level, const std::string& line) const;
  bool send_to_journal(LogLevel level, const std::string& line, const LogFields& fields) const;

  LogLevel max_level_;
  std::FILE* sink_;
  bool journal_ = false;
};

}  // namespace wsheart
