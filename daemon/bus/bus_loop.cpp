#include "bus/bus_loop.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <asio/post.hpp>
#include <sdbus-c++/Error.h>
#include <sdbus-c++/IConnection.h>

#include "bus/bus_service.hpp"

namespace wsheart::bus {

namespace {
constexpr std::uint64_t kNoTimeout = UINT64_MAX;
}

BusLoop::BusLoop(asio::io_context& io, sdbus::IConnection& connection, std::function<void()> after_pump,
                 std::function<void(const std::string& why)> on_lost)
    : io_(io),
      connection_(connection),
      after_pump_(std::move(after_pump)),
      on_lost_(std::move(on_lost)),
      descriptor_(io),
      timer_(io),
      timer_deadline_(kNoTimeout) {}

BusLoop::~BusLoop() { stop(); }

void BusLoop::start() {
  int fd = connection_.getEventLoopPollData().fd;
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw BusUnavailable(std::string("cannot duplicate the bus fd: ") + std::strerror(errno));
  asio::error_code ec;
  descriptor_.assign(copy, ec);
  if (ec) {
    ::close(copy);
    throw BusUnavailable("cannot watch the bus fd: " + ec.message());
  }
  // Synchronous calls made before (AddMatch) may have buffered messages:
  // process them on the first loop turn.
  schedule_pump();
}

void BusLoop::stop() {
  alive_.reset();
  asio::error_code ignored;
  timer_.cancel();
  descriptor_.close(ignored);
}

void BusLoop::pump() {
  if (broken_ || in_pump_) return;
  in_pump_ = true;
  try {
    while (connection_.processPendingRequest()) {
    }
  } catch (const sdbus::Error& e) {
    in_pump_ = false;
    fail(e.getMessage());
    return;
  }
  in_pump_ = false;
  after_pump_();
  arm();
}

void BusLoop::arm() {
  if (broken_) return;
  sdbus::IConnection::PollData poll_data{};
  try {
    poll_data = connection_.getEventLoopPollData();
  } catch (const sdbus::Error& e) {
    fail(e.getMessage());
    return;
  }
  std::weak_ptr<int> alive = alive_;
  if ((poll_data.events & POLLIN) != 0 && !read_armed_) {
    read_armed_ = true;
    descriptor_.async_wait(asio::posix::stream_descriptor::wait_read, [this, alive](const asio::error_code& ec) {
      if (alive.expired()) return;
      read_armed_ = false;
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        fail("waiting on the bus fd: " + ec.message());
        return;
      }
      pump();
    });
  }
  if ((poll_data.events & POLLOUT) != 0 && !write_armed_) {
    write_armed_ = true;
    descriptor_.async_wait(asio::posix::stream_descriptor::wait_write, [this, alive](const asio::error_code& ec) {
      if (alive.expired()) return;
      write_armed_ = false;
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        fail("waiting on the bus fd: " + ec.message());
        return;
      }
      pump();
    });
  }
  set_timer(poll_data.timeout_usec);
}

// `deadline_usec` is absolute CLOCK_MONOTONIC µs (sd_bus_get_timeout), which
// is the clock behind std::chrono::steady_clock on Linux (libstdc++ and libc++).
void BusLoop::set_timer(std::uint64_t deadline_usec) {
  if (deadline_usec == timer_deadline_) return;
  timer_deadline_ = deadline_usec;
  timer_.cancel();
  if (deadline_usec == kNoTimeout) return;
  using std::chrono::microseconds;
  using std::chrono::steady_clock;
  const auto max_usec = static_cast<std::uint64_t>(
      std::chrono::duration_cast<microseconds>(steady_clock::duration::max()).count());
  auto usec = deadline_usec >= max_usec ? max_usec : deadline_usec;
  timer_.expires_at(steady_clock::time_point(
      std::chrono::duration_cast<steady_clock::duration>(microseconds(static_cast<microseconds::rep>(usec)))));
  std::weak_ptr<int> alive = alive_;
  timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (alive.expired() || ec == asio::error::operation_aborted) return;
    timer_deadline_ = kNoTimeout;
    pump();
  });
}

void BusLoop::schedule_pump() {
  if (pump_posted_ || broken_) return;
  pump_posted_ = true;
  std::weak_ptr<int> alive = alive_;
  asio::post(io_, [this, alive] {
    if (alive.expired()) return;
    pump_posted_ = false;
    pump();
  });
}

void BusLoop::fail(const std::string& why) {
  if (broken_) return;
  broken_ = true;
  asio::error_code ignored;
  timer_.cancel();
  descriptor_.cancel(ignored);
  on_lost_(why);
}

}  // namespace wsheart::bus
