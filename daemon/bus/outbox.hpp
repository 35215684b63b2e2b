// The ordered outbox: every outgoing signal, the object manager's signals and
// the User methods' replies pass through it, in order.
// While sd-bus can write, a signal is handed to it at once; once sd-bus has
// output queued (POLLOUT) further signals wait here and are fed in as the
// socket drains (drain(), from the loop). This keeps sd-bus's own write queue
// at about one message: that queue is an array whose head is removed with a
// memmove of the whole array, quadratic under a burst. The outbox is bounded
// in count (kOutboxLimit) and in bytes (the [daemon] key bus_queue_size);
// beyond either a message is dropped and counted, never blocked on.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "bus/sd_message.hpp"

namespace wsheart::bus {

class UserSource;

// Whose message a queued signal carries, told when it cannot be sent.
// remove_user detaches it (source = null), so a removed user's messages that
// are dropped later count nowhere.
struct MessageOwner {
  UserSource* source = nullptr;
};
using MessageOwnerPtr = std::shared_ptr<MessageOwner>;

// Signals waiting for the socket, at most (the byte bound usually comes first
// for large messages).
inline constexpr std::size_t kOutboxLimit = 65536;
// What a queued signal costs beyond its payload, roughly: the sd_bus_message
// with its header fields and body part, and our queue entry.
inline constexpr std::size_t kSignalOverhead = 512;

class Outbox {
 public:
  // `max_bytes`: what queued signals may cost together (payload +
  // kSignalOverhead each).
  explicit Outbox(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // The connection to write to; set once, before the first enqueue().
  void attach(sd_bus* bus) { bus_ = bus; }
  // A new byte bound (reload); what is queued stays.
  void set_max_bytes(std::size_t max_bytes) { max_bytes_ = max_bytes; }

  // Sends `signal` now if nothing waits and sd-bus's queue is empty, else
  // queues it (or drops it when full). `owner`: whose message it is, told
  // if it cannot be sent; null for anything else. `payload`: its
  // size in bytes (the text or data it carries). The caller pumps the loop
  // afterwards (a partial write leaves output queued).
  void enqueue(MessagePtr signal, const MessageOwnerPtr& owner, std::size_t payload);
  // Like enqueue(), but never dropped for lack of room: method replies and
  // InterfacesRemoved, small and few, which must not overtake what is queued.
  void enqueue_always(MessagePtr message);
  // Runs `send` now if nothing waits and sd-bus's queue is empty, else when
  // the queue reaches it: for what sd-bus builds only as it sends
  // (InterfacesAdded, from the object's current properties). Never dropped
  // for lack of room; discarded by drop_all().
  void run_in_order(std::function<void()> send);
  // Feeds queued signals to sd-bus while it has no output pending. Throws
  // sdbus::Error when the connection is broken.
  void drain();
  // Drops everything queued, counting the users' messages.
  void drop_all();
  // Forgets everything queued without counting (destruction).
  void clear() {
    queue_.clear();
    bytes_ = 0;
  }

  std::size_t size() const { return queue_.size(); }
  std::size_t bytes() const { return bytes_; }
  bool empty() const { return queue_.empty(); }

 private:
  struct Outgoing {
    MessagePtr signal;                        // null: `send` instead
    std::function<void()> send;
    MessageOwnerPtr owner;  // told if it cannot be sent; null: not a message
    std::size_t cost;
  };

  bool sd_bus_has_output() const;
  // True when nothing waits and sd-bus could take a message now.
  bool can_send_now() const;
  void push(Outgoing outgoing);
  static void dropped(const MessageOwnerPtr& owner);

  std::size_t max_bytes_;
  sd_bus* bus_ = nullptr;
  std::deque<Outgoing> queue_;
  std::size_t bytes_ = 0;  // sum of the queued signals' cost
};

}  // namespace wsheart::bus
