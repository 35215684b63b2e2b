// wsheart-bench-emit: the ceiling. Emits org.wsheartd1.User.MessageReceived
// (t seq, s text) signals with plain sd-bus (libsystemd), as fast as the bus
// takes them (or paced with --rate), with the same text as wsheart-echo's
// bursts ("seq=<i> t=<CLOCK_MONOTONIC ns> " + 'x' padding to SIZE bytes), so
// wsheart-bench-sub measures it exactly as it measures wsheartd.
//
// --users U spreads the signals round-robin over U object paths
// /org/wsheartd1/user/bench<k>, each with its own seq from 1 (U x COUNT total).
//
// Flow control is the one wsheartd uses: hand a message to sd-bus only while
// its write queue is empty; otherwise flush first. sd-bus's write queue is an
// array whose head is removed with memmove, quadratic when it grows.
//
// stdout: RESULT {json} with the count, the time and this process's CPU time.
#include <poll.h>
#include <sys/resource.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::uint64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

void sleep_until(std::uint64_t t_ns) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(t_ns / 1000000000ull);
  ts.tv_nsec = static_cast<long>(t_ns % 1000000000ull);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) != 0) {
  }
}

[[noreturn]] void usage(int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: wsheart-bench-emit [--address ADDR] [--users U] [--count N (per user)] [--size BYTES]\n"
               "                          [--rate MSG_PER_S (total; 0 = as fast as possible)] [--delay S]\n");
  std::exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  std::string address;
  unsigned users = 1;
  std::uint64_t count = 100000;
  std::size_t size = 64;
  double rate = 0;
  double delay_s = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "--address") {
      address = next();
    } else if (a == "--users") {
      users = static_cast<unsigned>(std::strtoul(next(), nullptr, 10));
    } else if (a == "--count") {
      count = std::strtoull(next(), nullptr, 10);
    } else if (a == "--size") {
      size = std::strtoull(next(), nullptr, 10);
    } else if (a == "--rate") {
      rate = std::strtod(next(), nullptr);
    } else if (a == "--delay") {
      delay_s = std::strtod(next(), nullptr);
    } else if (a == "--help" || a == "-h") {
      usage(0);
    } else {
      std::fprintf(stderr, "wsheart-bench-emit: unknown argument %s\n", argv[i]);
      usage(2);
    }
  }
  if (users == 0) usage(2);
  if (address.empty()) {
    const char* env = std::getenv("DBUS_SESSION_BUS_ADDRESS");
    if (env == nullptr) usage(2);
    address = env;
  }

  sd_bus* bus = nullptr;
  int r = sd_bus_new(&bus);
  if (r >= 0) r = sd_bus_set_address(bus, address.c_str());
  if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
  if (r >= 0) r = sd_bus_start(bus);
  const char* unique = nullptr;
  if (r >= 0) r = sd_bus_get_unique_name(bus, &unique);  // waits for Hello
  if (r < 0) {
    std::fprintf(stderr, "wsheart-bench-emit: cannot connect to %s: %s\n", address.c_str(), std::strerror(-r));
    return 1;
  }
  std::vector<std::string> paths;
  for (unsigned k = 0; k < users; ++k) paths.push_back("/org/wsheartd1/user/bench" + std::to_string(k));

  if (delay_s > 0) sleep_until(mono_ns() + static_cast<std::uint64_t>(delay_s * 1e9));

  std::string text;
  text.reserve(size + 64);
  const std::uint64_t total = count * users;
  const std::uint64_t period_ns = rate > 0 ? static_cast<std::uint64_t>(1e9 / rate) : 0;
  rusage ru0{};
  getrusage(RUSAGE_SELF, &ru0);
  const std::uint64_t t0 = mono_ns();
  std::uint64_t sent = 0;
  std::uint64_t failed = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    for (unsigned k = 0; k < users; ++k) {
      if (period_ns != 0) sleep_until(t0 + sent * period_ns);
      char head[64];
      const int n = std::snprintf(head, sizeof head, "seq=%" PRIu64 " t=%" PRIu64 " ", i, mono_ns());
      text.assign(head, static_cast<std::size_t>(n));
      if (text.size() < size) text.resize(size, 'x');
      // Flow control: never let sd-bus's write queue grow beyond one message.
      if ((sd_bus_get_events(bus) & POLLOUT) != 0) {
        r = sd_bus_flush(bus);
        if (r < 0) {
          std::fprintf(stderr, "wsheart-bench-emit: flush: %s\n", std::strerror(-r));
          return 1;
        }
      }
      r = sd_bus_emit_signal(bus, paths[k].c_str(), "org.wsheartd1.User", "MessageReceived", "ts", i + 1,
                             text.c_str());
      if (r < 0) {
        ++failed;
      } else {
        ++sent;
      }
    }
  }
  sd_bus_flush(bus);
  const std::uint64_t t1 = mono_ns();
  rusage ru1{};
  getrusage(RUSAGE_SELF, &ru1);
  const auto usec = [](const rusage& ru) {
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  };
  const double secs = static_cast<double>(t1 - t0) / 1e9;
  std::printf("RESULT {\"sent\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"total\":%" PRIu64
              ",\"secs\":%.6f,\"rate\":%.1f,\"cpu_us\":%.0f,\"cpu_us_per_msg\":%.3f}\n",
              sent, failed, total, secs, secs > 0 ? static_cast<double>(sent) / secs : 0, usec(ru1) - usec(ru0),
              sent > 0 ? (usec(ru1) - usec(ru0)) / static_cast<double>(sent) : 0);
  std::fflush(stdout);
  sd_bus_flush_close_unref(bus);
  return 0;
}
