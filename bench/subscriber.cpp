// wsheart-bench-sub: the measuring end of every benchmark (docs/performance.md).
//
// A plain sd-bus client (libsystemd, no sdbus-c++: the observer must cost
// less than what it observes). It subscribes with match rules to
//   org.wsheartd1.User.MessageReceived(t seq, s text)   and, with --states,
//   org.wsheartd1.User.StateChanged(s old, s new, s reason)
// from any sender, so the same binary measures wsheartd and the raw sd-bus
// emitter (wsheart-bench-emit) alike.
//
// Per object path (= per user) it checks that seq grows by exactly 1 (gaps,
// reorders/duplicates counted), and that the embedded sender index
// "seq=<i> t=<ns> " grows by 1 too (i restarts at 0 with every burst). The
// embedded t is the sender's CLOCK_MONOTONIC in ns: now - t is the latency
// from the server's send() to this process's dispatch.
//
// stdout protocol (line-based, for the scripts in bench/):
//   READY <unique name>                   once the match rules are in place
//   S <mono_ns> <path> <old> <new> <reason>   one per StateChanged (--states)
//   RESULT {json}                         at exit (expected count reached,
//                                         --timeout, --idle, SIGTERM/SIGINT)
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::uint64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

struct PathStats {
  std::uint64_t count = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::int64_t last_index = -1;  // embedded "seq=<i>"
};

struct Options {
  std::string address;
  std::uint64_t expect = 0;  // stop after this many messages (0 = never)
  double timeout_s = 0;      // overall (0 = none)
  double idle_s = 0;         // stop when no message arrived for this long after the first one
  bool states = false;
  bool messages = true;
  std::size_t max_latencies = 5'000'000;
};

struct State {
  Options opt;
  std::unordered_map<std::string, PathStats> paths;
  std::vector<std::uint64_t> latency_ns;
  std::uint64_t count = 0;
  std::uint64_t gaps = 0;          // seq jumped forward: messages missing
  std::uint64_t missing = 0;       // sum of the jumps
  std::uint64_t reorders = 0;      // seq went backwards or repeated
  std::uint64_t index_breaks = 0;  // embedded index neither last+1 nor 0
  std::uint64_t unparsed = 0;      // text without "seq=<i> t=<ns> "
  std::uint64_t bytes = 0;
  std::uint64_t first_recv = 0;
  std::uint64_t last_recv = 0;
  std::uint64_t min_sent = UINT64_MAX;
  std::uint64_t max_latency = 0;
  std::uint64_t state_events = 0;
  std::string out;  // buffered S lines
};

// "seq=<i> t=<ns> ..." -> i, t. Returns false if the text does not start so.
bool parse_stamp(const char* s, std::int64_t& index, std::uint64_t& t) {
  if (std::strncmp(s, "seq=", 4) != 0) return false;
  s += 4;
  std::int64_t i = 0;
  if (*s < '0' || *s > '9') return false;
  while (*s >= '0' && *s <= '9') i = i * 10 + (*s++ - '0');
  if (std::strncmp(s, " t=", 3) != 0) return false;
  s += 3;
  std::uint64_t v = 0;
  if (*s < '0' || *s > '9') return false;
  while (*s >= '0' && *s <= '9') v = v * 10 + static_cast<std::uint64_t>(*s++ - '0');
  index = i;
  t = v;
  return true;
}

int on_message(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto& st = *static_cast<State*>(userdata);
  const std::uint64_t now = mono_ns();
  std::uint64_t seq = 0;
  const char* text = nullptr;
  if (sd_bus_message_read(m, "ts", &seq, &text) < 0 || text == nullptr) return 0;
  const char* path = sd_bus_message_get_path(m);
  auto& ps = st.paths[path != nullptr ? path : ""];
  if (ps.count == 0) {
    ps.first_seq = seq;
  } else if (seq == ps.last_seq + 1) {
    // in order
  } else if (seq > ps.last_seq + 1) {
    ++st.gaps;
    st.missing += seq - ps.last_seq - 1;
  } else {
    ++st.reorders;
  }
  ps.last_seq = seq;
  ++ps.count;
  ++st.count;
  if (st.first_recv == 0) st.first_recv = now;
  st.last_recv = now;
  std::int64_t index = 0;
  std::uint64_t sent = 0;
  if (parse_stamp(text, index, sent)) {
    if (index != ps.last_index + 1 && index != 0) ++st.index_breaks;
    ps.last_index = index;
    st.min_sent = std::min(st.min_sent, sent);
    const std::uint64_t lat = now > sent ? now - sent : 0;
    st.max_latency = std::max(st.max_latency, lat);
    if (st.latency_ns.size() < st.opt.max_latencies) st.latency_ns.push_back(lat);
  } else {
    ++st.unparsed;
  }
  st.bytes += std::strlen(text);
  return 0;
}

int on_state(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto& st = *static_cast<State*>(userdata);
  const std::uint64_t now = mono_ns();
  const char* old_state = nullptr;
  const char* new_state = nullptr;
  const char* reason = nullptr;
  if (sd_bus_message_read(m, "sss", &old_state, &new_state, &reason) < 0) return 0;
  const char* path = sd_bus_message_get_path(m);
  char buf[64];
  std::snprintf(buf, sizeof buf, "S %" PRIu64 " ", now);
  st.out += buf;
  st.out += path != nullptr ? path : "-";
  st.out += ' ';
  st.out += old_state;
  st.out += ' ';
  st.out += new_state;
  st.out += ' ';
  // reason may contain spaces ("connect_failed: Connection refused"): last field.
  st.out += reason[0] != '\0' ? reason : "-";
  st.out += '\n';
  ++st.state_events;
  return 0;
}

void flush_out(State& st) {
  if (st.out.empty()) return;
  std::fwrite(st.out.data(), 1, st.out.size(), stdout);
  std::fflush(stdout);
  st.out.clear();
}

double pct(std::vector<std::uint64_t>& v, double p) {
  if (v.empty()) return 0;
  std::size_t k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  if (k >= v.size()) k = v.size() - 1;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1000.0;  // µs
}

void print_result(State& st, const char* why) {
  flush_out(st);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu_us = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
                        static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  const double p50 = pct(st.latency_ns, 0.50);
  const double p99 = pct(st.latency_ns, 0.99);
  const double p999 = pct(st.latency_ns, 0.999);
  // Throughput: from the earliest embedded send time to the last receipt.
  double span_s = 0;
  if (st.count > 0 && st.min_sent != UINT64_MAX && st.last_recv > st.min_sent) {
    span_s = static_cast<double>(st.last_recv - st.min_sent) / 1e9;
  } else if (st.count > 1) {
    span_s = static_cast<double>(st.last_recv - st.first_recv) / 1e9;
  }
  const double rate = span_s > 0 ? static_cast<double>(st.count) / span_s : 0;
  std::printf(
      "RESULT {\"why\":\"%s\",\"count\":%" PRIu64 ",\"paths\":%zu,\"gaps\":%" PRIu64 ",\"missing\":%" PRIu64
      ",\"reorders\":%" PRIu64 ",\"index_breaks\":%" PRIu64 ",\"unparsed\":%" PRIu64 ",\"bytes\":%" PRIu64
      ",\"span_s\":%.6f,\"rate\":%.1f,\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f,\"lat_p999_us\":%.1f,"
      "\"lat_max_us\":%.1f,\"cpu_us\":%.0f,\"max_rss_kib\":%ld,\"state_events\":%" PRIu64 ",\"first_recv_ns\":%" PRIu64
      ",\"last_recv_ns\":%" PRIu64 ",\"min_sent_ns\":%" PRIu64 "}\n",
      why, st.count, st.paths.size(), st.gaps, st.missing, st.reorders, st.index_breaks, st.unparsed, st.bytes,
      span_s, rate, p50, p99, p999, static_cast<double>(st.max_latency) / 1000.0, cpu_us, ru.ru_maxrss,
      st.state_events, st.first_recv, st.last_recv, st.min_sent == UINT64_MAX ? 0 : st.min_sent);
  std::fflush(stdout);
}

[[noreturn]] void usage(int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: wsheart-bench-sub [--address ADDR] [--expect N] [--timeout S] [--idle S]\n"
               "                         [--states] [--no-messages] [--max-latencies N]\n"
               "Default address: $DBUS_SESSION_BUS_ADDRESS.\n");
  std::exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  State st;
  Options& opt = st.opt;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "--address") {
      opt.address = next();
    } else if (a == "--expect") {
      opt.expect = std::strtoull(next(), nullptr, 10);
    } else if (a == "--timeout") {
      opt.timeout_s = std::strtod(next(), nullptr);
    } else if (a == "--idle") {
      opt.idle_s = std::strtod(next(), nullptr);
    } else if (a == "--states") {
      opt.states = true;
    } else if (a == "--no-messages") {
      opt.messages = false;
    } else if (a == "--max-latencies") {
      opt.max_latencies = std::strtoull(next(), nullptr, 10);
    } else if (a == "--help" || a == "-h") {
      usage(0);
    } else {
      std::fprintf(stderr, "wsheart-bench-sub: unknown argument %s\n", argv[i]);
      usage(2);
    }
  }
  if (opt.address.empty()) {
    const char* env = std::getenv("DBUS_SESSION_BUS_ADDRESS");
    if (env == nullptr) {
      std::fprintf(stderr, "wsheart-bench-sub: no --address and no DBUS_SESSION_BUS_ADDRESS\n");
      return 2;
    }
    opt.address = env;
  }
  if (opt.expect > 0) st.latency_ns.reserve(std::min<std::uint64_t>(opt.expect, opt.max_latencies));

  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: sd_bus_wait returns -EINTR
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  sd_bus* bus = nullptr;
  int r = sd_bus_new(&bus);
  if (r >= 0) r = sd_bus_set_address(bus, opt.address.c_str());
  if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
  if (r >= 0) r = sd_bus_start(bus);
  if (r < 0) {
    std::fprintf(stderr, "wsheart-bench-sub: cannot connect to %s: %s\n", opt.address.c_str(), std::strerror(-r));
    return 1;
  }
  if (opt.messages) {
    r = sd_bus_add_match(bus, nullptr, "type='signal',interface='org.wsheartd1.User',member='MessageReceived'",
                         on_message, &st);
    if (r < 0) {
      std::fprintf(stderr, "wsheart-bench-sub: AddMatch failed: %s\n", std::strerror(-r));
      return 1;
    }
  }
  if (opt.states) {
    r = sd_bus_add_match(bus, nullptr, "type='signal',interface='org.wsheartd1.User',member='StateChanged'",
                         on_state, &st);
    if (r < 0) {
      std::fprintf(stderr, "wsheart-bench-sub: AddMatch failed: %s\n", std::strerror(-r));
      return 1;
    }
  }
  const char* unique = nullptr;
  sd_bus_get_unique_name(bus, &unique);
  std::printf("READY %s\n", unique != nullptr ? unique : "?");
  std::fflush(stdout);

  const std::uint64_t start = mono_ns();
  const std::uint64_t deadline = opt.timeout_s > 0 ? start + static_cast<std::uint64_t>(opt.timeout_s * 1e9) : 0;
  const std::uint64_t idle_ns = static_cast<std::uint64_t>(opt.idle_s * 1e9);
  const char* why = "signal";
  for (;;) {
    if (g_stop) break;
    r = sd_bus_process(bus, nullptr);
    if (r < 0) {
      why = "bus-error";
      std::fprintf(stderr, "wsheart-bench-sub: %s\n", std::strerror(-r));
      break;
    }
    if (opt.expect > 0 && st.count >= opt.expect) {
      why = "expected";
      break;
    }
    if (r > 0) continue;
    flush_out(st);
    const std::uint64_t now = mono_ns();
    if (deadline != 0 && now >= deadline) {
      why = "timeout";
      break;
    }
    if (idle_ns != 0 && st.count > 0 && now - st.last_recv >= idle_ns) {
      why = "idle";
      break;
    }
    std::uint64_t wait_us = 200000;  // re-check the deadlines at least 5x per second
    r = sd_bus_wait(bus, wait_us);
    if (r < 0 && r != -EINTR) {
      why = "bus-error";
      break;
    }
  }
  print_result(st, why);
  sd_bus_flush_close_unref(bus);
  return 0;
}
