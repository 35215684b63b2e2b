#include "net/login_watch.hpp"

#include <fcntl.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cstring>

namespace wsheart::net {

namespace {
constexpr const char* kLogin1 = "org.freedesktop.login1";
constexpr const char* kLogin1Path = "/org/freedesktop/login1";
constexpr const char* kLogin1Manager = "org.freedesktop.login1.Manager";
}  // namespace

LoginWatch::LoginWatch(SystemBus& bus, const Logger& log, std::function<void(bool)> on_prepare)
    : bus_(bus), log_(log), on_prepare_(std::move(on_prepare)) {}

LoginWatch::~LoginWatch() {
  sd_bus_slot_unref(match_);
  sd_bus_slot_unref(inhibit_call_);
  release_inhibitor();
}

bool LoginWatch::subscribe() {
  if (!bus_.is_open() || match_ != nullptr) return match_ != nullptr;
  const int r = sd_bus_match_signal_async(bus_.get(), &match_, kLogin1, kLogin1Path, kLogin1Manager, "PrepareForSleep",
                                          &LoginWatch::on_signal, &LoginWatch::on_installed, this);
  if (r < 0) {
    log_.warning("cannot watch logind's PrepareForSleep: ", std::strerror(-r));
    return false;
  }
  bus_.schedule();
  return true;
}

int LoginWatch::on_installed(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
  auto* self = static_cast<LoginWatch*>(userdata);
  if (const sd_bus_error* e = sd_bus_message_get_error(m)) {
    self->log_.warning("cannot watch logind's PrepareForSleep: ", e->name != nullptr ? e->name : "error");
  } else {
    self->log_.debug("watching logind's PrepareForSleep");
  }
  return 0;
}

int LoginWatch::on_signal(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
  auto* self = static_cast<LoginWatch*>(userdata);
  int going_to_sleep = 0;
  if (sd_bus_message_read(m, "b", &going_to_sleep) < 0) return 0;
  self->on_prepare_(going_to_sleep != 0);
  return 0;
}

void LoginWatch::take_inhibitor() {
  if (!bus_.is_open() || inhibitor_fd_ >= 0 || inhibit_call_ != nullptr) return;
  const int r = sd_bus_call_method_async(bus_.get(), &inhibit_call_, kLogin1, kLogin1Path, kLogin1Manager, "Inhibit",
                                         &LoginWatch::on_inhibit_reply, this, "ssss", "sleep", "wsheartd",
                                         "Closing WebSocket connections before sleep", "delay");
  if (r < 0) {
    log_.warning("cannot ask logind for a sleep inhibitor: ", std::strerror(-r));
    return;
  }
  bus_.schedule();
}

int LoginWatch::on_inhibit_reply(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
  auto* self = static_cast<LoginWatch*>(userdata);
  sd_bus_slot_unref(self->inhibit_call_);
  self->inhibit_call_ = nullptr;
  if (const sd_bus_error* e = sd_bus_message_get_error(m)) {
    self->log_.warning("logind refused a sleep inhibitor (", e->name != nullptr ? e->name : "error",
                       "): connections stay open across sleep");
    return 0;
  }
  int fd = -1;
  if (sd_bus_message_read(m, "h", &fd) < 0 || fd < 0) return 0;
  // The message owns its fd: keep a copy of our own.
  self->inhibitor_fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (self->inhibitor_fd_ >= 0) self->log_.debug("holding a logind sleep delay inhibitor");
  return 0;
}

void LoginWatch::release_inhibitor() {
  if (inhibitor_fd_ < 0) return;
  ::close(inhibitor_fd_);
  inhibitor_fd_ = -1;
  log_.debug("released the logind sleep inhibitor");
}

}  // namespace wsheart::net
