// The supervisor with an injected clock (fixture.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fixture.hpp"
#include "supervisor/supervisor.hpp"

namespace wsheart::supervisor {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using test::FakeClock;
using test::Lines;
using test::make_config;
using test::Recorder;
using test::SupervisorTest;

TEST_F(SupervisorTest, StartConnectsAndOpens) {
  sup.start(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"state stopped->connecting started", "connect"}));
  EXPECT_EQ(sup.state(), State::Connecting);
  EXPECT_FALSE(sup.deadline());  // connect_timeout waits for the handshake slot
  sup.handshake_started(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"arm 10000"}));
  clock.advance(20ms);
  sup.opened(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"state connecting->open connected", "arm 5020"}));
  EXPECT_EQ(sup.stats().state_since_usec, clock.now().wall_usec);
  EXPECT_EQ(sup.stats().reconnects, 0U);
}

TEST_F(SupervisorTest, StartTwiceIsOneAttempt) {
  sup.start(clock.now());
  sup.start(clock.now());
  EXPECT_EQ(fx.connects, 1);
}

TEST_F(SupervisorTest, HeartbeatExactlyAtIntervalOfSilenceAndDeadAtIntervalPlusTimeout) {
  open_connection();
  clock.advance(4999ms);
  fire_if_due();
  EXPECT_TRUE(fx.take().empty());
  clock.advance(1ms);
  fire_if_due();
  EXPECT_EQ(fx.take(), (Lines{"text HeartBeat", "arm 10000"}));
  clock.advance(4999ms);
  fire_if_due();
  EXPECT_TRUE(fx.take().empty());
  clock.advance(1ms);
  fire_if_due();
  EXPECT_EQ(now_ms(), 10000);
  // Dead: closing, best-effort close + abort, and backoff at once (no close handshake wait).
  EXPECT_EQ(fx.take(), (Lines{"state open->closing heartbeat_timeout", "abort",
                              "state closing->backoff heartbeat_timeout", "arm 11000"}));
  EXPECT_FALSE(sup.has_connection());
}

// A stalled event loop fires the timeout late, possibly with the peer's
// frames still unread in the socket: confirm once after they had their turn.
TEST_F(SupervisorTest, LateTimeoutIsRecheckedOnceSoUnreadFramesCount) {
  open_connection();
  run_to_timer();  // heartbeat at 5000, timeout due at 10000
  fx.take();
  clock.advance(5000ms + 300ms);  // the loop wakes 300 ms late
  fire_if_due();
  EXPECT_EQ(fx.take(), (Lines{"arm 10310"}));
  EXPECT_EQ(sup.state(), State::Open);
  sup.frame(clock.now(), FrameKind::Text, "HeartBeat");  // was waiting in the socket
  run_to_timer();
  EXPECT_EQ(sup.state(), State::Open);
  EXPECT_EQ(fx.take(), (Lines{"arm 15300"}));
}

TEST_F(SupervisorTest, LateTimeoutWithNothingUnreadIsStillDead) {
  open_connection();
  run_to_timer();
  fx.take();
  clock.advance(5000ms + 300ms);
  fire_if_due();
  run_to_timer();
  EXPECT_EQ(sup.state(), State::Backoff);
  EXPECT_EQ(sup.stats().reason, "heartbeat_timeout");
}

TEST_F(SupervisorTest, HeartbeatReplyProvesLifeMeasuresRttAndIsNotRepublished) {
  open_connection();
  run_to_timer();
  EXPECT_EQ(fx.take(), (Lines{"text HeartBeat", "arm 10000"}));
  clock.advance(37ms);
  sup.frame(clock.now(), FrameKind::Text, "HeartBeat");
  // The reply proves life: the next heartbeat is due one interval after it.
  EXPECT_EQ(fx.take(), (Lines{"arm 10037"}));
  EXPECT_EQ(sup.stats().rtt_usec, 37000U);
  EXPECT_EQ(sup.stats().received, 0U);
  run_to_timer();
  EXPECT_EQ(fx.take(), (Lines{"text HeartBeat", "arm 15037"}));
  EXPECT_EQ(sup.state(), State::Open);
}

TEST_F(SupervisorTest, SteadyTrickleNeverSendsHeartbeatNorTimesOut) {
  open_connection();
  for (int i = 0; i < 1000; ++i) {
    clock.advance(4900ms);
    sup.frame(clock.now(), FrameKind::Text, "tick");
    fire_if_due();
  }
  for (const auto& line : fx.lines) {
    ASSERT_EQ(line.find("text HeartBeat"), std::string::npos) << line;
    ASSERT_EQ(line.find("state"), std::string::npos) << line;
  }
  EXPECT_EQ(sup.state(), State::Open);
  EXPECT_EQ(sup.stats().received, 1000U);
}

TEST_F(SupervisorTest, AnyInboundFrameAfterHeartbeatCountsAsLife) {
  open_connection();
  run_to_timer();  // heartbeat sent at 5000
  fx.take();
  clock.advance(4000ms);
  sup.frame(clock.now(), FrameKind::Ping, "");
  EXPECT_EQ(fx.take(), (Lines{"arm 14000"}));  // alive thanks to the ping at 9000
  run_to_timer();  // 14000: an interval of silence since then
  EXPECT_EQ(fx.take(), (Lines{"text HeartBeat", "arm 19000"}));
  EXPECT_EQ(sup.state(), State::Open);
  EXPECT_EQ(sup.stats().rtt_usec, 4000000U);  // text mode: heartbeat -> next inbound frame
}

TEST_F(SupervisorTest, ReceivesMessagesWithConsecutiveSeqIntoHistory) {
  open_connection();
  for (int i = 1; i <= 6; ++i) {
    clock.advance(1ms);
    sup.frame(clock.now(), i % 2 ? FrameKind::Text : FrameKind::Binary, "m" + std::to_string(i));
  }
  ASSERT_EQ(fx.messages.size(), 6U);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(fx.messages[i].seq, i + 1);
  EXPECT_FALSE(fx.messages[0].binary);
  EXPECT_TRUE(fx.messages[1].binary);
  EXPECT_EQ(sup.history().size(), 4U);  // history = 4: wrapped
  EXPECT_EQ(sup.history().since(0).front()->seq, 3U);
  EXPECT_EQ(sup.stats().received, 6U);
  EXPECT_EQ(sup.stats().last_message_usec, clock.now().wall_usec);
}

TEST_F(SupervisorTest, SeqAndHistorySurviveReconnects) {
  open_connection();
  sup.frame(clock.now(), FrameKind::Text, "a");
  sup.disconnected(clock.now(), Disconnect{Disconnect::Cause::TcpReset, 0, ""});
  run_to_timer();
  sup.handshake_started(clock.now());
  sup.opened(clock.now());
  sup.frame(clock.now(), FrameKind::Text, "b");
  ASSERT_EQ(fx.messages.size(), 2U);
  EXPECT_EQ(fx.messages[1].seq, 2U);
  EXPECT_EQ(sup.stats().reconnects, 1U);
}

TEST_F(SupervisorTest, PingModeSendsUniquePingsAndOnlyTheMatchingPongGivesRtt) {
  auto c = make_config();
  c.heartbeat = config::HeartbeatMode::Ping;
  Recorder rec(clock);
  Supervisor s(c, rec, 1);
  s.start(clock.now());
  s.handshake_started(clock.now());
  s.opened(clock.now());
  rec.take();
  clock.advance(5000ms);
  s.timer_fired(clock.now());
  EXPECT_EQ(rec.take(), (Lines{"ping wsheartd-1", "arm 10000"}));
  clock.advance(10ms);
  s.frame(clock.now(), FrameKind::Pong, "unrelated");  // proves life, gives no RTT
  EXPECT_EQ(s.stats().rtt_usec, 0U);
  EXPECT_EQ(rec.take(), (Lines{"arm 10010"}));
  clock.advance(5ms);
  s.frame(clock.now(), FrameKind::Pong, "wsheartd-1");
  EXPECT_EQ(s.stats().rtt_usec, 15000U);
  EXPECT_TRUE(rec.take().empty());  // re-armed once per heartbeat, not per frame
  clock.advance(4985ms);
  s.timer_fired(clock.now());  // 10000: early wake-up
  EXPECT_EQ(rec.take(), (Lines{"arm 10010"}));
  clock.advance(15ms);
  s.timer_fired(clock.now());
  EXPECT_EQ(rec.take(), (Lines{"ping wsheartd-2", "arm 15015"}));
}

TEST_F(SupervisorTest, HeartbeatOffNeverSendsNorDeclaresDead) {
  auto c = make_config();
  c.heartbeat = config::HeartbeatMode::Off;
  Recorder rec(clock);
  Supervisor s(c, rec, 1);
  s.start(clock.now());
  s.handshake_started(clock.now());
  s.opened(clock.now());
  EXPECT_FALSE(rec.timer.has_value());
  EXPECT_FALSE(s.deadline());
  EXPECT_EQ(s.state(), State::Open);
}

TEST_F(SupervisorTest, ConnectTimeoutAbortsAndBacksOff) {
  sup.start(clock.now());
  sup.handshake_started(clock.now());
  fx.take();
  run_to_timer();
  EXPECT_EQ(now_ms(), 10000);
  EXPECT_EQ(fx.take(), (Lines{"abort", "state connecting->backoff connect_timeout", "arm 11000"}));
}

TEST_F(SupervisorTest, BackoffGrowsAcrossFailuresAndRetryKeepsTheReason) {
  sup.start(clock.now());
  fx.take();
  const Disconnect refused{Disconnect::Cause::ConnectFailed, 0, "Connection refused"};
  std::vector<long long> delays;
  for (int i = 0; i < 8; ++i) {
    sup.disconnected(clock.now(), refused);
    const auto before = now_ms();
    run_to_timer();
    delays.push_back(now_ms() - before);
    EXPECT_EQ(sup.state(), State::Connecting);
  }
  EXPECT_EQ(delays, (std::vector<long long>{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000}));
  EXPECT_EQ(sup.stats().reason, "connect_failed: Connection refused");
  EXPECT_EQ(sup.stats().reconnects, 8U);
}

TEST_F(SupervisorTest, StableAfterResetsTheAttemptCounterOnlyAfterStayingOpen) {
  sup.start(clock.now());
  const Disconnect reset{Disconnect::Cause::TcpReset, 0, ""};
  // Three quick failures: next delay would be 8 s.
  for (int i = 0; i < 3; ++i) {
    sup.disconnected(clock.now(), Disconnect{Disconnect::Cause::ConnectFailed, 0, ""});
    run_to_timer();
  }
  EXPECT_EQ(sup.backoff_attempts(), 3U);
  // Open for 9.999 s (< stable_after): the counter keeps climbing.
  sup.handshake_started(clock.now());
  sup.opened(clock.now());
  sup.frame(clock.now(), FrameKind::Text, "keepalive");
  clock.advance(4999ms);
  sup.frame(clock.now(), FrameKind::Text, "keepalive");
  clock.advance(5000ms);
  sup.disconnected(clock.now(), reset);
  fx.take();
  auto before = now_ms();
  run_to_timer();
  EXPECT_EQ(now_ms() - before, 8000);
  // Open for exactly stable_after: the first retry is the initial delay again.
  sup.handshake_started(clock.now());
  sup.opened(clock.now());
  for (int i = 0; i < 10; ++i) {
    clock.advance(1000ms);
    sup.frame(clock.now(), FrameKind::Text, "keepalive");
  }
  sup.disconnected(clock.now(), reset);
  before = now_ms();
  run_to_timer();
  EXPECT_EQ(now_ms() - before, 1000);
}

TEST_F(SupervisorTest, FirstRetryAfterStableDropIsJitteredWithinInitial) {
  auto c = make_config();
  c.reconnect_jitter = config::Jitter::Full;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    Recorder rec(clock);
    Supervisor s(c, rec, seed);
    s.start(clock.now());
    s.handshake_started(clock.now());
    s.opened(clock.now());
    const auto opened_at = clock.now().mono;
    clock.advance(10s);
    s.frame(clock.now(), FrameKind::Text, "x");
    s.disconnected(clock.now(), Disconnect{Disconnect::Cause::ServerClose, 1001, ""});
    ASSERT_TRUE(rec.timer);
    const auto delay = *rec.timer - clock.now().mono;
    ASSERT_GE(delay.count(), 0);
    ASSERT_LE(delay, milliseconds(1000));
    (void)opened_at;
  }
}

TEST_F(SupervisorTest, FatalFailuresWaitFatalBackoff) {
  struct Case {
    Disconnect why;
    std::string reason;
    bool fatal;
  };
  const std::vector<Case> cases = {
      {{Disconnect::Cause::Http, 401, ""}, "http_401", true},
      {{Disconnect::Cause::Http, 403, ""}, "http_403", true},
      {{Disconnect::Cause::Http, 404, ""}, "http_404", true},
      {{Disconnect::Cause::Http, 503, ""}, "http_503", false},
      {{Disconnect::Cause::TlsVerify, 0, "certificate has expired"}, "tls_error: certificate has expired", true},
      {{Disconnect::Cause::TlsError, 0, "handshake failed"}, "tls_error: handshake failed", false},
      {{Disconnect::Cause::Dns, 0, ""}, "dns", false},
      {{Disconnect::Cause::Timeout, 0, ""}, "connect_timeout", false},
      {{Disconnect::Cause::ProxyFailed, 407, "proxy answered 407 Proxy Authentication Required"},
       "proxy_failed: proxy answered 407 Proxy Authentication Required", true},
      {{Disconnect::Cause::ProxyFailed, 401, "proxy answered 401 Unauthorized"},
       "proxy_failed: proxy answered 401 Unauthorized", true},
      {{Disconnect::Cause::ProxyFailed, 502, "proxy answered 502 Bad Gateway"},
       "proxy_failed: proxy answered 502 Bad Gateway", false},
      {{Disconnect::Cause::ProxyTimeout, 0, "no answer to CONNECT"}, "proxy_timeout: no answer to CONNECT", false},
  };
  for (const auto& tc : cases) {
    Recorder rec(clock);
    Supervisor s(make_config(), rec, 1);
    s.start(clock.now());
    s.disconnected(clock.now(), tc.why);
    EXPECT_EQ(s.stats().reason, tc.reason);
    ASSERT_TRUE(rec.timer);
    EXPECT_EQ(*rec.timer - clock.now().mono, tc.fatal ? Duration(600s) : Duration(1s)) << tc.reason;
  }
}

TEST_F(SupervisorTest, FatalCloseCodesAfterOpen) {
  for (std::uint16_t code : std::initializer_list<std::uint16_t>{1000, 1001, 1002, 1003, 1008, 1011}) {
    Recorder rec(clock);
    Supervisor s(make_config(), rec, 1);
    s.start(clock.now());
    s.handshake_started(clock.now());
    s.opened(clock.now());
    s.disconnected(clock.now(), Disconnect{Disconnect::Cause::ServerClose, code, ""});
    EXPECT_EQ(s.stats().reason, "server_close_" + std::to_string(code));
    const bool fatal = code == 1002 || code == 1003 || code == 1008;
    EXPECT_EQ(*rec.timer - clock.now().mono, fatal ? Duration(600s) : Duration(1s)) << code;
  }
}

TEST_F(SupervisorTest, MessageTooBigIsCountedAndBacksOff) {
  open_connection();
  sup.disconnected(clock.now(), Disconnect{Disconnect::Cause::MessageTooBig, 1009, ""});
  EXPECT_EQ(sup.stats().dropped, 1U);
  EXPECT_EQ(sup.stats().reason, "message_too_big");
  EXPECT_EQ(sup.state(), State::Backoff);
}

TEST_F(SupervisorTest, ManualReconnectFromBackoffCutsTheWaitAndResetsAttempts) {
  sup.start(clock.now());
  for (int i = 0; i < 4; ++i) {
    sup.disconnected(clock.now(), Disconnect{Disconnect::Cause::ConnectFailed, 0, ""});
    if (i < 3) run_to_timer();
  }
  EXPECT_EQ(sup.state(), State::Backoff);
  fx.take();
  sup.reconnect(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"cancel", "state backoff->connecting manual", "connect"}));
  EXPECT_EQ(sup.backoff_attempts(), 0U);
}

TEST_F(SupervisorTest, ManualReconnectWhileOpenClosesThenConnectsWithoutBackoff) {
  open_connection();
  sup.reconnect(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"state open->closing manual", "close 1000 reconnect", "arm 2000"}));
  clock.advance(3ms);
  sup.disconnected(clock.now(), Disconnect{Disconnect::Cause::LocalClose, 1000, ""});
  EXPECT_EQ(fx.take(), (Lines{"cancel", "state closing->connecting manual", "connect"}));
}

TEST_F(SupervisorTest, CloseHandshakeThatNeverCompletesIsAborted) {
  open_connection();
  sup.reconnect(clock.now());
  fx.take();
  run_to_timer();
  EXPECT_EQ(now_ms(), 2000);
  EXPECT_EQ(fx.take(), (Lines{"abort", "state closing->connecting manual", "connect"}));
  EXPECT_EQ(fx.connects, 2);
  // (A late event of the aborted socket never reaches the supervisor: the
  // daemon routes transport events by connection id and forgets aborted ones.)
}

TEST_F(SupervisorTest, StopClosesWithGoingAway) {
  open_connection();
  sup.stop(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"state open->closing stopping", "close 1001 going away", "arm 2000"}));
  sup.disconnected(clock.now(), Disconnect{Disconnect::Cause::LocalClose, 1001, ""});
  EXPECT_EQ(fx.take(), (Lines{"cancel", "state closing->stopped stopping"}));
  EXPECT_EQ(sup.send(clock.now(), "late"), SendResult::Stopped);
  sup.reconnect(clock.now());
  EXPECT_TRUE(fx.take().empty());
}

TEST_F(SupervisorTest, StopWhileConnectingAbortsAndWhileBackoffCancels) {
  sup.start(clock.now());
  sup.handshake_started(clock.now());
  fx.take();
  sup.stop(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"abort", "cancel", "state connecting->stopped stopping"}));
  EXPECT_FALSE(sup.has_connection());

  Recorder rec(clock);
  Supervisor s(make_config(), rec, 1);
  s.start(clock.now());
  s.disconnected(clock.now(), Disconnect{Disconnect::Cause::Dns, 0, ""});
  rec.take();
  s.stop(clock.now());
  EXPECT_EQ(rec.take(), (Lines{"cancel", "state backoff->stopped stopping"}));
}

TEST_F(SupervisorTest, StopDuringManualCloseWins) {
  open_connection();
  sup.reconnect(clock.now());
  sup.stop(clock.now());
  fx.take();
  sup.disconnected(clock.now(), Disconnect{Disconnect::Cause::LocalClose, 1000, ""});
  EXPECT_EQ(fx.take(), (Lines{"cancel", "state closing->stopped stopping"}));
}

TEST_F(SupervisorTest, SendQueueFlushesInOrderAfterOnOpenAndDropsOldestBeyondLimit) {
  auto c = make_config();
  c.on_open = {"hello", "subscribe"};
  Recorder rec(clock);
  Supervisor s(c, rec, 1);
  s.start(clock.now());
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(s.send(clock.now(), "q" + std::to_string(i)), SendResult::Queued);
  EXPECT_EQ(s.queued(), 3U);
  EXPECT_EQ(s.stats().dropped, 2U);
  rec.take();
  s.handshake_started(clock.now());
  s.opened(clock.now());
  EXPECT_EQ(rec.take(), (Lines{"arm 10000", "state connecting->open connected", "text hello", "text subscribe",
                               "text q3", "text q4", "text q5", "arm 5000"}));
  EXPECT_EQ(s.stats().sent, 5U);
  EXPECT_EQ(s.send(clock.now(), "now"), SendResult::Sent);
  EXPECT_EQ(rec.take(), (Lines{"text now"}));
}

// The transport refuses a text when the connection is already going down
// (e.g. the peer's close frame came in): the text is not lost and not counted
// as sent; it waits in the queue for the next connection, behind nothing.
TEST_F(SupervisorTest, RefusedSendIsQueuedNotCountedAndGoesOutOnTheNextConnection) {
  open_connection();
  fx.refuse = true;
  EXPECT_EQ(sup.send(clock.now(), "first"), SendResult::Queued);
  EXPECT_EQ(sup.send(clock.now(), "second"), SendResult::Queued);  // behind the first: not tried
  EXPECT_EQ(fx.take(), (Lines{"refused first"}));
  EXPECT_EQ(sup.stats().sent, 0U);
  EXPECT_EQ(sup.queued(), 2U);
  fx.refuse = false;
  sup.disconnected(clock.now(), Disconnect{Disconnect::Cause::ServerClose, 1001, ""});
  run_to_timer();  // backoff over
  sup.handshake_started(clock.now());
  sup.opened(clock.now());
  auto lines = fx.take();
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "text first"), 1) << ::testing::PrintToString(lines);
  EXPECT_LT(std::find(lines.begin(), lines.end(), "text first"), std::find(lines.begin(), lines.end(), "text second"));
  EXPECT_EQ(sup.stats().sent, 2U);
  EXPECT_EQ(sup.queued(), 0U);
}

// A flush refused half way keeps the rest for the next connection.
TEST_F(SupervisorTest, RefusedFlushKeepsTheRestQueued) {
  sup.start(clock.now());
  EXPECT_EQ(sup.send(clock.now(), "q1"), SendResult::Queued);
  EXPECT_EQ(sup.send(clock.now(), "q2"), SendResult::Queued);
  sup.handshake_started(clock.now());
  fx.refuse = true;
  sup.opened(clock.now());
  EXPECT_EQ(sup.queued(), 2U);
  EXPECT_EQ(sup.stats().sent, 0U);
}

// Heartbeats are the supervisor's own frames: never queued, never counted as
// sent, never replayed on a later connection, even when the transport refused
// them (where a user's text would be queued).
TEST_F(SupervisorTest, HeartbeatsNeverEnterTheQueue) {
  open_connection();
  fx.refuse = true;
  run_to_timer();  // heartbeat due: refused
  EXPECT_EQ(fx.take(), (Lines{"refused HeartBeat", "arm 10000"}));
  EXPECT_EQ(sup.queued(), 0U);
  run_to_timer();  // dead
  EXPECT_EQ(sup.state(), State::Backoff);
  fx.refuse = false;
  run_to_timer();  // reconnect
  sup.handshake_started(clock.now());
  fx.take();
  sup.opened(clock.now());
  const auto lines = fx.take();
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "text HeartBeat"), 0) << ::testing::PrintToString(lines);
  EXPECT_EQ(sup.queued(), 0U);
  EXPECT_EQ(sup.stats().sent, 0U);
}

TEST_F(SupervisorTest, StaleTransportEventsAfterAbortAreIgnored) {
  open_connection();
  run_to_timer();
  run_to_timer();  // heartbeat timeout -> abort -> backoff
  fx.take();
  sup.frame(clock.now(), FrameKind::Text, "late");
  sup.disconnected(clock.now(), Disconnect{Disconnect::Cause::TcpReset, 0, ""});
  sup.opened(clock.now());
  EXPECT_TRUE(fx.take().empty());
  EXPECT_EQ(sup.state(), State::Backoff);
}

TEST_F(SupervisorTest, ReconfigureUnchangedDoesNothingChangedReconnectsWithReloadKeepingSeq) {
  open_connection();
  sup.frame(clock.now(), FrameKind::Text, "a");
  fx.take();
  sup.reconfigure(make_config(), clock.now());
  EXPECT_TRUE(fx.take().empty());
  auto c = make_config();
  c.url = "ws://127.0.0.1/other";
  c.history = 1;
  sup.reconfigure(c, clock.now());
  EXPECT_EQ(fx.take(), (Lines{"state open->closing reload", "close 1000 reconnect", "arm 2000"}));
  sup.disconnected(clock.now(), Disconnect{Disconnect::Cause::LocalClose, 1000, ""});
  sup.handshake_started(clock.now());
  sup.opened(clock.now());
  sup.frame(clock.now(), FrameKind::Text, "b");
  EXPECT_EQ(fx.messages.back().seq, 2U);
  EXPECT_EQ(sup.history().size(), 1U);
  EXPECT_EQ(sup.config().url, "ws://127.0.0.1/other");
}

// Found by tests/fuzz/fuzz_supervisor: with heartbeat_timeout longer than
// heartbeat_interval, a quick reply used to leave the timer at "heartbeat +
// timeout", so the next heartbeat (and the death of a peer that went silent
// right after replying) came up to timeout - interval too late.
TEST(SupervisorRegression, DeadWithinIntervalPlusTimeoutOfTheLastFrameWhenTimeoutExceedsInterval) {
  FakeClock clock;
  Recorder fx(clock);
  auto c = make_config();
  c.heartbeat_interval = milliseconds(1000);
  c.heartbeat_timeout = milliseconds(5000);
  Supervisor sup(c, fx, 1);
  sup.start(clock.now());
  sup.handshake_started(clock.now());
  sup.opened(clock.now());
  fx.take();
  clock.advance(1000ms);
  sup.timer_fired(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"text HeartBeat", "arm 6000"}));
  clock.advance(10ms);
  sup.frame(clock.now(), FrameKind::Text, "HeartBeat");  // last inbound frame, at 1010
  EXPECT_EQ(fx.take(), (Lines{"arm 2010"}));
  clock.advance(1000ms);
  sup.timer_fired(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"text HeartBeat", "arm 7010"}));
  clock.advance(5000ms);
  sup.timer_fired(clock.now());  // 7010 = 1010 + interval + timeout
  EXPECT_EQ(fx.take(), (Lines{"state open->closing heartbeat_timeout", "abort",
                              "state closing->backoff heartbeat_timeout", "arm 8010"}));
}

// Found by tests/fuzz/fuzz_supervisor: a reload while an attempt was in
// flight kept that attempt, made with the old url and settings.
TEST(SupervisorRegression, ReloadWhileConnectingReplacesTheAttempt) {
  FakeClock clock;
  Recorder fx(clock);
  Supervisor sup(make_config(), fx, 1);
  sup.start(clock.now());
  sup.handshake_started(clock.now());
  fx.take();
  auto c = make_config();
  c.url = "ws://127.0.0.1/new";
  sup.reconfigure(c, clock.now());
  EXPECT_EQ(fx.take(), (Lines{"abort", "cancel", "connect"}));
  EXPECT_FALSE(fx.double_connect);
  EXPECT_EQ(sup.state(), State::Connecting);
  EXPECT_EQ(sup.stats().reason, "reload");
  EXPECT_EQ(sup.stats().reconnects, 1U);
  EXPECT_FALSE(sup.deadline());  // connect_timeout restarts with the new slot
  sup.handshake_started(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"arm 10000"}));
  sup.opened(clock.now());
  EXPECT_EQ(sup.state(), State::Open);
}

TEST_F(SupervisorTest, EarlyTimerWakeupIsRearmed) {
  open_connection();
  clock.advance(100ms);
  sup.timer_fired(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"arm 5000"}));
}

// ---- timer coalescing --------------------------------------------------------

TEST(TimerCoalescing, QuantumFollowsTheShortestPeriod) {
  auto quantum = [](int interval_ms, int timeout_ms) {
    auto c = make_config();
    c.heartbeat_interval = milliseconds(interval_ms);
    c.heartbeat_timeout = milliseconds(timeout_ms);
    return std::chrono::duration_cast<milliseconds>(heartbeat_quantum(c)).count();
  };
  EXPECT_EQ(quantum(5000, 5000), 32);    // 39 ms allowed: the largest power of two, capped at 32
  EXPECT_EQ(quantum(60000, 60000), 32);  // the cap
  EXPECT_EQ(quantum(2000, 2000), 8);     // 15.6 ms allowed
  EXPECT_EQ(quantum(1000, 3000), 4);     // the shorter one counts
  EXPECT_EQ(quantum(5000, 640), 4);
  EXPECT_EQ(quantum(128, 5000), 1);
  EXPECT_EQ(quantum(100, 100), 0);       // short periods (tests) stay exact
}

TEST(TimerCoalescing, RoundsUpToTheGridNeverDown) {
  const TimePoint base{std::chrono::hours(1000)};  // a multiple of 32 ms
  EXPECT_EQ(coalesce(base, 32ms), base);
  EXPECT_EQ(coalesce(base + std::chrono::nanoseconds(1), 32ms), base + 32ms);
  EXPECT_EQ(coalesce(base + 31ms, 32ms), base + 32ms);
  EXPECT_EQ(coalesce(base + 33ms, 32ms), base + 64ms);
  EXPECT_EQ(coalesce(base + 5ms, Duration::zero()), base + 5ms);
  EXPECT_EQ(coalesce(TimePoint{-Duration(5ms)}, 4ms), TimePoint{-Duration(4ms)});
}

// Users whose deadlines differ by less than a quantum wake up together; none
// sends a heartbeat before interval of silence, and death comes within
// interval + timeout + 2 quanta of the last inbound frame.
TEST(TimerCoalescing, HeartbeatsOfManyUsersShareWakeUpsWithinTheBound) {
  FakeClock clock;
  Recorder a_fx(clock);
  Recorder b_fx(clock);
  Supervisor a(make_config(), a_fx, 1, Coalescing::On);
  Supervisor b(make_config(), b_fx, 2, Coalescing::On);
  auto open = [&](Supervisor& s, Recorder& fx) {
    s.start(clock.now());
    s.handshake_started(clock.now());
    s.opened(clock.now());
    fx.take();
  };
  clock.advance(3ms);
  open(a, a_fx);  // last inbound frame at 3 ms
  clock.advance(14ms);
  open(b, b_fx);  // at 17 ms
  EXPECT_EQ(a.deadline(), clock.now().mono - 14ms + 5000ms);
  ASSERT_TRUE(a_fx.timer && b_fx.timer);
  EXPECT_EQ(*a_fx.timer, *b_fx.timer);  // one wake-up for both
  EXPECT_EQ(clock.since_base(*a_fx.timer).count(), 5024);
  EXPECT_EQ(a.fire_at(), *a_fx.timer);

  clock.advance(*a_fx.timer - clock.now().mono);
  a.timer_fired(clock.now());
  b.timer_fired(clock.now());
  EXPECT_EQ(a_fx.take(), (Lines{"text HeartBeat", "arm 10048"}));  // deadline 10024
  EXPECT_EQ(b_fx.take(), (Lines{"text HeartBeat", "arm 10048"}));

  clock.advance(*a_fx.timer - clock.now().mono);
  a.timer_fired(clock.now());  // on time at its fire time: no late recheck
  EXPECT_EQ(a.state(), State::Backoff);
  EXPECT_EQ(a.stats().reason, "heartbeat_timeout");
  EXPECT_LE(clock.elapsed().count() - 3, 5000 + 5000 + 2 * 32);
}

TEST(TimerCoalescing, AReplyReArmsOnTheGridAndLateWakeUpsAreStillRechecked) {
  FakeClock clock;
  Recorder fx(clock);
  Supervisor s(make_config(), fx, 1, Coalescing::On);
  s.start(clock.now());
  s.handshake_started(clock.now());
  s.opened(clock.now());
  EXPECT_EQ(fx.take().back(), "arm 5024");  // handshake timer exact (10000), heartbeat coalesced
  clock.advance(5024ms);
  s.timer_fired(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"text HeartBeat", "arm 10048"}));
  clock.advance(7ms);
  s.frame(clock.now(), FrameKind::Text, "HeartBeat");  // at 5031: next heartbeat due 10031
  EXPECT_TRUE(fx.take().empty());  // same grid point (10048) as the timer already armed: kept
  EXPECT_EQ(clock.since_base(*s.deadline()).count(), 10031);
  EXPECT_EQ(clock.since_base(s.fire_at()).count(), 10048);
  clock.advance(10048ms - 5031ms);
  s.timer_fired(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"text HeartBeat", "arm 15072"}));  // timeout deadline 15048
  // 40 ms after the fire time is a stalled loop, not coalescing: recheck once.
  clock.advance(15072ms + 40ms - 10048ms);
  s.timer_fired(clock.now());
  EXPECT_EQ(fx.take(), (Lines{"arm 15122"}));  // the recheck is exact
  EXPECT_EQ(s.state(), State::Open);
  clock.advance(10ms);
  s.timer_fired(clock.now());
  EXPECT_EQ(s.state(), State::Backoff);
}

// Invariant sweep: random event sequences never break the core promises.
TEST(SupervisorInvariants, RandomEventSequences) {
  FakeClock clock;
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    Recorder rec(clock);
    auto c = make_config();
    c.reconnect_jitter = config::Jitter::Full;
    const Coalescing coalescing = seed % 2 == 0 ? Coalescing::On : Coalescing::Off;
    const Duration quantum = coalescing == Coalescing::On ? heartbeat_quantum(c) : Duration::zero();
    Supervisor s(c, rec, seed, coalescing);
    std::mt19937_64 rng(seed);
    std::uint64_t last_received = 0;
    for (int step = 0; step < 400; ++step) {
      switch (rng() % 11) {
        case 0: s.start(clock.now()); break;
        case 1: s.stop(clock.now()); break;
        case 2: s.reconnect(clock.now()); break;
        case 3: s.handshake_started(clock.now()); break;
        case 4: s.opened(clock.now()); break;
        case 5:
          // The transport reports the end of the live connection (if any).
          if (s.has_connection()) rec.live = false;
          s.disconnected(clock.now(), Disconnect{static_cast<Disconnect::Cause>(rng() % 11),
                                                 static_cast<std::uint16_t>(1000 + rng() % 12), ""});
          break;
        case 6: s.frame(clock.now(), static_cast<FrameKind>(rng() % 4), rng() % 2 ? "HeartBeat" : "x"); break;
        case 7: s.send(clock.now(), "s"); break;
        case 8: clock.advance(milliseconds(rng() % 7000)); break;
        case 9:
          if (rec.timer && *rec.timer <= clock.now().mono) {
            rec.timer.reset();
            s.timer_fired(clock.now());
          }
          break;
        case 10: if (rec.timer) { clock.advance(*rec.timer - clock.now().mono); rec.timer.reset(); s.timer_fired(clock.now()); } break;
      }
      // A new connect only ever happens when no connection is live.
      ASSERT_FALSE(rec.double_connect) << "seed " << seed << " step " << step;
      ASSERT_EQ(rec.live, s.has_connection()) << "seed " << seed << " step " << step;
      const State st = s.state();
      ASSERT_EQ(s.has_connection(), st == State::Connecting || st == State::Open || st == State::Closing)
          << "seed " << seed << " step " << step << " state " << to_string(st);
      ASSERT_LE(s.queued(), c.send_queue_limit);
      ASSERT_GE(s.stats().received, last_received);
      last_received = s.stats().received;
      // Waiting states always have a deadline (except connecting before the slot).
      if (st == State::Backoff || st == State::Closing) {
        ASSERT_TRUE(s.deadline().has_value());
      }
      if (st == State::Stopped) {
        ASSERT_FALSE(s.deadline().has_value());
      }
      // The timer fires on the deadline, or (coalesced) less than a quantum after it.
      if (s.deadline() && rec.timer) {
        ASSERT_EQ(*rec.timer, s.fire_at()) << "seed " << seed << " step " << step;
        ASSERT_GE(s.fire_at(), *s.deadline());
        ASSERT_LE(s.fire_at() - *s.deadline(), quantum);
      }
    }
  }
}

}  // namespace
}  // namespace wsheart::supervisor
