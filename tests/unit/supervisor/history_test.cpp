#include <gtest/gtest.h>

#include "supervisor/history.hpp"

namespace wsheart::supervisor {
namespace {

Message msg(std::uint64_t seq) { return Message{seq, seq * 10, false, "m" + std::to_string(seq)}; }

std::vector<std::uint64_t> seqs(const std::vector<const Message*>& items) {
  std::vector<std::uint64_t> out;
  for (const auto* m : items) out.push_back(m->seq);
  return out;
}

TEST(HistoryRing, KeepsTheNewestAndWrapsAround) {
  HistoryRing ring(3);
  for (std::uint64_t s = 1; s <= 7; ++s) ring.push(msg(s));
  EXPECT_EQ(ring.size(), 3U);
  EXPECT_EQ(ring.last_seq(), 7U);
  EXPECT_EQ(ring.next_seq(), 8U);
  EXPECT_EQ(seqs(ring.since(0)), (std::vector<std::uint64_t>{5, 6, 7}));
  EXPECT_EQ(seqs(ring.since(5)), (std::vector<std::uint64_t>{6, 7}));
  EXPECT_EQ(seqs(ring.since(7)), (std::vector<std::uint64_t>{}));
  EXPECT_EQ(seqs(ring.since(100)), (std::vector<std::uint64_t>{}));
  EXPECT_EQ(ring.since(6).front()->data, "m7");
}

TEST(HistoryRing, ZeroCapacityStillCountsSeq) {
  HistoryRing ring(0);
  ring.push(msg(1));
  ring.push(msg(2));
  EXPECT_EQ(ring.size(), 0U);
  EXPECT_EQ(ring.next_seq(), 3U);
  EXPECT_TRUE(ring.since(0).empty());
}

TEST(HistoryRing, ShrinkingDropsTheOldest) {
  HistoryRing ring(5);
  for (std::uint64_t s = 1; s <= 5; ++s) ring.push(msg(s));
  ring.set_capacity(2);
  EXPECT_EQ(seqs(ring.since(0)), (std::vector<std::uint64_t>{4, 5}));
  ring.set_capacity(4);
  ring.push(msg(6));
  EXPECT_EQ(seqs(ring.since(0)), (std::vector<std::uint64_t>{4, 5, 6}));
}

TEST(HistoryRing, ResizingAfterWrapKeepsOrder) {
  HistoryRing ring(3);
  for (std::uint64_t s = 1; s <= 5; ++s) ring.push(msg(s));  // wrapped: oldest is not at index 0
  ring.set_capacity(5);
  EXPECT_EQ(seqs(ring.since(0)), (std::vector<std::uint64_t>{3, 4, 5}));
  for (std::uint64_t s = 6; s <= 9; ++s) ring.push(msg(s));
  EXPECT_EQ(seqs(ring.since(0)), (std::vector<std::uint64_t>{5, 6, 7, 8, 9}));
  EXPECT_EQ(seqs(ring.since(7)), (std::vector<std::uint64_t>{8, 9}));
  ring.set_capacity(2);
  EXPECT_EQ(seqs(ring.since(0)), (std::vector<std::uint64_t>{8, 9}));
  ring.push(msg(10));
  EXPECT_EQ(seqs(ring.since(0)), (std::vector<std::uint64_t>{9, 10}));
  EXPECT_EQ(ring.since(9).front()->data, "m10");
}

}  // namespace
}  // namespace wsheart::supervisor
