// Sleep, wake and network events for the daemon: one "wake" from logind's
// PrepareForSleep(false) or a clock gap (supervisor/wake.hpp), the sleep
// inhibitor of on_sleep = "close", and NetworkManager/networkd's offline,
// online and primary-connection changes. It decides WHAT happened; the
// daemon (a Listener) applies it to every user's supervisor.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "log/log.hpp"
#include "net/login_watch.hpp"
#include "net/network_watch.hpp"
#include "net/system_bus.hpp"
#include "supervisor/supervisor.hpp"
#include "supervisor/wake.hpp"

namespace wsheart::net {

struct NetOptions {
  bool close_on_sleep = false;  // [daemon] on_sleep = "close"
  bool watch_network = true;    // [daemon] network_watch = "auto"
  bool operator==(const NetOptions& o) const {
    return close_on_sleep == o.close_on_sleep && watch_network == o.watch_network;
  }
};

class Listener {
 public:
  virtual ~Listener() = default;
  // The machine woke up ("resume": also ends the sleep hold) or the network
  // changed ("network_change").
  virtual void woke(std::string_view reason) = 0;
  virtual void hold_all(supervisor::Hold why, bool close_open) = 0;
  virtual void release_all(supervisor::Hold why, std::string_view reason) = 0;
  // Some connection still exists (closing before sleep).
  virtual bool any_connection() const = 0;
};

class NetEvents {
 public:
  // How often the clock gap is checked, and how long the close before sleep
  // may hold the machine up at most.
  static constexpr std::chrono::seconds kTick{1};
  static constexpr std::chrono::seconds kSleepCloseLimit{3};

  NetEvents(asio::io_context& io, const Logger& log, Listener& listener);
  ~NetEvents();
  NetEvents(const NetEvents&) = delete;
  NetEvents& operator=(const NetEvents&) = delete;

  void start(const NetOptions& options);
  void reconfigure(const NetOptions& options);
  // The holds in force, for users added while they are.
  bool offline() const { return offline_; }
  bool asleep() const { return asleep_; }

 private:
  static supervisor::WakeDetector::Offset clock_offset();
  void arm_tick();
  void prepare_for_sleep(bool going_to_sleep);
  void wait_closed_then_sleep(std::chrono::steady_clock::time_point limit);
  void network_changed(NetworkWatch::Change change);
  void set_offline(bool offline, std::string_view reason);
  void bus_lost();

  asio::io_context& io_;
  const Logger& log_;
  Listener& listener_;
  NetOptions options_;
  supervisor::WakeDetector detector_;
  asio::steady_timer tick_;
  asio::steady_timer sleep_wait_;
  SystemBus bus_;
  std::optional<LoginWatch> login_;
  std::optional<NetworkWatch> network_;
  bool offline_ = false;
  bool asleep_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace wsheart::net
