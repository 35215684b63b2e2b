// Logging for journald: one line per event on stderr, "<N>" syslog priority
// prefix so journald keeps the level. Callers must never pass secrets: use
// config::redact_url for URLs and never log header values.
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

class Logger {
 public:
  explicit Logger(LogLevel max_level = LogLevel::Info, std::FILE* sink = stderr)
      : max_level_(max_level), sink_(sink) {}

  void set_level(LogLevel level) { max_level_ = level; }
  LogLevel level() const { return max_level_; }
  bool enabled(LogLevel level) const { return static_cast<int>(level) <= static_cast<int>(max_level_); }

  // Newlines inside `line` are replaced so one event stays one journal entry.
  void write(LogLevel level, std::string_view line) const;

  template <typename... Args>
  void log(LogLevel level, const Args&... args) const {
    if (!enabled(level)) return;
    std::ostringstream out;
    (out << ... << args);
    write(level, out.str());
  }
  template <typename... Args> void err(const Args&... a) const { log(LogLevel::Err, a...); }
  template <typename... Args> void warning(const Args&... a) const { log(LogLevel::Warning, a...); }
  template <typename... Args> void notice(const Args&... a) const { log(LogLevel::Notice, a...); }
  template <typename... Args> void info(const Args&... a) const { log(LogLevel::Info, a...); }
  template <typename... Args> void debug(const Args&... a) const { log(LogLevel::Debug, a...); }

 private:
  LogLevel max_level_;
  std::FILE* sink_;
};

}  // namespace wsheart
