#include <gtest/gtest.h>

#include "handshake_limiter.hpp"

namespace wsheart {
namespace {

TEST(HandshakeLimiter, GrantsUpToCapacityThenQueuesInOrder) {
  HandshakeLimiter limiter(2);
  EXPECT_TRUE(limiter.request(1));
  EXPECT_TRUE(limiter.request(2));
  EXPECT_FALSE(limiter.request(3));
  EXPECT_FALSE(limiter.request(4));
  EXPECT_EQ(limiter.in_flight(), 2U);
  EXPECT_FALSE(limiter.grant_next().has_value());  // no free slot yet
  limiter.release();
  EXPECT_EQ(limiter.grant_next(), std::optional<HandshakeLimiter::Token>(3));
  EXPECT_FALSE(limiter.grant_next().has_value());
  limiter.release();
  limiter.release();
  EXPECT_EQ(limiter.grant_next(), std::optional<HandshakeLimiter::Token>(4));
  EXPECT_EQ(limiter.in_flight(), 1U);
  EXPECT_EQ(limiter.peak(), 2U);
}

TEST(HandshakeLimiter, NewRequestsWaitBehindTheQueue) {
  HandshakeLimiter limiter(1);
  EXPECT_TRUE(limiter.request(1));
  EXPECT_FALSE(limiter.request(2));
  limiter.release();
  // A free slot exists, but 2 was first: 3 must queue behind it.
  EXPECT_FALSE(limiter.request(3));
  EXPECT_EQ(limiter.grant_next(), std::optional<HandshakeLimiter::Token>(2));
}

TEST(HandshakeLimiter, CancelledWaitersAreSkippedAndCapacityCanGrow) {
  HandshakeLimiter limiter(1);
  EXPECT_TRUE(limiter.request(1));
  EXPECT_FALSE(limiter.request(2));
  EXPECT_FALSE(limiter.request(3));
  EXPECT_FALSE(limiter.request(4));
  limiter.cancel(3);
  EXPECT_EQ(limiter.waiting(), 2U);
  limiter.set_capacity(3);
  EXPECT_EQ(limiter.grant_next(), std::optional<HandshakeLimiter::Token>(2));
  EXPECT_EQ(limiter.grant_next(), std::optional<HandshakeLimiter::Token>(4));
  EXPECT_FALSE(limiter.grant_next().has_value());
  EXPECT_EQ(limiter.in_flight(), 3U);
}

}  // namespace
}  // namespace wsheart
