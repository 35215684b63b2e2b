// The supervisor driven by bytes: a config, then a sequence of events and
// clock advances. After every step the promises of docs/liveness.md are
// checked against a model kept here, outside the code under test:
//
//  - at most one connection: connect() only when none is live (tracked via
//    the effects: connect makes one live, abort or the transport's
//    disconnect ends it), and has_connection() agrees with that;
//  - has_connection() iff the state is connecting, open or closing;
//  - effects fit the state: text/ping only while open, close only when
//    entering closing, messages only while open/closing, state changes
//    chain (old = the previous new) with a reason from the vocabulary;
//  - the send queue stays within send_queue_limit, the history within its
//    capacity; counters never decrease; seq goes 1, 2, 3 ... with no gap and
//    equals MessagesReceived;
//  - a deadline exists in backoff (unless held: offline or asleep) and
//    closing (and while open with a heartbeat), none when stopped, and the
//    effects' timer is that deadline; while held no connection attempt starts;
//  - a wake probe goes out only on a wake, never while held; after a wake
//    a backoff deadline is at most Supervisor::kWakeSpread away;
//  - liveness: a heartbeat goes out only after heartbeat_interval of
//    silence, the connection is declared dead only after interval + timeout
//    of silence (a busy connection is never dead), and, while the event loop
//    fires timers on time, no deadline is later than the documented bounds
//    (open: last inbound frame + interval + timeout; closing: 2 s;
//    connecting: handshake slot + connect_timeout; backoff: the larger of
//    reconnect_max and fatal_backoff);
//  - with timer coalescing (chosen by the input): a timer fires at its
//    deadline or less than a quantum after it, and while open the death of
//    a silent peer comes at most two quanta after interval + timeout.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "supervisor/supervisor.hpp"

using namespace wsheart;
using namespace wsheart::supervisor;
using std::chrono::milliseconds;

namespace {

const char* name(State s) { return to_string(s).data(); }

bool reason_in_vocabulary(std::string_view reason) {
  const std::string_view word = reason.substr(0, reason.find(": "));
  for (std::string_view w : {"started", "connected", "heartbeat_timeout", "connect_timeout", "connect_failed", "dns",
                             "tls_error", "tcp_reset", "message_too_big", "proxy_failed", "proxy_timeout", "manual", "reload", "stopping", "resume", "network_change", "offline", "sleep"}) {
    if (word == w) return true;
  }
  for (std::string_view prefix : {"http_", "server_close_"}) {
    if (word.rfind(prefix, 0) == 0 && word.size() > prefix.size() &&
        word.find_first_not_of("0123456789", prefix.size()) == std::string_view::npos) {
      return true;
    }
  }
  return false;
}

class Clock {
 public:
  Instant now() const {
    return Instant{base_ + offset_,
                   1'700'000'000'000'000ULL +
                       static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(offset_).count())};
  }
  void advance(Duration d) { offset_ += d; }
  void advance_to(TimePoint t) {
    if (t > base_ + offset_) offset_ = t - base_;
  }

 private:
  TimePoint base_{std::chrono::hours(1000)};
  Duration offset_{0};
};

config::UserConfig make_config(FuzzedDataProvider& in) {
  config::UserConfig c;
  c.id = "fuzz";
  c.url = "ws://127.0.0.1/";
  c.heartbeat = static_cast<config::HeartbeatMode>(in.ConsumeIntegralInRange<int>(0, 2));
  c.heartbeat_payload = "HeartBeat";
  c.heartbeat_reply = in.ConsumeBool() ? "HeartBeat" : "pong";
  auto ms = [&](int lo, int hi) { return milliseconds(in.ConsumeIntegralInRange<int>(lo, hi)); };
  c.heartbeat_interval = ms(10, 3000);
  c.heartbeat_timeout = ms(10, 3000);
  c.connect_timeout = ms(10, 3000);
  c.reconnect_initial = ms(10, 2000);
  c.reconnect_max = c.reconnect_initial + ms(0, 5000);
  constexpr double kMultipliers[] = {1.0, 1.5, 2.0, 3.7, 100.0};
  c.reconnect_multiplier = kMultipliers[in.ConsumeIntegralInRange<int>(0, 4)];
  c.reconnect_jitter = in.ConsumeBool() ? config::Jitter::Full : config::Jitter::None;
  c.stable_after = ms(10, 5000);
  c.fatal_backoff = ms(10, 20000);
  c.send_queue_limit = in.ConsumeIntegralInRange<std::size_t>(0, 4);
  c.history = in.ConsumeIntegralInRange<std::size_t>(0, 4);
  const int on_open = in.ConsumeIntegralInRange<int>(0, 2);
  for (int i = 0; i < on_open; ++i) c.on_open.push_back("hello" + std::to_string(i));
  return c;
}

struct Model;

class Recorder final : public Effects {
 public:
  explicit Recorder(Model& m) : m_(m) {}
  void connect() override;
  bool send_text(std::string_view text) override;
  void send_ping(std::string_view payload) override;
  void close(std::uint16_t code, std::string_view reason) override;
  void abort() override;
  void arm_timer(TimePoint deadline) override;
  void cancel_timer() override;
  void state_changed(State old_state, State new_state, std::string_view reason) override;
  void message(const Message& message) override;

 private:
  Model& m_;
};

struct Model {
  Clock clock;
  const Supervisor* sup = nullptr;
  const config::UserConfig* cfg = nullptr;  // the config in force
  bool live = false;
  std::optional<TimePoint> timer;
  State reported = State::Stopped;
  TimePoint state_entered{};
  TimePoint last_rx{};                     // last inbound frame while open (or the open itself)
  std::optional<TimePoint> slot_granted;   // handshake_started while connecting
  bool in_timer = false;                   // inside timer_fired
  bool in_wake = false;                    // inside wake/release: a probe may go out at any silence
  std::optional<TimePoint> last_wake;      // when a wake last cut a backoff short
  bool punctual = true;                    // every timer so far fired exactly when due
  Coalescing coalescing = Coalescing::Off;
  std::uint64_t last_seq = 0;
  std::string last_ping;
  std::optional<config::UserConfig> attempt_config;  // the config the live attempt was made with
  bool refusing = false;  // the transport refuses texts (the connection is going down)
};

void Recorder::connect() {
  FUZZ_CHECK(!m_.live, "connect() while a connection is live");
  FUZZ_CHECK(!m_.sup->held(), "connect() while held");
  m_.live = true;
  m_.slot_granted.reset();
  m_.attempt_config.reset();
}
bool Recorder::send_text(std::string_view text) {
  FUZZ_CHECK(m_.live, "send_text without a connection");
  FUZZ_CHECK(m_.sup->state() == State::Open, "send_text in state %s", name(m_.sup->state()));
  if (m_.in_timer && text == m_.cfg->heartbeat_payload) {
    const Duration silent = m_.clock.now().mono - m_.last_rx;
    FUZZ_CHECK(silent >= m_.cfg->heartbeat_interval, "heartbeat after only %lld ms of silence",
               static_cast<long long>(std::chrono::duration_cast<milliseconds>(silent).count()));
  }
  return !m_.refusing;
}
void Recorder::send_ping(std::string_view payload) {
  FUZZ_CHECK(m_.live, "send_ping without a connection");
  FUZZ_CHECK(m_.sup->state() == State::Open, "send_ping in state %s", name(m_.sup->state()));
  FUZZ_CHECK(m_.cfg->heartbeat == config::HeartbeatMode::Ping, "ping in a non-ping heartbeat mode");
  FUZZ_CHECK(std::string(payload) != m_.last_ping, "ping payload reused");
  m_.last_ping = std::string(payload);
  const Duration silent = m_.clock.now().mono - m_.last_rx;
  FUZZ_CHECK(m_.in_wake || silent >= m_.cfg->heartbeat_interval, "ping after only %lld ms of silence",
             static_cast<long long>(std::chrono::duration_cast<milliseconds>(silent).count()));
}
void Recorder::close(std::uint16_t code, std::string_view) {
  FUZZ_CHECK(m_.live, "close without a connection");
  FUZZ_CHECK(m_.sup->state() == State::Closing, "close in state %s", name(m_.sup->state()));
  FUZZ_CHECK(code == 1000 || code == 1001, "close code %u", code);
}
void Recorder::abort() {
  FUZZ_CHECK(m_.live, "abort without a connection");
  m_.live = false;
}
void Recorder::arm_timer(TimePoint deadline) { m_.timer = deadline; }
void Recorder::cancel_timer() { m_.timer.reset(); }
void Recorder::state_changed(State old_state, State new_state, std::string_view reason) {
  FUZZ_CHECK(old_state == m_.reported, "state change from %s, but the last one went to %s", name(old_state),
             name(m_.reported));
  FUZZ_CHECK(old_state != new_state, "state change %s -> itself", name(old_state));
  FUZZ_CHECK(reason_in_vocabulary(reason), "reason '%.*s' not in the vocabulary", static_cast<int>(reason.size()),
             reason.data());
  const TimePoint now = m_.clock.now().mono;
  if (old_state == State::Open && new_state == State::Closing && reason == "heartbeat_timeout") {
    const Duration silent = now - m_.last_rx;
    FUZZ_CHECK(silent >= m_.cfg->heartbeat_interval + m_.cfg->heartbeat_timeout,
               "declared dead after only %lld ms of silence",
               static_cast<long long>(std::chrono::duration_cast<milliseconds>(silent).count()));
  }
  if (new_state == State::Open) {
    m_.last_rx = now;
    // A reload must not leave the user on a connection made with the old settings.
    FUZZ_CHECK(m_.attempt_config && *m_.attempt_config == *m_.cfg,
               "opened a connection that was made with an outdated config (reload during connecting)");
  }
  m_.reported = new_state;
  m_.state_entered = now;
}
void Recorder::message(const Message& message) {
  FUZZ_CHECK(message.seq == m_.last_seq + 1, "seq %llu after %llu", static_cast<unsigned long long>(message.seq),
             static_cast<unsigned long long>(m_.last_seq));
  m_.last_seq = message.seq;
  const State st = m_.sup->state();
  FUZZ_CHECK(st == State::Open || st == State::Closing, "message republished in state %s", name(st));
  FUZZ_CHECK(!(m_.cfg->heartbeat == config::HeartbeatMode::Text && !message.binary &&
               message.data == m_.cfg->heartbeat_reply),
             "heartbeat reply republished");
}

void check_bounds(const Model& m, const Supervisor& s) {
  if (!m.punctual || !s.deadline()) return;
  const TimePoint d = *s.deadline();
  const Duration quantum = m.coalescing == Coalescing::On ? heartbeat_quantum(*m.cfg) : Duration::zero();
  const auto late_by = [&](TimePoint bound) {
    return static_cast<long long>(std::chrono::duration_cast<milliseconds>(d - bound).count());
  };
  const config::UserConfig& c = *m.cfg;
  switch (s.state()) {
    case State::Open: {
      // The heartbeat itself may go out up to a quantum late, and its timeout
      // timer fire up to another.
      const TimePoint bound = m.last_rx + c.heartbeat_interval + c.heartbeat_timeout + quantum;
      FUZZ_CHECK(d <= bound, "open: deadline %lld ms after last inbound frame + interval + timeout", late_by(bound));
      FUZZ_CHECK(s.fire_at() <= bound + quantum, "open: timer fires after interval + timeout + two quanta");
      break;
    }
    case State::Closing: {
      const TimePoint bound = m.state_entered + Supervisor::kCloseTimeout;
      FUZZ_CHECK(d <= bound, "closing: deadline %lld ms after the close timeout", late_by(bound));
      break;
    }
    case State::Connecting:
      FUZZ_CHECK(m.slot_granted.has_value(), "connecting: a deadline before the handshake slot");
      FUZZ_CHECK(d <= *m.slot_granted + c.connect_timeout, "connecting: deadline %lld ms after connect_timeout",
                 late_by(*m.slot_granted + c.connect_timeout));
      break;
    case State::Backoff: {
      TimePoint bound = m.state_entered + std::max(c.reconnect_max, c.fatal_backoff);
      if (m.last_wake) bound = std::max(bound, *m.last_wake + Supervisor::kWakeSpread);
      FUZZ_CHECK(d <= bound, "backoff: deadline %lld ms after the longest backoff", late_by(bound));
      break;
    }
    case State::Stopped: break;
  }
}

void fire(Model& m, Supervisor& s) {
  m.timer.reset();
  m.in_timer = true;
  s.timer_fired(m.clock.now());
  m.in_timer = false;
}

// The event loop: time moves on, every timer fires exactly when due.
void advance_punctually(Model& m, Supervisor& s, Duration by) {
  const TimePoint target = m.clock.now().mono + by;
  for (int i = 0; i < 10000; ++i) {
    if (!m.timer || *m.timer > target) break;
    m.clock.advance_to(*m.timer);
    fire(m, s);
  }
  m.clock.advance_to(target);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;
  FuzzedDataProvider in(data, size);
  const config::UserConfig first = make_config(in);
  config::UserConfig current = first;
  Model m;
  Recorder rec(m);
  m.coalescing = in.ConsumeBool() ? Coalescing::On : Coalescing::Off;
  Supervisor s(first, rec, in.ConsumeIntegral<std::uint64_t>(), m.coalescing);
  m.sup = &s;
  m.cfg = &s.config();

  Stats last = s.stats();
  for (int step = 0; step < 1000 && in.remaining_bytes() > 0; ++step) {
    const Instant now = m.clock.now();
    switch (in.ConsumeIntegralInRange<int>(0, 17)) {
      case 0: s.start(now); break;
      case 1: s.stop(now); break;
      case 2: s.reconnect(now); break;
      case 3:
        // The daemon grants each attempt its handshake slot once, and reads
        // the user's url, headers and timeouts at that moment.
        if (m.live && !m.slot_granted) {
          m.slot_granted = now.mono;
          m.attempt_config = *m.cfg;
          s.handshake_started(now);
        }
        break;
      case 4:
        // Only an attempt that got its slot can open; a stale report when none is live.
        if (m.slot_granted || !m.live) s.opened(now);
        break;
      case 5: {
        // The transport reports the end of the live connection; a stale
        // report (none live) must be ignored.
        Disconnect why;
        why.cause = static_cast<Disconnect::Cause>(in.ConsumeIntegralInRange<int>(0, 12));
        constexpr std::uint16_t kCodes[] = {0, 401, 403, 404, 503, 1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, 4000};
        why.code = kCodes[in.ConsumeIntegralInRange<std::size_t>(0, sizeof kCodes / sizeof kCodes[0] - 1)];
        why.detail = in.ConsumeBool() ? "" : "detail";
        m.live = false;
        s.disconnected(now, why);
        break;
      }
      case 6: {
        const auto kind = static_cast<FrameKind>(in.ConsumeIntegralInRange<int>(0, 3));
        std::string payload;
        switch (in.ConsumeIntegralInRange<int>(0, 3)) {
          case 0: payload = m.cfg->heartbeat_reply; break;
          case 1: payload = m.last_ping; break;
          case 2: payload = "wsheartd-1"; break;
          default: payload = "x"; break;
        }
        if (s.state() == State::Open) m.last_rx = now.mono;
        s.frame(now, kind, payload);
        break;
      }
      case 7: {
        m.refusing = in.ConsumeIntegralInRange<int>(0, 3) == 0;
        const auto sent_before = s.stats().sent;
        const SendResult r = s.send(now, in.ConsumeBool() ? "s" : m.cfg->heartbeat_payload);
        FUZZ_CHECK((r == SendResult::Stopped) == (s.state() == State::Stopped), "send result vs state");
        FUZZ_CHECK((r == SendResult::Sent) == (s.stats().sent == sent_before + 1), "send result vs sent counter");
        FUZZ_CHECK(r != SendResult::Sent || !m.refusing, "a refused text reported as sent");
        break;
      }
      case 8: advance_punctually(m, s, milliseconds(in.ConsumeIntegralInRange<int>(0, 3000))); break;
      case 9: advance_punctually(m, s, milliseconds(in.ConsumeIntegralInRange<int>(0, 40000))); break;
      case 10:
        // A wedged loop: time jumps, then the timer fires late.
        m.clock.advance(milliseconds(in.ConsumeIntegralInRange<int>(1, 10000)));
        if (m.timer && *m.timer <= m.clock.now().mono) {
          m.punctual = false;
          fire(m, s);
        }
        break;
      case 11:
        // A spurious early wake-up must only re-arm.
        if (m.timer) fire(m, s);
        break;
      case 12: {
        // Reload: the same config, or a changed one.
        config::UserConfig next = in.ConsumeBool() ? first : make_config(in);
        current = next;
        s.reconfigure(std::move(next), now);
        break;
      }
      case 13: s.count_dropped(in.ConsumeIntegralInRange<std::uint64_t>(0, 3)); break;
      case 14: advance_punctually(m, s, milliseconds(in.ConsumeIntegralInRange<int>(0, 50))); break;
      case 15:
        m.in_wake = true;
        m.last_wake = now.mono;
        s.wake(now, in.ConsumeBool() ? "resume" : "network_change");
        m.in_wake = false;
        break;
      case 16: s.hold(now, in.ConsumeBool() ? Hold::Offline : Hold::Asleep, in.ConsumeBool()); break;
      case 17:
        m.in_wake = true;
        m.last_wake = now.mono;
        s.release(now, in.ConsumeBool() ? Hold::Offline : Hold::Asleep, in.ConsumeBool() ? "resume" : "network_change");
        m.in_wake = false;
        break;
    }

    const State st = s.state();
    const Stats& now_stats = s.stats();
    FUZZ_CHECK(st == m.reported, "state %s but the last state change went to %s", name(st), name(m.reported));
    FUZZ_CHECK(now_stats.state == st, "stats.state differs");
    FUZZ_CHECK(m.live == s.has_connection(), "live=%d has_connection=%d in %s", m.live, s.has_connection(), name(st));
    FUZZ_CHECK(s.has_connection() == (st == State::Connecting || st == State::Open || st == State::Closing),
               "has_connection=%d in state %s", s.has_connection(), name(st));
    FUZZ_CHECK(s.queued() <= s.config().send_queue_limit, "queue %zu > limit %zu", s.queued(),
               s.config().send_queue_limit);
    FUZZ_CHECK(s.history().size() <= s.history().capacity(), "history over capacity");
    FUZZ_CHECK(now_stats.received >= last.received && now_stats.sent >= last.sent &&
                   now_stats.dropped >= last.dropped && now_stats.reconnects >= last.reconnects &&
                   now_stats.state_since_usec >= last.state_since_usec &&
                   now_stats.last_message_usec >= last.last_message_usec,
               "a counter went down");
    FUZZ_CHECK(now_stats.received == m.last_seq && s.history().last_seq() == m.last_seq,
               "received=%llu last seq=%llu", static_cast<unsigned long long>(now_stats.received),
               static_cast<unsigned long long>(m.last_seq));
    if (st == State::Closing || (st == State::Backoff && !s.held())) {
      FUZZ_CHECK(s.deadline().has_value(), "no deadline in %s", name(st));
    }
    if (st == State::Backoff && s.held()) FUZZ_CHECK(!s.deadline().has_value(), "a backoff timer while held");
    if (st == State::Open && s.config().heartbeat != config::HeartbeatMode::Off) {
      FUZZ_CHECK(s.deadline().has_value(), "open with a heartbeat but no deadline: a dead peer would never be noticed");
    }
    if (st == State::Stopped) FUZZ_CHECK(!s.deadline().has_value(), "a deadline while stopped");
    if (s.deadline()) {
      FUZZ_CHECK(m.timer == s.fire_at(), "the effects' timer is not the supervisor's fire time");
      const Duration quantum = m.coalescing == Coalescing::On ? heartbeat_quantum(*m.cfg) : Duration::zero();
      FUZZ_CHECK(s.fire_at() >= *s.deadline() && s.fire_at() - *s.deadline() <= quantum,
                 "the timer fires before its deadline or a quantum after it");
    } else {
      FUZZ_CHECK(!m.timer.has_value(), "the effects' timer is armed without a deadline");
    }
    check_bounds(m, s);
    last = now_stats;
  }
  return 0;
}
