// The per-user connection supervisor: PURE logic. No asio, no websocketpp, no
// sd-bus. Events come in as method calls with the current time; what must
// happen goes out through the Effects interface. The daemon executes effects;
// tests record them with an injected clock.
//
// States: connecting -> open -> closing -> backoff -> connecting, and stopped.
// At most one connection exists per supervisor: connect() is only emitted from
// a state with no connection, and every path out of connecting/open/closing
// either waits for the transport's disconnect or aborts the connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "config.hpp"
#include "supervisor/backoff.hpp"
#include "supervisor/history.hpp"

namespace wsheart::supervisor {

using MonoClock = std::chrono::steady_clock;
using TimePoint = MonoClock::time_point;
using Duration = MonoClock::duration;

// "Now", injected: monotonic for timing, wall clock (µs since the epoch) for
// what users see (StateSince, LastMessageAt, history timestamps).
struct Instant {
  TimePoint mono;
  std::uint64_t wall_usec = 0;
};

enum class State : std::uint8_t { Connecting, Open, Closing, Backoff, Stopped };
std::string_view to_string(State state);

enum class FrameKind : std::uint8_t { Text, Binary, Ping, Pong };

// Why an attempt or an open connection ended, as the transport saw it.
struct Disconnect {
  enum class Cause : std::uint8_t {
    Dns,            // name did not resolve
    ConnectFailed,  // TCP connect refused/unreachable
    Timeout,        // transport-level timeout (TCP/TLS/upgrade)
    TlsError,       // TLS handshake failed (not a verification failure)
    TlsVerify,      // certificate verification failed (non-retryable)
    Http,           // upgrade answered with a non-101 status: code = status
    ServerClose,    // peer sent a close frame: code = close code
    LocalClose,     // our close handshake completed: code = our code
    TcpReset,       // connection reset / EOF without a close frame
    MessageTooBig,  // inbound message over max_message_size (we closed 1009)
    ProxyFailed,    // the HTTP proxy refused CONNECT (code = its status) or broke off
    ProxyTimeout,   // the HTTP proxy did not answer CONNECT in time
    Other,
  };
  Cause cause = Cause::Other;
  std::uint16_t code = 0;
  std::string detail;  // for humans; never a secret
};

// What became of a text handed to send(): the one answer the bus reports.
// Sent: the transport took it. Queued: kept for the next connection (none is
// open, or the transport refused it because the connection is going down).
enum class SendResult : std::uint8_t { Sent, Queued, Stopped };

// Why connection attempts are held back (bits; any set = held): the network
// is down, or the machine is going to sleep with on_sleep = "close".
enum class Hold : std::uint8_t { Offline = 1, Asleep = 2 };
std::string_view to_string(Hold hold);  // the StateReason: "offline", "sleep"

// Heartbeat timers may fire up to one quantum after their deadline, on a grid
// shared by every user (multiples of the quantum on the monotonic clock), so
// that thousands of idle connections wake the loop together instead of one by
// one: on this class of machine a wake-up costs more than the heartbeat it
// serves. Off (the default) fires at the exact deadline.
enum class Coalescing : std::uint8_t { Off, On };
// The quantum for a user's heartbeat timers: the largest power of two in ms
// not above min(heartbeat_interval, heartbeat_timeout) / 128, at most 32 ms;
// zero below 1 ms. It adds at most two quanta to the detection bound.
Duration heartbeat_quantum(const config::UserConfig& config);
// The first grid point (multiple of `quantum` since the clock's epoch) at or after `deadline`.
TimePoint coalesce(TimePoint deadline, Duration quantum);

// What the supervisor needs done. Called synchronously from its methods.
class Effects {
 public:
  virtual ~Effects() = default;
  virtual void connect() = 0;                                           // start one attempt
  // On the open connection. False: the transport refused it (the connection
  // is going down, e.g. the peer's close frame came first); nothing was sent.
  virtual bool send_text(std::string_view text) = 0;
  virtual void send_ping(std::string_view payload) = 0;                 // RFC 6455 ping
  virtual void close(std::uint16_t code, std::string_view reason) = 0;  // graceful close handshake
  virtual void abort() = 0;  // best-effort close frame, then drop the socket now; no disconnect follows
  virtual void arm_timer(TimePoint deadline) = 0;  // replaces any armed deadline
  virtual void cancel_timer() = 0;
  virtual void state_changed(State old_state, State new_state, std::string_view reason) = 0;
  virtual void message(const Message& message) = 0;  // republish (seq already assigned)
  // An inbound text before it gets a seq: false drops it (a replay already
  // republished). It still proved the connection alive.
  virtual bool admit(std::string_view /*text*/) { return true; }
  // An on_open frame, which the daemon may render with cursor values first.
  virtual bool send_on_open(std::string_view text) { return send_text(text); }
};

struct Stats {
  State state = State::Stopped;
  std::string reason = "started";
  std::uint64_t state_since_usec = 0;
  std::uint64_t rtt_usec = 0;
  std::uint32_t reconnects = 0;  // connection attempts after the first one
  std::uint64_t received = 0;    // republished inbound messages
  std::uint64_t sent = 0;        // text frames we sent for the user (not heartbeats)
  std::uint64_t dropped = 0;     // queue overflow, oversize inbound, bus could not take it
  std::uint64_t last_message_usec = 0;
};

class Supervisor {
 public:
  // How long a graceful close may take before the socket is aborted.
  static constexpr Duration kCloseTimeout = std::chrono::seconds(2);
  // A timer that fires this late means the loop itself was stalled: frames
  // may be waiting unread in the socket, so a heartbeat timeout is confirmed
  // once more kLateRecheck later, after pending reads had their turn.
  static constexpr Duration kLateWakeup = std::chrono::milliseconds(25);
  static constexpr Duration kLateRecheck = std::chrono::milliseconds(10);
  // After a wake a user in backoff reconnects after uniform(0, kWakeSpread),
  // so that every user of a woken machine does not start in the same instant.
  static constexpr Duration kWakeSpread = std::chrono::seconds(1);

  Supervisor(config::UserConfig config, Effects& effects, std::uint64_t random_seed,
             Coalescing coalescing = Coalescing::Off);

  // Lifecycle.
  void start(Instant now);                          // stopped -> connecting ("started")
  void stop(Instant now);                           // close 1001 "going away" -> stopped ("stopping")
  void reconnect(Instant now, std::string_view reason = "manual");  // cut any wait, reset attempts
  // New settings for the same id. Connection-relevant changes reconnect with
  // reason "reload"; seq, history and counters are kept either way, except
  // that a changed unix_uid empties the history (it was another reader's).
  void reconfigure(config::UserConfig config, Instant now);

  // The machine woke up or the network came back (reason "resume" or
  // "network_change"). Open: a heartbeat probe goes out now and the
  // connection is dead if nothing arrives within wake_probe_timeout (never
  // later than the regular heartbeat bound). Backoff: the delay is cancelled,
  // the attempt count reset, and the next attempt comes after
  // uniform(0, kWakeSpread). Connecting: the attempt count is reset. Ignored
  // while held (release() wakes).
  void wake(Instant now, std::string_view reason);
  // While any hold is set no connection attempt starts: an attempt in flight
  // is aborted, backoff waits without a timer and failures do not count as
  // attempts. `close_open` also closes an open connection (1001).
  void hold(Instant now, Hold why, bool close_open);
  // Clears one hold; when none is left, wakes with `reason`.
  void release(Instant now, Hold why, std::string_view reason);

  // Transport events, for the current connection only.
  void handshake_started(Instant now);  // a handshake slot was granted: connect_timeout runs from here
  void opened(Instant now);
  void disconnected(Instant now, const Disconnect& why);
  void frame(Instant now, FrameKind kind, std::string payload);

  void timer_fired(Instant now);
  SendResult send(Instant now, std::string text);
  void count_dropped(std::uint64_t n = 1) { stats_.dropped += n; }
  // Seq goes on after `last_seq` (restored from the state file); never backwards.
  void continue_seq(std::uint64_t last_seq) { history_.continue_after(last_seq); }

  // Observers.
  State state() const { return stats_.state; }
  const Stats& stats() const { return stats_; }
  const HistoryRing& history() const { return history_; }
  const config::UserConfig& config() const { return config_; }
  std::size_t queued() const { return queue_.size(); }
  // The deadline the state machine waits for, and when its timer is set to
  // fire (later by less than a quantum for coalesced heartbeat timers).
  std::optional<TimePoint> deadline() const { return deadline_; }
  TimePoint fire_at() const { return fire_at_; }
  bool has_connection() const { return has_connection_; }
  unsigned backoff_attempts() const { return backoff_.attempts(); }
  bool held() const { return holds_ != 0; }
  // A wake probe is outstanding (its reason is what a failure reports).
  bool probing() const { return !probe_reason_.empty(); }

 private:
  enum class AfterClose : std::uint8_t { Reconnect, Stop };

  void set_state(Instant now, State next, std::string_view reason);
  void begin_connect(Instant now, std::string_view reason);
  void enter_backoff(Instant now, std::string_view reason, bool fatal);
  void begin_close(Instant now, std::uint16_t code, std::string_view close_reason,
                   std::string_view reason, AfterClose after);
  void finish_close(Instant now);
  void arm(TimePoint deadline);
  void arm_heartbeat(TimePoint deadline);  // coalesced when enabled
  void disarm();
  void rearm_heartbeat(Instant now);
  void heartbeat_due(Instant now, Duration lateness);
  void forget_attempts_if_stable(Instant now);
  void on_open_flush();
  void send_heartbeat(Instant now, TimePoint deadline);
  void probe(Instant now, std::string_view reason);
  void enqueue(std::string text);

  config::UserConfig config_;
  Effects& fx_;
  Coalescing coalescing_;
  Duration quantum_{};
  Rng rng_;
  Backoff backoff_;
  HistoryRing history_;
  std::list<std::string> queue_;  // usually empty: a list allocates nothing then
  Stats stats_;

  bool has_connection_ = false;
  std::uint8_t holds_ = 0;  // Hold bits
  bool started_once_ = false;
  std::optional<TimePoint> deadline_;
  TimePoint fire_at_{};

  // Open-state liveness.
  TimePoint opened_at_{};
  TimePoint last_rx_{};
  std::optional<TimePoint> heartbeat_sent_;
  Duration reply_timeout_{};  // for the outstanding heartbeat: heartbeat_timeout, or shorter for a wake probe
  std::string probe_reason_;  // non-empty while a wake probe is outstanding
  bool late_recheck_done_ = false;  // one recheck per heartbeat timeout
  std::string ping_payload_;  // payload of the outstanding ping (ping mode)
  std::uint64_t ping_counter_ = 0;

  // Closing.
  AfterClose after_close_ = AfterClose::Reconnect;
  std::string close_state_reason_;
};

}  // namespace wsheart::supervisor
