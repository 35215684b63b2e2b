// logind on the system bus: PrepareForSleep(true/false), and a "delay"
// inhibitor for sleep that lets the daemon close its connections (1001)
// before the machine goes down (on_sleep = "close").
#pragma once

#include <systemd/sd-bus.h>

#include <functional>

#include "log/log.hpp"
#include "net/system_bus.hpp"

namespace wsheart::net {

class LoginWatch {
 public:
  // `on_prepare(true)`: the machine is about to sleep; `false`: it woke up.
  LoginWatch(SystemBus& bus, const Logger& log, std::function<void(bool going_to_sleep)> on_prepare);
  ~LoginWatch();
  LoginWatch(const LoginWatch&) = delete;
  LoginWatch& operator=(const LoginWatch&) = delete;

  bool subscribe();  // false: the match could not be queued (logged)
  // Asks logind for a sleep delay inhibitor (asynchronously); idempotent.
  void take_inhibitor();
  // Lets the machine sleep: closes the inhibitor fd.
  void release_inhibitor();
  bool holds_inhibitor() const { return inhibitor_fd_ >= 0; }

 private:
  static int on_installed(sd_bus_message* m, void* userdata, sd_bus_error* error);
  static int on_signal(sd_bus_message* m, void* userdata, sd_bus_error* error);
  static int on_inhibit_reply(sd_bus_message* m, void* userdata, sd_bus_error* error);

  SystemBus& bus_;
  const Logger& log_;
  std::function<void(bool)> on_prepare_;
  sd_bus_slot* match_ = nullptr;
  sd_bus_slot* inhibit_call_ = nullptr;
  int inhibitor_fd_ = -1;
};

}  // namespace wsheart::net
