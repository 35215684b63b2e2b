// The supervisor's test fixture: an injected clock, and every effect
// recorded as a line, so timing assertions are exact (to the millisecond) and
// run instantly.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "supervisor/supervisor.hpp"

namespace wsheart::supervisor::test {

using std::chrono::milliseconds;

class FakeClock {
 public:
  Instant now() const { return Instant{base_ + offset_, 1'700'000'000'000'000ULL + static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(offset_).count())}; }
  void advance(Duration d) { offset_ += d; }
  milliseconds since_base(TimePoint t) const { return std::chrono::duration_cast<milliseconds>(t - base_); }
  milliseconds elapsed() const { return std::chrono::duration_cast<milliseconds>(offset_); }

 private:
  TimePoint base_{std::chrono::hours(1000)};
  Duration offset_{0};
};

class Recorder final : public Effects {
 public:
  explicit Recorder(const FakeClock& clock) : clock_(clock) {}
  std::vector<std::string> lines;
  std::vector<Message> messages;
  std::optional<TimePoint> timer;
  int connects = 0;
  bool live = false;            // a connection exists as far as the effects know
  bool double_connect = false;  // connect() while one was live: must never happen
  bool refuse = false;          // the transport refuses texts (a connection going down)

  void connect() override {
    ++connects;
    if (live) double_connect = true;
    live = true;
    lines.push_back("connect");
  }
  bool send_text(std::string_view text) override {
    lines.push_back((refuse ? "refused " : "text ") + std::string(text));
    return !refuse;
  }
  void send_ping(std::string_view payload) override { lines.push_back("ping " + std::string(payload)); }
  void close(std::uint16_t code, std::string_view reason) override {
    lines.push_back("close " + std::to_string(code) + " " + std::string(reason));
  }
  void abort() override {
    live = false;
    lines.push_back("abort");
  }
  void arm_timer(TimePoint deadline) override {
    timer = deadline;
    lines.push_back("arm " + std::to_string(clock_.since_base(deadline).count()));
  }
  void cancel_timer() override {
    timer.reset();
    lines.push_back("cancel");
  }
  void state_changed(State old_state, State new_state, std::string_view reason) override {
    lines.push_back("state " + std::string(to_string(old_state)) + "->" + std::string(to_string(new_state)) + " " +
                    std::string(reason));
  }
  void message(const Message& m) override {
    messages.push_back(m);
    lines.push_back("message " + std::to_string(m.seq) + " " + m.data);
  }
  std::vector<std::string> take() { return std::exchange(lines, {}); }

 private:
  const FakeClock& clock_;
};

inline config::UserConfig make_config() {
  config::UserConfig c;
  c.id = "alice";
  c.url = "ws://127.0.0.1/ws";
  c.heartbeat_interval = milliseconds(5000);
  c.heartbeat_timeout = milliseconds(5000);
  c.connect_timeout = milliseconds(10000);
  c.reconnect_initial = milliseconds(1000);
  c.reconnect_max = milliseconds(60000);
  c.reconnect_jitter = config::Jitter::None;  // exact delays; jitter is tested by bounds in supervisor_test.cpp
  c.stable_after = milliseconds(10000);
  c.fatal_backoff = milliseconds(600000);
  c.send_queue_limit = 3;
  c.history = 4;
  return c;
}

using Lines = std::vector<std::string>;

class SupervisorTest : public ::testing::Test {
 protected:
  explicit SupervisorTest(config::UserConfig c = make_config()) : fx(clock), sup(std::move(c), fx, 7) {}

  // Runs the timer if it is due at the current time, as the daemon's loop would.
  void fire_if_due() {
    if (fx.timer && *fx.timer <= clock.now().mono) {
      fx.timer.reset();
      sup.timer_fired(clock.now());
    }
  }
  // Advances to exactly the armed deadline and fires it.
  void run_to_timer() {
    ASSERT_TRUE(fx.timer.has_value());
    clock.advance(*fx.timer - clock.now().mono);
    fire_if_due();
  }
  void open_connection() {
    sup.start(clock.now());
    sup.handshake_started(clock.now());
    sup.opened(clock.now());
    fx.take();
  }
  long long now_ms() const { return clock.elapsed().count(); }

  FakeClock clock;
  Recorder fx;
  Supervisor sup;
};

}  // namespace wsheart::supervisor::test
