// Wake, network and sleep transitions of the supervisor, with the injected
// clock of fixture.hpp (heartbeat 5 s + 5 s, reconnect 1 s without jitter,
// wake_probe_timeout 2 s).
#include <gtest/gtest.h>

#include <set>

#include "fixture.hpp"
#include "supervisor/supervisor.hpp"

namespace wsheart::supervisor {
namespace {

using namespace std::chrono_literals;
using test::FakeClock;
using test::Lines;
using test::make_config;
using test::Recorder;
using test::SupervisorTest;

using WakeTest = SupervisorTest;

// Drives a user into backoff after `failures` failed attempts.
void fail_attempts(Supervisor& sup, FakeClock& clock, Recorder& fx, int failures) {
  sup.start(clock.now());
  for (int i = 0; i < failures; ++i) {
    sup.handshake_started(clock.now());
    fx.live = false;
    sup.disconnected(clock.now(), Disconnect{Disconnect::Cause::ConnectFailed, 0, ""});
    if (i + 1 < failures) {
      clock.advance(*fx.timer - clock.now().mono);
      fx.timer.reset();
      sup.timer_fired(clock.now());
    }
  }
  fx.take();
}

TEST_F(WakeTest, OpenUserProbesAtOnceAndIsDeadWhenTheProbeGoesUnanswered) {
  open_connection();
  clock.advance(1000ms);
  sup.wake(clock.now(), "resume");
  EXPECT_EQ(fx.take(), (Lines{"text HeartBeat", "arm 3000"}));
  EXPECT_TRUE(sup.probing());
  clock.advance(1999ms);
  fire_if_due();
  EXPECT_TRUE(fx.take().empty());
  clock.advance(1ms);
  fire_if_due();
  // Dead 2 s after the wake, not at interval + timeout (10 s).
  EXPECT_EQ(fx.take(),
            (Lines{"state open->closing resume", "abort", "state closing->backoff resume", "arm 4000"}));
  EXPECT_EQ(sup.stats().reason, "resume");
}

TEST_F(WakeTest, AnsweredProbeKeepsTheConnectionOpen) {
  open_connection();
  clock.advance(1000ms);
  sup.wake(clock.now(), "network_change");
  fx.take();
  clock.advance(30ms);
  sup.frame(clock.now(), FrameKind::Text, "HeartBeat");
  EXPECT_FALSE(sup.probing());
  EXPECT_EQ(sup.stats().rtt_usec, 30000U);
  EXPECT_EQ(fx.take(), (Lines{"arm 6030"}));  // next heartbeat one interval after the reply
  clock.advance(5000ms);
  fire_if_due();
  EXPECT_EQ(sup.state(), State::Open);
  EXPECT_EQ(fx.take(), (Lines{"text HeartBeat", "arm 11030"}));
}

TEST_F(WakeTest, AnyFrameAnswersAProbe) {
  open_connection();
  sup.wake(clock.now(), "resume");
  fx.take();
  clock.advance(10ms);
  sup.frame(clock.now(), FrameKind::Text, "news");
  EXPECT_FALSE(sup.probing());
  clock.advance(5000ms);
  fire_if_due();
  EXPECT_EQ(sup.state(), State::Open);
}

// A frame that arrived in the same instant as the wake came before the probe:
// it does not answer it (found by tests/fuzz/fuzz_supervisor).
TEST_F(WakeTest, FrameBeforeTheProbeDoesNotAnswerIt) {
  open_connection();
  clock.advance(100ms);
  sup.frame(clock.now(), FrameKind::Text, "news");
  sup.wake(clock.now(), "resume");
  fx.take();
  clock.advance(2000ms);
  fire_if_due();
  EXPECT_EQ(sup.state(), State::Backoff);
  EXPECT_EQ(sup.stats().reason, "resume");
}

TEST_F(WakeTest, ProbeIsNeverLaterThanTheRegularBound) {
  open_connection();
  run_to_timer();  // heartbeat at 5000, dead at 10000
  fx.take();
  clock.advance(4000ms);
  sup.wake(clock.now(), "resume");
  EXPECT_EQ(fx.take(), (Lines{"text HeartBeat"}));  // the timer armed for 10000 stays
  run_to_timer();
  EXPECT_EQ(now_ms(), 10000);
  EXPECT_EQ(sup.state(), State::Backoff);
  EXPECT_EQ(sup.stats().reason, "resume");
}

TEST(WakeModes, PingModeProbesWithAFreshPing) {
  auto c = make_config();
  c.heartbeat = config::HeartbeatMode::Ping;
  FakeClock clock;
  Recorder rec(clock);
  Supervisor s(c, rec, 1);
  s.start(clock.now());
  s.handshake_started(clock.now());
  s.opened(clock.now());
  rec.take();
  s.wake(clock.now(), "resume");
  EXPECT_EQ(rec.take(), (Lines{"ping wsheartd-1", "arm 2000"}));
}

TEST(WakeModes, HeartbeatOffMeansNoProbe) {
  auto c = make_config();
  c.heartbeat = config::HeartbeatMode::Off;
  FakeClock clock;
  Recorder rec(clock);
  Supervisor s(c, rec, 1);
  s.start(clock.now());
  s.handshake_started(clock.now());
  s.opened(clock.now());
  rec.take();
  s.wake(clock.now(), "resume");
  EXPECT_TRUE(rec.take().empty());
  EXPECT_EQ(s.state(), State::Open);
}

TEST_F(WakeTest, BackoffIsCutShortAndAttemptsReset) {
  fail_attempts(sup, clock, fx, 5);  // the fifth delay is 16 s
  EXPECT_EQ(sup.backoff_attempts(), 5U);
  ASSERT_TRUE(fx.timer);
  EXPECT_EQ(clock.since_base(*fx.timer) - clock.elapsed(), 16000ms);
  sup.wake(clock.now(), "resume");
  EXPECT_EQ(sup.backoff_attempts(), 0U);
  ASSERT_TRUE(fx.timer);
  EXPECT_LE(*fx.timer - clock.now().mono, Supervisor::kWakeSpread);
  EXPECT_EQ(sup.stats().reason, "resume");
  fx.take();
  run_to_timer();
  EXPECT_EQ(fx.take(), (Lines{"state backoff->connecting resume", "connect"}));
}

TEST(WakeModes, WakeSpreadIsRandomPerUserWithinOneSecond) {
  std::set<long long> delays;
  for (std::uint64_t i = 1; i <= 50; ++i) {
    FakeClock clock;
    Recorder rec(clock);
    Supervisor s(make_config(), rec, i * 0x9E3779B97F4A7C15ULL);  // seeds as wide as the daemon's
    fail_attempts(s, clock, rec, 1);
    s.wake(clock.now(), "resume");
    ASSERT_TRUE(rec.timer);
    const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(*rec.timer - clock.now().mono);
    EXPECT_GE(delay.count(), 0);
    EXPECT_LE(delay.count(), 1000);
    delays.insert(delay.count());
  }
  EXPECT_GT(delays.size(), 25U);  // spread out, not one instant
}

TEST_F(WakeTest, ConnectingKeepsItsAttemptButForgetsPastFailures) {
  fail_attempts(sup, clock, fx, 3);
  run_to_timer();
  fx.take();
  ASSERT_EQ(sup.state(), State::Connecting);
  sup.wake(clock.now(), "resume");
  EXPECT_TRUE(fx.take().empty());
  EXPECT_EQ(sup.backoff_attempts(), 0U);
}

TEST_F(WakeTest, OfflineStopsAttemptsWithoutATimerAndFreezesTheCount) {
  fail_attempts(sup, clock, fx, 3);
  const int connects = fx.connects;
  sup.hold(clock.now(), Hold::Offline, false);
  EXPECT_EQ(fx.take(), (Lines{"cancel"}));
  EXPECT_FALSE(sup.deadline());
  EXPECT_EQ(sup.stats().reason, "offline");
  EXPECT_EQ(sup.backoff_attempts(), 3U);
  sup.reconnect(clock.now(), "manual");  // still no attempt while offline
  EXPECT_EQ(fx.connects, connects);
  EXPECT_FALSE(sup.deadline());
  EXPECT_EQ(sup.state(), State::Backoff);
}

TEST_F(WakeTest, OfflineAbortsAnAttemptInFlight) {
  sup.start(clock.now());
  sup.handshake_started(clock.now());
  fx.take();
  sup.hold(clock.now(), Hold::Offline, false);
  EXPECT_EQ(fx.take(), (Lines{"abort", "cancel", "state connecting->backoff offline"}));
  EXPECT_FALSE(sup.has_connection());
}

TEST_F(WakeTest, StartWhileOfflineWaits) {
  sup.hold(clock.now(), Hold::Offline, false);
  sup.start(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"state stopped->backoff offline"}));
  EXPECT_EQ(fx.connects, 0);
  sup.release(clock.now(), Hold::Offline, "network_change");
  ASSERT_TRUE(fx.timer);
  run_to_timer();
  EXPECT_EQ(fx.connects, 1);
  EXPECT_EQ(sup.stats().reason, "network_change");
}

TEST_F(WakeTest, OpenConnectionSurvivesOfflineAndIsProbedWhenBackOnline) {
  open_connection();
  sup.hold(clock.now(), Hold::Offline, false);
  EXPECT_TRUE(fx.take().empty());
  EXPECT_EQ(sup.state(), State::Open);
  clock.advance(100ms);
  sup.release(clock.now(), Hold::Offline, "network_change");
  EXPECT_EQ(fx.take(), (Lines{"text HeartBeat", "arm 2100"}));
}

TEST_F(WakeTest, ConnectionLostWhileOfflineWaitsWithoutCountingAnAttempt) {
  open_connection();
  sup.hold(clock.now(), Hold::Offline, false);
  clock.advance(100ms);
  fx.live = false;
  sup.disconnected(clock.now(), Disconnect{Disconnect::Cause::TcpReset, 0, ""});
  EXPECT_EQ(fx.take(), (Lines{"state open->backoff tcp_reset", "cancel"}));
  EXPECT_FALSE(sup.deadline());
  EXPECT_EQ(sup.backoff_attempts(), 0U);
  clock.advance(60s);
  fire_if_due();
  EXPECT_EQ(fx.connects, 1);
}

TEST_F(WakeTest, SleepWithCloseClosesGoingAwayAndReopensOnWake) {
  open_connection();
  sup.hold(clock.now(), Hold::Asleep, true);
  EXPECT_EQ(fx.take(), (Lines{"state open->closing sleep", "close 1001 going away", "arm 2000"}));
  fx.live = false;
  sup.disconnected(clock.now(), Disconnect{Disconnect::Cause::LocalClose, 1001, ""});
  EXPECT_EQ(fx.take(), (Lines{"cancel", "state closing->backoff sleep"}));
  EXPECT_FALSE(sup.deadline());
  sup.wake(clock.now(), "resume");  // a clock-gap wake while still held: nothing
  EXPECT_FALSE(sup.deadline());
  clock.advance(30s);
  sup.release(clock.now(), Hold::Asleep, "resume");
  ASSERT_TRUE(fx.timer);
  EXPECT_LE(*fx.timer - clock.now().mono, Supervisor::kWakeSpread);
  run_to_timer();
  EXPECT_EQ(fx.take().back(), "connect");
  EXPECT_EQ(sup.stats().reason, "resume");
}

TEST_F(WakeTest, EveryHoldMustBeReleased) {
  fail_attempts(sup, clock, fx, 1);
  sup.hold(clock.now(), Hold::Asleep, true);
  sup.hold(clock.now(), Hold::Offline, false);
  sup.release(clock.now(), Hold::Asleep, "resume");
  EXPECT_TRUE(sup.held());
  EXPECT_FALSE(sup.deadline());
  sup.release(clock.now(), Hold::Offline, "network_change");
  EXPECT_FALSE(sup.held());
  EXPECT_TRUE(sup.deadline());
  sup.release(clock.now(), Hold::Offline, "network_change");  // not held: nothing
}

TEST_F(WakeTest, StopWhileHeldStops) {
  fail_attempts(sup, clock, fx, 1);
  sup.hold(clock.now(), Hold::Offline, false);
  sup.stop(clock.now());
  EXPECT_EQ(sup.state(), State::Stopped);
  EXPECT_FALSE(sup.deadline());
}

}  // namespace
}  // namespace wsheart::supervisor
