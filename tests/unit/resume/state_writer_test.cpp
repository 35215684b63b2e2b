#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>

#include "state/state_writer.hpp"

namespace wsheart::state {
namespace {

using namespace std::chrono_literals;

std::string temp_dir() {
  std::string pattern = ::testing::TempDir() + "writer_test.XXXXXX";
  return ::mkdtemp(pattern.data());
}

TEST(StateWriter, MergesSubmissionsAndWritesOnStop) {
  const std::string dir = temp_dir();
  Records initial;
  initial["gone"] = UserRecord{"ws://h:80/", 1, {}, {}};
  initial["kept"] = UserRecord{"ws://h:80/", 2, {}, {}};
  StateWriter writer({dir, 0ms}, initial, nullptr);
  Records changed;
  changed["new"] = UserRecord{"ws://h:80/", 3, {{"id", "x"}}, {7}};
  writer.submit(changed, {"gone"});
  changed["new"].last_seq = 4;
  writer.submit(changed, {});
  const auto result = writer.stop();
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->error);
  const Loaded loaded = load(dir + "/state.json", 1);
  ASSERT_FALSE(loaded.warning);
  ASSERT_EQ(loaded.records.size(), 2u);
  EXPECT_EQ(loaded.records.at("kept").last_seq, 2u);
  EXPECT_EQ(loaded.records.at("new").last_seq, 4u);
  std::system(("rm -rf '" + dir + "'").c_str());
}

// A slow disk holds up the writer only: submit returns at once.
TEST(StateWriter, SubmitDoesNotWaitForASlowDisk) {
  const std::string dir = temp_dir();
  std::atomic<int> writes{0};
  StateWriter writer({dir, 400ms}, {}, [&](const StateWriter::Result&) { ++writes; });
  Records changed;
  changed["a"] = UserRecord{"ws://h:80/", 1, {}, {}};
  const auto began = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) writer.submit(changed, {});
  const auto took = std::chrono::steady_clock::now() - began;
  EXPECT_LT(took, 100ms);
  EXPECT_EQ(writes.load(), 0);
  writer.stop();
  EXPECT_GE(writes.load(), 1);
  EXPECT_LE(writes.load(), 2);  // coalesced: the first write, then the merged rest
  std::system(("rm -rf '" + dir + "'").c_str());
}

TEST(StateWriter, ReportsFailure) {
  StateWriter writer({"/proc/self/no/such", 0ms}, {}, nullptr);
  writer.submit({}, {});
  const auto result = writer.stop();
  ASSERT_TRUE(result);
  ASSERT_TRUE(result->error);
}

TEST(StateWriter, StopWithoutSubmissionWritesNothing) {
  const std::string dir = temp_dir() + "/never";
  StateWriter writer({dir, 0ms}, {}, nullptr);
  EXPECT_FALSE(writer.stop());
}

}  // namespace
}  // namespace wsheart::state
