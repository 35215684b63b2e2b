// The glue that lets the daemon's asio loop drive an sd-bus connection on the
// same thread.
//
// sdbus-c++ 1.2 exposes sd-bus's poll data (IConnection::getEventLoopPollData:
// fd, poll events, and an ABSOLUTE CLOCK_MONOTONIC deadline in µs, UINT64_MAX
// = none, 0 = "process now", e.g. when a synchronous call left messages in the
// read queue). We wait on a dup() of the fd with asio (read always, write only
// while sd-bus has queued output), arm a steady_timer for the deadline, and on
// any wake-up call processPendingRequest() until it returns false (sd-bus has
// then read the socket to EAGAIN, which is what asio's edge-triggered epoll
// needs) and re-arm. Work that may leave output queued or input buffered
// outside that cycle (signals emitted from WebSocket events, synchronous calls
// such as RequestName) asks for one "pump" per loop turn (schedule_pump()).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

namespace sdbus {
class IConnection;
}

namespace wsheart::bus {

class BusLoop {
 public:
  // `after_pump` runs after every processing cycle (the outbox drains there);
  // `on_lost(why)` runs once, when the connection breaks (see fail()).
  BusLoop(asio::io_context& io, sdbus::IConnection& connection, std::function<void()> after_pump,
          std::function<void(const std::string& why)> on_lost);
  ~BusLoop();
  BusLoop(const BusLoop&) = delete;
  BusLoop& operator=(const BusLoop&) = delete;

  // Starts watching the connection's fd. Throws BusUnavailable.
  void start();
  // Stops watching; no handler of this loop runs afterwards.
  void stop();

  // One processing cycle on the next loop turn (at most one queued).
  void schedule_pump();
  // Re-arms the fd waits and the timer from sd-bus's current poll data.
  void arm();
  // The connection is broken: stop watching and report it (once).
  void fail(const std::string& why);

  bool broken() const { return broken_; }
  // True while sd-bus is dispatching (a bus callback is running): sd-bus
  // cannot process re-entrantly.
  bool in_pump() const { return in_pump_; }

 private:
  void pump();
  void set_timer(std::uint64_t deadline_usec);

  asio::io_context& io_;
  sdbus::IConnection& connection_;
  std::function<void()> after_pump_;
  std::function<void(const std::string& why)> on_lost_;
  // Handlers posted to the loop hold a weak_ptr to this token and do nothing
  // once it is gone.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  asio::posix::stream_descriptor descriptor_;
  asio::steady_timer timer_;
  std::uint64_t timer_deadline_;
  bool read_armed_ = false;
  bool write_armed_ = false;
  bool pump_posted_ = false;
  bool in_pump_ = false;
  bool broken_ = false;
};

}  // namespace wsheart::bus
