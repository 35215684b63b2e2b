#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "state/state_file.hpp"

namespace wsheart::state {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "state_test.XXXXXX";
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

void spit(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Records sample() {
  Records records;
  records["alice"] = UserRecord{"wss://h:443/t/ws", 42, {{"id", "m\"9"}, {"epoch", "e"}}, {1, 0xffffffffffffffffULL}};
  records["b\xc3\xa9"] = UserRecord{"ws://h:80/", 0, {}, {}};
  return records;
}

TEST(StateFormat, RoundTrip) {
  const Records records = sample();
  std::string error;
  const auto parsed = parse(serialize(records), &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(*parsed, records);
}

TEST(StateFormat, RejectsWhatItDidNotWrite) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not JSON"},
      {"{", "not JSON"},
      {"[]", "not a wsheartd state file"},
      {R"({"format":"other","version":1,"users":{}})", "not a wsheartd state file"},
      {R"({"format":"wsheartd-state","version":2,"users":{}})",
       "state file version 2, this wsheartd reads version 1"},
      {R"({"format":"wsheartd-state","users":{}})", "state file version missing, this wsheartd reads version 1"},
      {R"({"format":"wsheartd-state","version":1})", "no \"users\" object"},
      {R"({"format":"wsheartd-state","version":1,"users":{"a":{"origin":"o","seq":-1,"cursor":{},"seen":[]}}})",
       "user \"a\": seq is not an unsigned integer"},
      {R"({"format":"wsheartd-state","version":1,"users":{"a":{"origin":"o","seq":1,"cursor":{"x":1},"seen":[]}}})",
       "user \"a\": a cursor value is not a string"},
      {R"({"format":"wsheartd-state","version":1,"users":{"a":{"origin":"o","seq":1,"cursor":{},"seen":["zz"]}}})",
       "user \"a\": seen holds something other than 16 hex digits"},
  };
  for (const auto& [text, expected] : cases) {
    std::string error;
    EXPECT_FALSE(parse(text, &error)) << text;
    EXPECT_EQ(error, expected) << text;
  }
}

TEST(StateFile, MissingIsEmptyAndQuiet) {
  const TempDir dir;
  const Loaded loaded = load(dir.path() + "/state.json", 100);
  EXPECT_TRUE(loaded.records.empty());
  EXPECT_FALSE(loaded.warning);
}

TEST(StateFile, CorruptIsMovedAsideWithOneWarning) {
  const TempDir dir;
  const std::string path = dir.path() + "/state.json";
  spit(path, "{\"format\":\"wsheartd-state\",\"vers");
  const Loaded loaded = load(path, 1700000000);
  EXPECT_TRUE(loaded.records.empty());
  ASSERT_TRUE(loaded.warning);
  EXPECT_EQ(*loaded.warning, "state file " + path + " ignored (not JSON): starting without saved cursors; moved to " +
                                 path + ".bad-1700000000");
  EXPECT_FALSE(exists(path));
  EXPECT_EQ(slurp(path + ".bad-1700000000"), "{\"format\":\"wsheartd-state\",\"vers");
  // Next start: nothing there, nothing to say.
  EXPECT_FALSE(load(path, 1700000001).warning);
}

TEST(StateFile, UnreadableIsMovedAside) {
  const TempDir dir;
  const std::string path = dir.path() + "/state.json";
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);  // not a regular file
  const Loaded loaded = load(path, 5);
  ASSERT_TRUE(loaded.warning);
  EXPECT_NE(loaded.warning->find("(not a regular file)"), std::string::npos) << *loaded.warning;
  EXPECT_TRUE(exists(path + ".bad-5"));
}

TEST(StateFile, WriteAtomicCreatesPrivateFileAndDirectories) {
  const TempDir dir;
  const std::string nested = dir.path() + "/a/b";
  ASSERT_FALSE(write_atomic(nested, kFileName, serialize(sample())));
  const std::string path = nested + "/state.json";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(nested.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  const Loaded loaded = load(path, 1);
  EXPECT_FALSE(loaded.warning);
  EXPECT_EQ(loaded.records, sample());
  // Replaced whole, no temp files left behind.
  ASSERT_FALSE(write_atomic(nested, kFileName, serialize(Records{})));
  EXPECT_TRUE(load(path, 1).records.empty());
  EXPECT_EQ(std::system(("test $(ls -A '" + nested + "' | wc -l) -eq 1").c_str()), 0);
}

TEST(StateFile, WriteFailureLeavesOldFileAndSaysWhy) {
  const TempDir dir;
  const std::string blocker = dir.path() + "/file";
  spit(blocker, "x");
  const auto error = write_atomic(blocker + "/sub", kFileName, "{}");
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, "cannot create " + blocker + "/sub: Not a directory");
}

TEST(StateDirectories, FollowTheEnvironment) {
  ::setenv("STATE_DIRECTORY", "/var/lib/x:/var/lib/y", 1);
  EXPECT_EQ(default_system_directory(), "/var/lib/x");
  ::unsetenv("STATE_DIRECTORY");
  EXPECT_EQ(default_system_directory(), "/var/lib/wsheartd");
  ::setenv("XDG_STATE_HOME", "/st", 1);
  EXPECT_EQ(default_user_directory(), "/st/wsheartd");
  ::setenv("XDG_STATE_HOME", "relative", 1);
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_user_directory(), "/home/u/.local/state/wsheartd");
}

}  // namespace
}  // namespace wsheart::state
