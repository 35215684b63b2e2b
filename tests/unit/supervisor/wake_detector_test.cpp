// The wake detector with injected clocks: the monotonic time and the offset
// CLOCK_BOOTTIME - CLOCK_MONOTONIC, which grows by the time spent asleep.
#include <gtest/gtest.h>

#include "supervisor/wake.hpp"

namespace wsheart::supervisor {
namespace {

using namespace std::chrono_literals;
using Offset = WakeDetector::Offset;

class WakeDetectorTest : public ::testing::Test {
 protected:
  WakeDetector::TimePoint t{std::chrono::hours(100)};
  Offset offset{5s};
  WakeDetector detector{offset};
};

TEST_F(WakeDetectorTest, NoGapNoWake) {
  EXPECT_FALSE(detector.tick(t, offset));
  EXPECT_FALSE(detector.tick(t + 1s, offset + 999ms));  // drift and short stalls stay below the gap
  EXPECT_FALSE(detector.tick(t + 2s, offset + 1s));
}

TEST_F(WakeDetectorTest, GapOverOneSecondIsAWakeReportedOnce) {
  EXPECT_TRUE(detector.tick(t, offset + 1001ms));
  EXPECT_FALSE(detector.tick(t + 1s, offset + 1001ms));
  EXPECT_TRUE(detector.tick(t + 2s, offset + 1h));  // another sleep, clock only: each one counts
}

TEST_F(WakeDetectorTest, LogindWakeWithoutAGapStillCounts) {
  detector.sleeping();
  EXPECT_TRUE(detector.logind_woke(t, offset));
}

TEST_F(WakeDetectorTest, LogindFirstThenTickIsOneWake) {
  detector.sleeping();
  EXPECT_TRUE(detector.logind_woke(t, offset + 30min));
  EXPECT_FALSE(detector.tick(t + 100ms, offset + 30min));
}

TEST_F(WakeDetectorTest, TickFirstThenLogindIsOneWake) {
  detector.sleeping();
  EXPECT_TRUE(detector.tick(t, offset + 30min));
  EXPECT_FALSE(detector.logind_woke(t + 2s, offset + 30min));
}

TEST_F(WakeDetectorTest, TickThenLogindWithoutSleepAnnouncementIsOneWake) {
  // The watcher connected after PrepareForSleep(true) went out.
  EXPECT_TRUE(detector.tick(t, offset + 30min));
  EXPECT_FALSE(detector.logind_woke(t + 2s, offset + 30min));
}

TEST_F(WakeDetectorTest, EverySleepAnnouncedByLogindIsItsOwnWake) {
  detector.sleeping();
  EXPECT_TRUE(detector.tick(t, offset + 10s));
  EXPECT_FALSE(detector.logind_woke(t + 1s, offset + 10s));
  detector.sleeping();  // asleep again within seconds
  EXPECT_TRUE(detector.logind_woke(t + 3s, offset + 20s));
  EXPECT_FALSE(detector.tick(t + 4s, offset + 20s));
}

TEST_F(WakeDetectorTest, ReportsFromTheOtherSourceLongAfterAreNewWakes) {
  EXPECT_TRUE(detector.tick(t, offset + 10s));
  EXPECT_TRUE(detector.logind_woke(t + WakeDetector::kSameWake, offset + 10s));
}

}  // namespace
}  // namespace wsheart::supervisor
