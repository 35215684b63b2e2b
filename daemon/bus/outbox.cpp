#include "bus/outbox.hpp"

#include <poll.h>

namespace wsheart::bus {

bool Outbox::sd_bus_has_output() const {
  // Asked per message: the raw bus directly, not getEventLoopPollData() (which
  // also computes the fd and the timeout under sdbus-c++'s mutex).
  const int events = sd_bus_get_events(bus_);
  if (events < 0) throw sdbus::createError(-events, "Failed to get the bus events");
  return (events & POLLOUT) != 0;
}

void Outbox::enqueue(MessagePtr signal, const std::shared_ptr<const std::string>& user, std::size_t payload) {
  if (queue_.empty()) {
    bool has_output = true;
    try {
      has_output = sd_bus_has_output();
    } catch (const sdbus::Error&) {  // the pump will notice a broken connection
    }
    if (!has_output) {
      if (sd_bus_send(bus_, signal.get(), nullptr) < 0 && user) dropped_(*user);
      return;
    }
  }
  const std::size_t cost = payload + kSignalOverhead;
  if (queue_.size() >= kOutboxLimit || bytes_ + cost > max_bytes_) {
    if (user) dropped_(*user);
    return;
  }
  queue_.push_back(Outgoing{std::move(signal), user, cost});
  bytes_ += cost;
}

void Outbox::drain() {
  while (!queue_.empty() && !sd_bus_has_output()) {
    Outgoing& next = queue_.front();
    if (sd_bus_send(bus_, next.signal.get(), nullptr) < 0 && next.user) dropped_(*next.user);
    bytes_ -= next.cost;
    queue_.pop_front();
  }
}

void Outbox::drop_all() {
  for (const auto& o : queue_) {
    if (o.user) dropped_(*o.user);
  }
  clear();
}

}  // namespace wsheart::bus
