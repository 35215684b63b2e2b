#include "notify.hpp"

#include <systemd/sd-daemon.h>

#include <ctime>
#include <string>

namespace wsheart {

namespace {
// systemd 253+ wants MONOTONIC_USEC with RELOADING=1; older ones ignore it.
std::string monotonic_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<long long>(ts.tv_sec) * 1000000LL + ts.tv_nsec / 1000;
  return std::to_string(usec);
}
}  // namespace

Notifier::Notifier(asio::io_context& io) : watchdog_timer_(io) {}

void Notifier::ready() { sd_notify(0, "READY=1"); }

void Notifier::reloading() { sd_notify(0, ("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec()).c_str()); }

void Notifier::stopping() {
  watchdog_timer_.cancel();
  sd_notify(0, "STOPPING=1");
}

void Notifier::status(const std::string& text) {
  if (text == last_status_) return;
  last_status_ = text;
  sd_notify(0, ("STATUS=" + text).c_str());
}

void Notifier::start_watchdog() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  watchdog_interval_ = std::chrono::microseconds(usec / 2);
  sd_notify(0, "WATCHDOG=1");
  schedule_watchdog();
}

void Notifier::schedule_watchdog() {
  watchdog_timer_.expires_after(watchdog_interval_);
  watchdog_timer_.async_wait([this](const std::error_code& ec) {
    if (ec) return;
    sd_notify(0, "WATCHDOG=1");
    schedule_watchdog();
  });
}

}  // namespace wsheart
