#include <gtest/gtest.h>

#include "supervisor/backoff.hpp"

namespace wsheart::supervisor {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, CapGrowsExponentiallyAndSaturates) {
  Backoff b(milliseconds(1000), milliseconds(60000), 2.0, config::Jitter::Full);
  EXPECT_EQ(b.cap(0), milliseconds(1000));
  EXPECT_EQ(b.cap(1), milliseconds(2000));
  EXPECT_EQ(b.cap(5), milliseconds(32000));
  EXPECT_EQ(b.cap(6), milliseconds(60000));
  EXPECT_EQ(b.cap(100000), milliseconds(60000));  // pow overflows to inf: still the cap
}

TEST(Backoff, NonIntegerMultiplier) {
  Backoff b(milliseconds(100), milliseconds(10000), 1.5, config::Jitter::None);
  EXPECT_EQ(b.cap(2), milliseconds(225));
}

TEST(Backoff, NoJitterIsThePlainExponential) {
  Backoff b(milliseconds(250), milliseconds(1000), 2.0, config::Jitter::None);
  Rng rng(1);
  EXPECT_EQ(b.next(rng), milliseconds(250));
  EXPECT_EQ(b.next(rng), milliseconds(500));
  EXPECT_EQ(b.next(rng), milliseconds(1000));
  EXPECT_EQ(b.next(rng), milliseconds(1000));
  EXPECT_EQ(b.attempts(), 4U);
  b.reset();
  EXPECT_EQ(b.next(rng), milliseconds(250));
}

// Full jitter: every draw within [0, cap(n)], and the draws really spread over
// that range (not all at one end), including at the cap.
TEST(Backoff, FullJitterStaysWithinBoundsAndSpreads) {
  Rng rng(42);
  for (unsigned attempt = 0; attempt < 12; ++attempt) {
    Backoff probe(milliseconds(1000), milliseconds(60000), 2.0, config::Jitter::Full);
    const auto cap = probe.cap(attempt);
    milliseconds low = cap;
    milliseconds high{0};
    for (int i = 0; i < 2000; ++i) {
      Backoff b(milliseconds(1000), milliseconds(60000), 2.0, config::Jitter::Full);
      for (unsigned k = 0; k < attempt; ++k) b.next(rng);
      const auto d = b.next(rng);
      ASSERT_GE(d.count(), 0);
      ASSERT_LE(d, cap);
      low = std::min(low, d);
      high = std::max(high, d);
    }
    EXPECT_LT(low.count(), cap.count() / 10) << "attempt " << attempt;
    EXPECT_GT(high.count(), cap.count() * 9 / 10) << "attempt " << attempt;
  }
}

TEST(Backoff, AttemptCounterSaturatesWithoutOverflow) {
  Backoff b(milliseconds(1), milliseconds(5), 10.0, config::Jitter::None);
  Rng rng(3);
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(b.next(rng) <= milliseconds(5), true);
  EXPECT_EQ(b.next(rng), milliseconds(5));
  EXPECT_LE(b.attempts(), 1000U);
}

}  // namespace
}  // namespace wsheart::supervisor
