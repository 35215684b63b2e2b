#include "log/log.hpp"

#include <sys/stat.h>
#include <sys/uio.h>

#include <array>
#include <cstdlib>
#include <string>

#include <systemd/sd-journal.h>

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

bool is_journal_stream(const char* journal_stream, int fd) {
  if (journal_stream == nullptr || *journal_stream == '\0') return false;
  char* end = nullptr;
  const unsigned long long device = std::strtoull(journal_stream, &end, 10);
  if (end == journal_stream || *end != ':') return false;
  const char* inode_text = end + 1;
  const unsigned long long inode = std::strtoull(inode_text, &end, 10);
  if (end == inode_text || *end != '\0') return false;
  struct stat status {};
  if (::fstat(fd, &status) != 0) return false;
  return static_cast<unsigned long long>(status.st_dev) == device &&
         static_cast<unsigned long long>(status.st_ino) == inode;
}

namespace {
std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) out += (c == '\n' || c == '\r') ? ' ' : c;
  return out;
}
}  // namespace

void Logger::write(LogLevel level, std::string_view line, const LogFields& fields) const {
  if (!enabled(level)) return;
  const std::string clean = one_line(line);
  if (journal_ && send_to_journal(level, clean, fields)) return;
  write_line(level, clean);
}

void Logger::write_line(LogLevel level, const std::string& line) const {
  std::string out;
  out.reserve(line.size() + 5);
  out += '<';
  out += static_cast<char>('0' + static_cast<int>(level));
  out += '>';
  out += line;
  out += '\n';
  // One fwrite per line: lines from one process never interleave mid-line.
  std::fwrite(out.data(), 1, out.size(), sink_);
  std::fflush(sink_);
}

// One datagram to journald's socket, on the calling (loop) thread: like a
// write to the stream, it waits only while journald's queue is full.
bool Logger::send_to_journal(LogLevel level, const std::string& line, const LogFields& fields) const {
  std::array<std::string, 6> entries{
      std::string("PRIORITY=") + static_cast<char>('0' + static_cast<int>(level)),
      "MESSAGE=" + line,
      // As the stream's lines had it: `journalctl -t wsheartd` keeps working.
      "SYSLOG_IDENTIFIER=wsheartd",
  };
  std::size_t used = 3;
  if (!fields.user.empty()) entries[used++] = "WSHEART_USER=" + one_line(fields.user);
  if (!fields.state.empty()) entries[used++] = "WSHEART_STATE=" + one_line(fields.state);
  if (!fields.reason.empty()) entries[used++] = "WSHEART_REASON=" + one_line(fields.reason);
  std::array<iovec, 6> vectors{};
  for (std::size_t i = 0; i < used; ++i) vectors[i] = iovec{entries[i].data(), entries[i].size()};
  return sd_journal_sendv(vectors.data(), static_cast<int>(used)) >= 0;
}

}  // namespace wsheart
