// The ordered outbox: every outgoing signal passes through it, in order.
// While sd-bus can write, a signal is handed to it at once; once sd-bus has
// output queued (POLLOUT) further signals wait here and are fed in as the
// socket drains (drain(), from the loop). This keeps sd-bus's own write queue
// at about one message: that queue is an array whose head is removed with a
// memmove of the whole array, quadratic under a burst. The outbox is bounded
// (kOutboxLimit); beyond it a message is dropped and counted, never blocked on.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "bus/sd_message.hpp"

namespace wsheart::bus {

// Signals waiting for the socket (about 30 MiB of small messages at most).
inline constexpr std::size_t kOutboxLimit = 65536;

class Outbox {
 public:
  // `dropped(id)` is told of every message of a user that could not be sent.
  explicit Outbox(std::function<void(const std::string& id)> dropped) : dropped_(std::move(dropped)) {}

  // The connection to write to; set once, before the first enqueue().
  void attach(sd_bus* bus) { bus_ = bus; }

  // Sends `signal` now if nothing waits and sd-bus's queue is empty, else
  // queues it (or drops it when full). `user`: whose message it is, counted
  // as dropped if it cannot be sent; null for anything else. The caller
  // pumps the loop afterwards (a partial write leaves output queued).
  void enqueue(MessagePtr signal, const std::shared_ptr<const std::string>& user);
  // Feeds queued signals to sd-bus while it has no output pending. Throws
  // sdbus::Error when the connection is broken.
  void drain();
  // Drops everything queued, counting the users' messages.
  void drop_all();
  // Forgets everything queued without counting (destruction).
  void clear() { queue_.clear(); }

  std::size_t size() const { return queue_.size(); }
  bool empty() const { return queue_.empty(); }

 private:
  struct Outgoing {
    MessagePtr signal;
    std::shared_ptr<const std::string> user;  // counted as dropped if it cannot be sent; null: not a message
  };

  bool sd_bus_has_output() const;

  std::function<void(const std::string& id)> dropped_;
  sd_bus* bus_ = nullptr;
  std::deque<Outgoing> queue_;
};

}  // namespace wsheart::bus
