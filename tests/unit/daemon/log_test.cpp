// The logger's choice of sink: systemd's JOURNAL_STREAM check, and the "<N>"
// lines everywhere else (the journal itself is checked under a real systemd,
// tests/integration/systemd/real/checks.d/35-journal.sh).
#include "log/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include <gtest/gtest.h>

namespace wsheart {
namespace {

std::string device_and_inode(int fd) {
  struct stat status {};
  if (::fstat(fd, &status) != 0) return "";
  return std::to_string(status.st_dev) + ":" + std::to_string(status.st_ino);
}

TEST(JournalStream, MatchesOnlyTheFileItNames) {
  std::FILE* file = std::tmpfile();
  std::FILE* other = std::tmpfile();
  ASSERT_NE(file, nullptr);
  ASSERT_NE(other, nullptr);
  const std::string own = device_and_inode(::fileno(file));
  EXPECT_TRUE(is_journal_stream(own.c_str(), ::fileno(file)));
  EXPECT_FALSE(is_journal_stream(own.c_str(), ::fileno(other)));
  EXPECT_FALSE(is_journal_stream(nullptr, ::fileno(file)));
  EXPECT_FALSE(is_journal_stream("", ::fileno(file)));
  EXPECT_FALSE(is_journal_stream("1:1", ::fileno(file)));
  EXPECT_FALSE(is_journal_stream((own + "x").c_str(), ::fileno(file)));
  EXPECT_FALSE(is_journal_stream(own.substr(0, own.find(':')).c_str(), ::fileno(file)));
  EXPECT_FALSE(is_journal_stream(own.c_str(), 987));  // not open
  std::fclose(file);
  std::fclose(other);
}

std::string written(const Logger& log, const std::function<void(const Logger&)>& what, std::FILE* sink) {
  what(log);
  std::fflush(sink);
  std::rewind(sink);
  std::string text;
  char buffer[512];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, sink)) > 0) text.append(buffer, n);
  return text;
}

TEST(Logger, PlainStreamLinesAreUnchangedByFields) {
  std::FILE* sink = std::tmpfile();
  ASSERT_NE(sink, nullptr);
  const Logger log(LogLevel::Info, sink);
  const std::string text = written(
      log,
      [](const Logger& l) {
        l.log_for(LogLevel::Notice, LogFields{"alice", "open", "connected"}, "alice: connecting -> open (connected)");
        l.log_for(LogLevel::Warning, user_fields("bob"), "bob: two\nlines");
        l.info("plain ", 42);
        l.debug("not shown at info");
      },
      sink);
  EXPECT_EQ(text, "<5>alice: connecting -> open (connected)\n<4>bob: two lines\n<6>plain 42\n");
  std::fclose(sink);
}

}  // namespace
}  // namespace wsheart
