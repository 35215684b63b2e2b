// Per-user ring of republished messages, for RecentMessages.
// A vector used as a circular buffer: it allocates nothing until the first
// message and grows only up to the capacity (a std::deque allocates ~600 B
// per user up front, which matters at 10,000 users).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wsheart::supervisor {

struct Message {
  std::uint64_t seq = 0;        // 1, 2, 3 ... per user for the daemon's lifetime
  std::uint64_t wall_usec = 0;  // CLOCK_REALTIME µs when received
  bool binary = false;
  std::string data;             // UTF-8 text, or raw bytes when binary
};

class HistoryRing {
 public:
  explicit HistoryRing(std::size_t capacity) : capacity_(capacity) {}

  void push(Message message);
  void set_capacity(std::size_t capacity);  // drops the oldest beyond it
  std::size_t capacity() const { return capacity_; }
  std::size_t size() const { return items_.size(); }
  // Entries with seq > since, oldest first.
  std::vector<const Message*> since(std::uint64_t since_seq) const;
  std::uint64_t last_seq() const { return last_seq_; }
  std::uint64_t next_seq() const { return last_seq_ + 1; }
  // The next message gets last_seq + 1, if that is later than now. Only
  // while empty: entries hold consecutive seqs.
  void continue_after(std::uint64_t last_seq) {
    if (items_.empty() && last_seq > last_seq_) last_seq_ = last_seq;
  }

 private:
  std::size_t capacity_;
  std::uint64_t last_seq_ = 0;
  std::vector<Message> items_;
  std::size_t head_ = 0;  // index of the oldest entry once the ring is full
};

}  // namespace wsheart::supervisor
