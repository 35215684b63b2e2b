#include "bus/outbox.hpp"

#include <poll.h>

#include "bus/bus_service.hpp"

namespace wsheart::bus {

bool Outbox::sd_bus_has_output() const {
  // Asked per message: the raw bus directly, not getEventLoopPollData() (which
  // also computes the fd and the timeout under sdbus-c++'s mutex).
  const int events = sd_bus_get_events(bus_);
  if (events < 0) throw sdbus::createError(-events, "Failed to get the bus events");
  return (events & POLLOUT) != 0;
}

bool Outbox::can_send_now() const {
  if (!queue_.empty()) return false;
  try {
    return !sd_bus_has_output();
  } catch (const sdbus::Error&) {  // the pump will notice a broken connection
    return false;
  }
}

void Outbox::push(Outgoing outgoing) {
  bytes_ += outgoing.cost;
  queue_.push_back(std::move(outgoing));
}

void Outbox::dropped(const MessageOwnerPtr& owner) {
  if (owner && owner->source != nullptr) owner->source->bus_dropped();
}

void Outbox::enqueue(MessagePtr signal, const MessageOwnerPtr& owner, std::size_t payload) {
  if (can_send_now()) {
    if (sd_bus_send(bus_, signal.get(), nullptr) < 0) dropped(owner);
    return;
  }
  const std::size_t cost = payload + kSignalOverhead;
  if (queue_.size() >= kOutboxLimit || bytes_ + cost > max_bytes_) {
    dropped(owner);
    return;
  }
  push(Outgoing{std::move(signal), {}, owner, cost});
}

void Outbox::enqueue_always(MessagePtr message) {
  if (can_send_now()) {
    sd_bus_send(bus_, message.get(), nullptr);
    return;
  }
  push(Outgoing{std::move(message), {}, nullptr, kSignalOverhead});
}

void Outbox::run_in_order(std::function<void()> send) {
  if (can_send_now()) {
    send();
    return;
  }
  push(Outgoing{nullptr, std::move(send), nullptr, kSignalOverhead});
}

void Outbox::drain() {
  while (!queue_.empty() && !sd_bus_has_output()) {
    Outgoing next = std::move(queue_.front());
    queue_.pop_front();
    bytes_ -= next.cost;
    if (next.signal) {
      if (sd_bus_send(bus_, next.signal.get(), nullptr) < 0) dropped(next.owner);
    } else {
      next.send();
    }
  }
}

void Outbox::drop_all() {
  for (const auto& o : queue_) dropped(o.owner);
  clear();
}

}  // namespace wsheart::bus
