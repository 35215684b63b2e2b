// A second, signal-only connection to the system bus (logind, NetworkManager,
// systemd-networkd), driven by the daemon's asio loop on its own thread. It
// owns no name and needs no privileges; the --system instance opens it too,
// so that the org.wsheartd1 connection stays what it is.
//
// Raw sd-bus: a handful of matches and asynchronous calls do not need
// sdbus-c++'s object model. Every call is asynchronous: nothing blocks the loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

#include "log/log.hpp"

struct sd_bus;

namespace wsheart::net {

class SystemBus {
 public:
  SystemBus(asio::io_context& io, const Logger& log);
  ~SystemBus();
  SystemBus(const SystemBus&) = delete;
  SystemBus& operator=(const SystemBus&) = delete;

  // Connects (honouring DBUS_SYSTEM_BUS_ADDRESS). On failure: false, and
  // `error` says why; the daemon then runs without the bus's events.
  bool open(std::string& error);
  bool is_open() const { return bus_ != nullptr; }
  sd_bus* get() const { return bus_; }
  // Process and flush on the next loop turn (after queueing a call).
  void schedule();
  // Called once, from the loop, if the connection breaks; the watchers'
  // state is then unknown.
  std::function<void()> on_lost;

 private:
  void pump();
  void arm();
  void set_timer(std::uint64_t deadline_usec);
  void lost(const std::string& why);

  asio::io_context& io_;
  const Logger& log_;
  sd_bus* bus_ = nullptr;
  asio::posix::stream_descriptor descriptor_;
  asio::steady_timer timer_;
  std::uint64_t timer_deadline_ = UINT64_MAX;
  bool read_armed_ = false;
  bool write_armed_ = false;
  bool posted_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace wsheart::net
