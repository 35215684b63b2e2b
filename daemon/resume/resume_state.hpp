// One user's resume state on the loop thread: its cursor values, a ring of
// the identities of recently republished cursor messages (to drop replays),
// and the duplicate counter. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "resume/extractor.hpp"
#include "resume/render.hpp"

namespace wsheart::resume {

class ResumeState {
 public:
  // Replays after a resume start at the cursor, so they overlap what was
  // seen by at most what arrived since the last state flush: a ring of this
  // many identities covers any realistic overlap and costs 512 bytes a user.
  static constexpr std::size_t kSeenCapacity = 64;

  // FNV-1a 64 over "name\0value\0" of every extracted pair: stable across
  // runs, so identities can be persisted.
  static std::uint64_t identity(const CursorUpdate& update);

  bool seen(std::uint64_t identity) const;
  void count_duplicate() { ++duplicates_; }
  // After the message was republished: the values move, the identity is remembered.
  void advance(const CursorUpdate& update, std::uint64_t identity);
  // `reconnect --fresh` and a changed origin: values and seen identities go.
  void forget();
  void restore(CursorValues values, const std::vector<std::uint64_t>& seen_oldest_first);

  const CursorValues& values() const { return values_; }
  std::vector<std::uint64_t> seen_oldest_first() const;
  std::uint64_t duplicates() const { return duplicates_; }

 private:
  void remember(std::uint64_t identity);

  CursorValues values_;
  std::vector<std::uint64_t> seen_;  // ring; grows to kSeenCapacity
  std::size_t next_ = 0;             // slot overwritten next once full
  std::uint64_t duplicates_ = 0;
};

}  // namespace wsheart::resume
