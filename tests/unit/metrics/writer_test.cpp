// The metrics file on disk: atomic replacement, mode 0640 whatever the
// umask, removal, and the writer thread's ordering of writes and removals.
#include "metrics/metrics_writer.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>

#include <gtest/gtest.h>

namespace wsheart::metrics {
namespace {

class TempDirectory {
 public:
  TempDirectory() {
    std::string pattern = ::testing::TempDir() + "metrics_test.XXXXXX";
    path_ = ::mkdtemp(pattern.data()) ? pattern : "";
  }
  ~TempDirectory() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t entries(const std::string& directory) {
  const std::string listing = directory + "/listing";
  std::system(("ls -A '" + directory + "' | grep -vx listing > '" + listing + "'").c_str());
  const std::string text = read(listing);
  ::unlink(listing.c_str());
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n' ? 1 : 0;
  return lines;
}

TEST(ReplaceFile, Mode0640UnderAStrictUmaskAndNoTempLeft) {
  TempDirectory dir;
  const std::string path = dir.path() + "/w.prom";
  const mode_t old_mask = ::umask(0077);
  ASSERT_EQ(replace_file(path, "a 1\n"), std::nullopt);
  ASSERT_EQ(replace_file(path, "a 2\n"), std::nullopt);
  ::umask(old_mask);
  struct stat status {};
  ASSERT_EQ(::stat(path.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0640u);
  EXPECT_EQ(read(path), "a 2\n");
  EXPECT_EQ(entries(dir.path()), 1u);
}

TEST(ReplaceFile, MissingDirectoryIsAnError) {
  TempDirectory dir;
  const auto error = replace_file(dir.path() + "/nope/w.prom", "a 1\n");
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("cannot create a file in"), std::string::npos) << *error;
}

TEST(MetricsWriter, WritesCreatesItsDirectoryAndRemoves) {
  TempDirectory dir;
  const std::string state = dir.path() + "/state/wsheartd";
  const std::string path = state + "/w.prom";
  std::promise<void> written;
  std::promise<void> removed;
  MetricsWriter writer([&](const MetricsWriter::Result& result) {
    EXPECT_FALSE(result.error) << *result.error;
    (result.removal ? removed : written).set_value();
  });
  writer.submit({path, state}, Snapshot{"9", 0, {}});
  ASSERT_EQ(written.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_NE(read(path).find("wsheartd_build_info{version=\"9\"} 1\n"), std::string::npos);
  writer.remove(path);
  ASSERT_EQ(removed.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
  writer.stop();
}

TEST(MetricsWriter, ARemovalCancelsThePendingWriteOfThatPath) {
  TempDirectory dir;
  const std::string path = dir.path() + "/w.prom";
  MetricsWriter writer(nullptr);
  // Whatever the thread got to first, the file ends up absent: a write
  // submitted before the removal is either done before it or dropped.
  for (int i = 0; i < 50; ++i) {
    writer.submit({path, ""}, Snapshot{"1", 0, {}});
    writer.remove(path);
  }
  writer.stop();
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace wsheart::metrics
