// Daemon-wide cap on handshakes in flight ([daemon] max_handshakes), so one
// restarted server is not hit by every user at once. Pure bookkeeping: FIFO
// of waiting tokens, no I/O.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

namespace wsheart {

class HandshakeLimiter {
 public:
  using Token = std::uint64_t;

  explicit HandshakeLimiter(unsigned capacity) : capacity_(capacity) {}

  // True: the slot is taken now. False: queued; it is handed out by a later
  // release() (in request order).
  bool request(Token token);
  // Gives a slot back. Hand freed slots to waiters with grant_next().
  void release();
  // Forget a queued request (the attempt was aborted before its turn).
  void cancel(Token token);
  // New capacity; a larger one may let waiters start (grant_next()).
  void set_capacity(unsigned capacity) { capacity_ = capacity; }
  // The next waiter, now holding a slot, if a slot is free and someone waits.
  std::optional<Token> grant_next();

  unsigned in_flight() const { return in_flight_; }
  unsigned peak() const { return peak_; }
  std::size_t waiting() const { return waiting_.size(); }
  unsigned capacity() const { return capacity_; }

 private:
  unsigned capacity_;
  unsigned in_flight_ = 0;
  unsigned peak_ = 0;
  std::deque<Token> waiting_;
};

}  // namespace wsheart
