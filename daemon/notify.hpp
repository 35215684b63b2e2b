// sd_notify for Type=notify: READY=1, RELOADING=1, STOPPING=1, STATUS= and a
// watchdog driven by a timer on the daemon's own loop (a wedged loop stops it).
#pragma once

#include <chrono>
#include <string>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

namespace wsheart {

class Notifier {
 public:
  explicit Notifier(asio::io_context& io);
  void ready();
  void reloading();
  void stopping();
  void status(const std::string& text);  // sent only when it changed
  // Starts WATCHDOG=1 pings at half of WATCHDOG_USEC, if the manager asked for them.
  void start_watchdog();
  bool watchdog_enabled() const { return watchdog_interval_.count() > 0; }

 private:
  void schedule_watchdog();
  asio::steady_timer watchdog_timer_;
  std::chrono::microseconds watchdog_interval_{0};
  std::string last_status_;
};

}  // namespace wsheart
