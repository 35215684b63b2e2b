#include "supervisor/history.hpp"

#include <utility>

namespace wsheart::supervisor {

void HistoryRing::push(Message message) {
  last_seq_ = message.seq;
  if (capacity_ == 0) return;
  if (items_.size() < capacity_) {
    items_.push_back(std::move(message));
    return;
  }
  items_[head_] = std::move(message);  // overwrite the oldest
  head_ = (head_ + 1) % items_.size();
}

void HistoryRing::set_capacity(std::size_t capacity) {
  capacity_ = capacity;
  // Unroll into oldest-first order, keep the newest `capacity`.
  std::vector<Message> kept;
  const std::size_t n = items_.size();
  const std::size_t keep = n < capacity ? n : capacity;
  kept.reserve(keep);
  for (std::size_t i = n - keep; i < n; ++i) kept.push_back(std::move(items_[(head_ + i) % n]));
  items_ = std::move(kept);
  head_ = 0;
}

std::vector<const Message*> HistoryRing::since(std::uint64_t since_seq) const {
  std::vector<const Message*> out;
  const std::size_t n = items_.size();
  if (n == 0 || since_seq >= last_seq_) return out;
  // Entries hold consecutive seqs, so the first wanted one is found by offset.
  const std::uint64_t first = items_[head_].seq;
  const std::size_t skip = since_seq >= first ? since_seq - first + 1 : 0;  // <= n: seqs are consecutive
  out.reserve(n - skip);
  for (std::size_t i = skip; i < n; ++i) out.push_back(&items_[(head_ + i) % n]);
  return out;
}

}  // namespace wsheart::supervisor
