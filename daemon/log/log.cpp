#include "log/log.hpp"

#include <array>
#include <string>

namespace wsheart {

std::optional<LogLevel> parse_log_level(std::string_view name) {
  if (name == "err" || name == "error") return LogLevel::Err;
  if (name == "warning" || name == "warn") return LogLevel::Warning;
  if (name == "notice") return LogLevel::Notice;
  if (name == "info") return LogLevel::Info;
  if (name == "debug") return LogLevel::Debug;
  return std::nullopt;
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::Err: return "err";
    case LogLevel::Warning: return "warning";
    case LogLevel::Notice: return "notice";
    case LogLevel::Info: return "info";
    case LogLevel::Debug: return "debug";
  }
  return "info";
}

void Logger::write(LogLevel level, std::string_view line) const {
  if (!enabled(level)) return;
  std::string out;
  out.reserve(line.size() + 5);
  out += '<';
  out += static_cast<char>('0' + static_cast<int>(level));
  out += '>';
  for (char c : line) out += (c == '\n' || c == '\r') ? ' ' : c;
  out += '\n';
  // One fwrite per line: lines from one process never interleave mid-line.
  std::fwrite(out.data(), 1, out.size(), sink_);
  std::fflush(sink_);
}

}  // namespace wsheart
