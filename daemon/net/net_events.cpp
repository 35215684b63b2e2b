#include "net/net_events.hpp"

#include <time.h>

namespace wsheart::net {

using supervisor::Hold;

NetEvents::NetEvents(asio::io_context& io, const Logger& log, Listener& listener)
    : io_(io),
      log_(log),
      listener_(listener),
      detector_(clock_offset()),
      tick_(io),
      sleep_wait_(io),
      bus_(io, log) {
  bus_.on_lost = [this] { bus_lost(); };
}

NetEvents::~NetEvents() {
  alive_.reset();
  tick_.cancel();
  sleep_wait_.cancel();
}

supervisor::WakeDetector::Offset NetEvents::clock_offset() {
  timespec boot{};
  timespec mono{};
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  ::clock_gettime(CLOCK_MONOTONIC, &mono);
  const auto ns = [](const timespec& t) {
    return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
  };
  return ns(boot) - ns(mono);
}

void NetEvents::start(const NetOptions& options) {
  options_ = options;
  arm_tick();
  std::string error;
  if (!bus_.open(error)) {
    log_.info("no system bus (", error, "): sleep is noticed by the clock only, network changes not at all");
    return;
  }
  login_.emplace(bus_, log_, [this](bool going_to_sleep) { prepare_for_sleep(going_to_sleep); });
  login_->subscribe();
  if (options_.close_on_sleep) login_->take_inhibitor();
  if (options_.watch_network) {
    network_.emplace(bus_, log_, [this](NetworkWatch::Change change) { network_changed(change); });
    network_->start([this](bool offline) {
      if (offline) set_offline(true, "");
    });
  }
}

void NetEvents::reconfigure(const NetOptions& options) {
  if (options == options_) return;
  const NetOptions before = options_;
  options_ = options;
  if (login_ && options.close_on_sleep && !before.close_on_sleep) login_->take_inhibitor();
  if (login_ && !options.close_on_sleep && before.close_on_sleep) login_->release_inhibitor();
  if (!options.watch_network && network_) {
    network_.reset();
    if (offline_) set_offline(false, "network_change");
  } else if (options.watch_network && !network_ && bus_.is_open()) {
    network_.emplace(bus_, log_, [this](NetworkWatch::Change change) { network_changed(change); });
    network_->start([this](bool offline) {
      if (offline) set_offline(true, "");
    });
  }
}

void NetEvents::arm_tick() {
  tick_.expires_after(kTick);
  std::weak_ptr<int> alive = alive_;
  tick_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || alive.expired()) return;
    if (detector_.tick(std::chrono::steady_clock::now(), clock_offset())) {
      log_.notice("the machine slept (CLOCK_BOOTTIME ran ahead of CLOCK_MONOTONIC): probing connections");
      asleep_ = false;
      listener_.woke("resume");
    }
    arm_tick();
  });
}

void NetEvents::prepare_for_sleep(bool going_to_sleep) {
  if (going_to_sleep) {
    detector_.sleeping();
    if (!options_.close_on_sleep) return;
    log_.notice("going to sleep: closing connections");
    asleep_ = true;
    listener_.hold_all(Hold::Asleep, true);
    // A state store, once there is one, is flushed here, before the inhibitor goes.
    wait_closed_then_sleep(std::chrono::steady_clock::now() + kSleepCloseLimit);
    return;
  }
  sleep_wait_.cancel();
  if (detector_.logind_woke(std::chrono::steady_clock::now(), clock_offset())) {
    log_.notice("woke up (logind): probing connections");
    asleep_ = false;
    listener_.woke("resume");
  } else if (asleep_) {
    asleep_ = false;
    listener_.release_all(Hold::Asleep, "resume");
  }
  if (options_.close_on_sleep && login_) login_->take_inhibitor();
}

// Polls (every 20 ms, only while going to sleep) until every close handshake
// has finished or the limit passed, then lets the machine sleep.
void NetEvents::wait_closed_then_sleep(std::chrono::steady_clock::time_point limit) {
  if (!listener_.any_connection() || std::chrono::steady_clock::now() >= limit) {
    if (login_) login_->release_inhibitor();
    return;
  }
  sleep_wait_.expires_after(std::chrono::milliseconds(20));
  std::weak_ptr<int> alive = alive_;
  sleep_wait_.async_wait([this, alive, limit](const asio::error_code& ec) {
    if (ec || alive.expired()) return;
    wait_closed_then_sleep(limit);
  });
}

void NetEvents::network_changed(NetworkWatch::Change change) {
  switch (change) {
    case NetworkWatch::Change::Offline: set_offline(true, ""); return;
    case NetworkWatch::Change::Online: set_offline(false, "network_change"); return;
    case NetworkWatch::Change::Changed:
      log_.notice("the primary network connection changed: probing connections");
      listener_.woke("network_change");
      return;
  }
}

void NetEvents::set_offline(bool offline, std::string_view reason) {
  if (offline == offline_) return;
  offline_ = offline;
  if (offline) {
    log_.notice("the network is offline: no connection attempts until it is back");
    listener_.hold_all(Hold::Offline, false);
  } else {
    log_.notice("the network is back: probing connections");
    listener_.release_all(Hold::Offline, reason);
  }
}

void NetEvents::bus_lost() {
  // Without the bus nobody would lift these holds.
  network_.reset();
  login_.reset();
  if (offline_) set_offline(false, "network_change");
  if (asleep_) {
    asleep_ = false;
    listener_.release_all(Hold::Asleep, "resume");
  }
}

}  // namespace wsheart::net
