// The loop glue follows daemon/bus/bus_service.cpp: wait on a dup() of the
// bus fd with asio (read always, write while sd-bus has output queued), a
// steady_timer for sd_bus_get_timeout (absolute CLOCK_MONOTONIC µs, the clock
// of std::chrono::steady_clock on Linux), and sd_bus_process until it has
// nothing left to do, which reads the socket to EAGAIN as edge-triggered
// epoll needs.
#include "net/system_bus.hpp"

#include <fcntl.h>
#include <poll.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace wsheart::net {

SystemBus::SystemBus(asio::io_context& io, const Logger& log)
    : io_(io), log_(log), descriptor_(io), timer_(io) {}

SystemBus::~SystemBus() {
  alive_.reset();
  asio::error_code ignored;
  descriptor_.close(ignored);
  if (bus_ != nullptr) sd_bus_flush_close_unref(bus_);
}

bool SystemBus::open(std::string& error) {
  sd_bus* bus = nullptr;
  int r = sd_bus_open_system_with_description(&bus, "wsheartd-events");
  if (r < 0) {
    error = std::strerror(-r);
    return false;
  }
  const int copy = ::fcntl(sd_bus_get_fd(bus), F_DUPFD_CLOEXEC, 3);
  if (copy < 0) {
    error = std::string("cannot duplicate the bus fd: ") + std::strerror(errno);
    sd_bus_flush_close_unref(bus);
    return false;
  }
  asio::error_code ec;
  descriptor_.assign(copy, ec);
  if (ec) {
    ::close(copy);
    sd_bus_flush_close_unref(bus);
    error = "cannot watch the bus fd: " + ec.message();
    return false;
  }
  bus_ = bus;
  schedule();
  return true;
}

void SystemBus::schedule() {
  if (posted_ || bus_ == nullptr) return;
  posted_ = true;
  std::weak_ptr<int> alive = alive_;
  asio::post(io_, [this, alive] {
    if (alive.expired()) return;
    posted_ = false;
    pump();
  });
}

void SystemBus::pump() {
  if (bus_ == nullptr) return;
  for (;;) {
    const int r = sd_bus_process(bus_, nullptr);
    if (r < 0) {
      lost(std::strerror(-r));
      return;
    }
    if (r == 0) break;
  }
  arm();
}

void SystemBus::arm() {
  if (bus_ == nullptr) return;
  const int events = sd_bus_get_events(bus_);
  std::uint64_t deadline = UINT64_MAX;
  if (events < 0 || sd_bus_get_timeout(bus_, &deadline) < 0) {
    lost("the connection broke");
    return;
  }
  std::weak_ptr<int> alive = alive_;
  auto on_ready = [this, alive](bool& armed) {
    return [this, alive, &armed](const asio::error_code& ec) {
      if (alive.expired()) return;
      armed = false;
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        lost("waiting on the bus fd: " + ec.message());
        return;
      }
      pump();
    };
  };
  if ((events & POLLIN) != 0 && !read_armed_) {
    read_armed_ = true;
    descriptor_.async_wait(asio::posix::stream_descriptor::wait_read, on_ready(read_armed_));
  }
  if ((events & POLLOUT) != 0 && !write_armed_) {
    write_armed_ = true;
    descriptor_.async_wait(asio::posix::stream_descriptor::wait_write, on_ready(write_armed_));
  }
  set_timer(deadline);
}

void SystemBus::set_timer(std::uint64_t deadline_usec) {
  if (deadline_usec == timer_deadline_) return;
  timer_deadline_ = deadline_usec;
  timer_.cancel();
  if (deadline_usec == UINT64_MAX) return;
  using std::chrono::microseconds;
  using std::chrono::steady_clock;
  timer_.expires_at(steady_clock::time_point(
      std::chrono::duration_cast<steady_clock::duration>(microseconds(static_cast<microseconds::rep>(deadline_usec)))));
  std::weak_ptr<int> alive = alive_;
  timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (alive.expired() || ec == asio::error::operation_aborted) return;
    timer_deadline_ = UINT64_MAX;
    pump();
  });
}

// Losing this connection costs the sleep and network events, not the
// service: the clock-gap check still notices wakes.
void SystemBus::lost(const std::string& why) {
  log_.warning("system bus connection for sleep and network events lost (", why,
               "): waking is detected by the clock from now on");
  asio::error_code ignored;
  descriptor_.close(ignored);
  timer_.cancel();
  sd_bus_flush_close_unref(bus_);
  bus_ = nullptr;
  if (on_lost) on_lost();
}

}  // namespace wsheart::net
