#include "handshake_limiter.hpp"

#include <algorithm>

namespace wsheart {

bool HandshakeLimiter::request(Token token) {
  if (in_flight_ < capacity_ && waiting_.empty()) {
    ++in_flight_;
    peak_ = std::max(peak_, in_flight_);
    return true;
  }
  waiting_.push_back(token);
  return false;
}

void HandshakeLimiter::release() {
  if (in_flight_ > 0) --in_flight_;
}

std::optional<HandshakeLimiter::Token> HandshakeLimiter::grant_next() {
  if (waiting_.empty() || in_flight_ >= capacity_) return std::nullopt;
  const Token next = waiting_.front();
  waiting_.pop_front();
  ++in_flight_;
  peak_ = std::max(peak_, in_flight_);
  return next;
}

void HandshakeLimiter::cancel(Token token) {
  auto it = std::find(waiting_.begin(), waiting_.end(), token);
  if (it != waiting_.end()) waiting_.erase(it);
}

}  // namespace wsheart
