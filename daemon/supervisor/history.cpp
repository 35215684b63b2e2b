#include "supervisor/history.hpp"

namespace wsheart::supervisor {

void HistoryRing::push(Message message) {
  last_seq_ = message.seq;
  if (capacity_ == 0) return;
  if (items_.size() == capacity_) items_.pop_front();
  items_.push_back(std::move(message));
}

void HistoryRing::set_capacity(std::size_t capacity) {
  capacity_ = capacity;
  while (items_.size() > capacity_) items_.pop_front();
}

std::vector<const Message*> HistoryRing::since(std::uint64_t since_seq) const {
  std::vector<const Message*> out;
  if (items_.empty() || since_seq >= last_seq_) return out;
  // Entries hold consecutive seqs, so the first wanted one is found by offset.
  const std::uint64_t first = items_.front().seq;
  const std::uint64_t skip = since_seq >= first ? since_seq - first + 1 : 0;
  out.reserve(items_.size() - static_cast<std::size_t>(skip));
  for (auto it = items_.begin() + static_cast<std::ptrdiff_t>(skip); it != items_.end(); ++it) out.push_back(&*it);
  return out;
}

}  // namespace wsheart::supervisor
