#include <gtest/gtest.h>

#include "resume/resume_state.hpp"

namespace wsheart::resume {
namespace {

constexpr std::uint64_t kFnvOfIdA = 0x5262623ba9cc3c49ULL;

TEST(ResumeState, AdvanceMovesValuesAndRemembers) {
  ResumeState s;
  const CursorUpdate u1{{"id", "a"}};
  const auto i1 = ResumeState::identity(u1);
  EXPECT_FALSE(s.seen(i1));
  s.advance(u1, i1);
  EXPECT_TRUE(s.seen(i1));
  EXPECT_EQ(s.values(), (CursorValues{{"id", "a"}}));
  s.advance({{"id", "b"}}, ResumeState::identity({{"id", "b"}}));
  EXPECT_EQ(s.values().at("id"), "b");
  EXPECT_TRUE(s.seen(i1));
}

TEST(ResumeState, IdentityIsStableAndSeparatesFields) {
  // Persisted identities must mean the same after a restart: FNV-1a 64 of "id\0a\0".
  EXPECT_EQ(ResumeState::identity({{"id", "a"}}), kFnvOfIdA);
  EXPECT_NE(ResumeState::identity({{"a", "bc"}}), ResumeState::identity({{"ab", "c"}}));
  EXPECT_NE(ResumeState::identity({{"o", "1"}, {"e", "x"}}), ResumeState::identity({{"o", "1"}, {"e", "y"}}));
}

TEST(ResumeState, RingForgetsTheOldest) {
  ResumeState s;
  for (std::uint64_t i = 0; i < ResumeState::kSeenCapacity + 3; ++i) s.advance({}, i);
  EXPECT_FALSE(s.seen(0));
  EXPECT_FALSE(s.seen(2));
  EXPECT_TRUE(s.seen(3));
  EXPECT_TRUE(s.seen(ResumeState::kSeenCapacity + 2));
  const auto order = s.seen_oldest_first();
  ASSERT_EQ(order.size(), ResumeState::kSeenCapacity);
  EXPECT_EQ(order.front(), 3u);
  EXPECT_EQ(order.back(), ResumeState::kSeenCapacity + 2);
}

TEST(ResumeState, RestoreAndForget) {
  ResumeState s;
  std::vector<std::uint64_t> seen;
  for (std::uint64_t i = 0; i < 100; ++i) seen.push_back(i);
  s.restore({{"id", "z"}}, seen);
  EXPECT_EQ(s.values().at("id"), "z");
  EXPECT_TRUE(s.seen(99));
  EXPECT_FALSE(s.seen(35));
  EXPECT_EQ(s.seen_oldest_first().front(), 100 - ResumeState::kSeenCapacity);
  s.count_duplicate();
  s.forget();
  EXPECT_TRUE(s.values().empty());
  EXPECT_FALSE(s.seen(99));
  EXPECT_EQ(s.duplicates(), 1u);
}

}  // namespace
}  // namespace wsheart::resume
