#include "supervisor/supervisor.hpp"

#include <algorithm>
#include <utility>

namespace wsheart::supervisor {

namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// A larger grid would stretch the detection bound for little gain: at 32 ms,
// 10,000 users at a 5 s heartbeat share ~30 wake-ups per second.
constexpr milliseconds kMaxQuantum{32};

std::string reason_for(const Disconnect& why, State state) {
  std::string word;
  switch (why.cause) {
    case Disconnect::Cause::Dns: word = "dns"; break;
    case Disconnect::Cause::ConnectFailed: word = "connect_failed"; break;
    case Disconnect::Cause::Timeout: word = "connect_timeout"; break;
    case Disconnect::Cause::TlsError:
    case Disconnect::Cause::TlsVerify: word = "tls_error"; break;
    case Disconnect::Cause::Http: word = "http_" + std::to_string(why.code); break;
    case Disconnect::Cause::ServerClose: word = "server_close_" + std::to_string(why.code); break;
    case Disconnect::Cause::TcpReset: word = "tcp_reset"; break;
    case Disconnect::Cause::MessageTooBig: word = "message_too_big"; break;
    case Disconnect::Cause::ProxyFailed: word = "proxy_failed"; break;
    case Disconnect::Cause::ProxyTimeout: word = "proxy_timeout"; break;
    case Disconnect::Cause::LocalClose:
    case Disconnect::Cause::Other:
      // We closed because the peer broke the protocol (e.g. 1007 invalid
      // UTF-8): the close code is what the user needs to see.
      if (why.code != 0) {
        word = "server_close_" + std::to_string(why.code);
      } else {
        word = state == State::Connecting ? "connect_failed" : "tcp_reset";
      }
      break;
  }
  // An HTTP status says it all ("http_401"); elsewhere the detail helps.
  if (!why.detail.empty() && why.cause != Disconnect::Cause::Http) {
    word += ": ";
    word += why.detail;
  }
  return word;
}

// Retrying these soon cannot help: wait fatal_backoff instead.
bool is_fatal(const Disconnect& why) {
  switch (why.cause) {
    case Disconnect::Cause::Http: return why.code == 401 || why.code == 403 || why.code == 404;
    case Disconnect::Cause::TlsVerify: return true;
    // Missing or wrong proxy credentials, like a 401 from the server (some
    // proxies, tinyproxy among them, answer wrong ones with 401). proxy_auth_file
    // is re-read on the next attempt.
    case Disconnect::Cause::ProxyFailed: return why.code == 407 || why.code == 401;
    case Disconnect::Cause::ServerClose: return why.code == 1002 || why.code == 1003 || why.code == 1008;
    default: return false;
  }
}

}  // namespace

std::string_view to_string(State state) {
  switch (state) {
    case State::Connecting: return "connecting";
    case State::Open: return "open";
    case State::Closing: return "closing";
    case State::Backoff: return "backoff";
    case State::Stopped: return "stopped";
  }
  return "stopped";
}

std::string_view to_string(Hold hold) {
  switch (hold) {
    case Hold::Offline: return "offline";
    case Hold::Asleep: return "sleep";
  }
  return "offline";
}

Duration heartbeat_quantum(const config::UserConfig& config) {
  const auto shortest = std::min<Duration>(config.heartbeat_interval, config.heartbeat_timeout);
  const auto limit = duration_cast<milliseconds>(shortest / 128);
  if (limit < milliseconds(1)) return Duration::zero();
  milliseconds quantum(1);
  while (quantum * 2 <= limit && quantum * 2 <= kMaxQuantum) quantum *= 2;
  return quantum;
}

TimePoint coalesce(TimePoint deadline, Duration quantum) {
  if (quantum <= Duration::zero()) return deadline;
  const Duration since_epoch = deadline.time_since_epoch();
  const Duration rest = since_epoch % quantum;
  if (rest == Duration::zero()) return deadline;
  return deadline + (rest > Duration::zero() ? quantum - rest : -rest);
}

Supervisor::Supervisor(config::UserConfig config, Effects& effects, std::uint64_t random_seed, Coalescing coalescing)
    : config_(std::move(config)),
      fx_(effects),
      coalescing_(coalescing),
      quantum_(coalescing == Coalescing::On ? heartbeat_quantum(config_) : Duration::zero()),
      rng_(random_seed),
      backoff_(config_.reconnect_initial, config_.reconnect_max, config_.reconnect_multiplier,
               config_.reconnect_jitter),
      history_(config_.history) {}

// ---- lifecycle -------------------------------------------------------------

void Supervisor::start(Instant now) {
  if (stats_.state != State::Stopped || has_connection_) return;
  begin_connect(now, "started");
}

void Supervisor::stop(Instant now) {
  switch (stats_.state) {
    case State::Stopped: return;
    case State::Open: begin_close(now, 1001, "going away", "stopping", AfterClose::Stop); return;
    case State::Closing:
      after_close_ = AfterClose::Stop;
      stats_.reason = "stopping";
      return;
    case State::Connecting:
      if (has_connection_) {
        has_connection_ = false;
        fx_.abort();
      }
      break;
    case State::Backoff: break;
  }
  disarm();
  set_state(now, State::Stopped, "stopping");
}

void Supervisor::reconnect(Instant now, std::string_view reason) {
  backoff_.reset();
  switch (stats_.state) {
    case State::Open: begin_close(now, 1000, "reconnect", reason, AfterClose::Reconnect); return;
    case State::Closing:
      if (after_close_ != AfterClose::Stop) {
        after_close_ = AfterClose::Reconnect;
        stats_.reason = std::string(reason);
      }
      return;
    case State::Backoff:
      disarm();
      begin_connect(now, reason);
      return;
    case State::Connecting:  // an attempt is already in flight: it is the reconnect
    case State::Stopped: return;
  }
}

void Supervisor::reconfigure(config::UserConfig config, Instant now) {
  if (config == config_) return;
  // The history was readable by the previous unix_user only: a new reader
  // (another user, or everyone) must not get it. seq goes on regardless.
  const bool new_reader = config.unix_uid != config_.unix_uid;
  config_ = std::move(config);
  quantum_ = coalescing_ == Coalescing::On ? heartbeat_quantum(config_) : Duration::zero();
  backoff_ = Backoff(config_.reconnect_initial, config_.reconnect_max, config_.reconnect_multiplier,
                     config_.reconnect_jitter);
  if (new_reader) history_.set_capacity(0);
  history_.set_capacity(config_.history);
  while (queue_.size() > config_.send_queue_limit) {
    queue_.pop_front();
    ++stats_.dropped;
  }
  if (stats_.state == State::Connecting && has_connection_) {
    // The attempt in flight was made with the old url, headers and timeouts:
    // replace it, or the user would end up connected with the old settings.
    // (Found by tests/fuzz/fuzz_supervisor.) The state stays connecting.
    backoff_.reset();
    fx_.abort();
    disarm();  // connect_timeout starts again when the new attempt gets its slot
    ++stats_.reconnects;
    stats_.reason = "reload";
    fx_.connect();
    return;
  }
  reconnect(now, "reload");
}

// ---- wake, network and sleep -----------------------------------------------

void Supervisor::wake(Instant now, std::string_view reason) {
  if (holds_ != 0) return;
  switch (stats_.state) {
    case State::Open:
      backoff_.reset();
      probe(now, reason);
      return;
    case State::Backoff: {
      backoff_.reset();
      stats_.reason = std::string(reason);
      const auto spread = std::chrono::duration_cast<milliseconds>(kWakeSpread).count();
      arm(now.mono + milliseconds(std::uniform_int_distribution<long long>(0, spread)(rng_)));
      return;
    }
    case State::Connecting: backoff_.reset(); return;
    case State::Closing:
    case State::Stopped: return;
  }
}

void Supervisor::hold(Instant now, Hold why, bool close_open) {
  holds_ = static_cast<std::uint8_t>(holds_ | static_cast<std::uint8_t>(why));
  const std::string reason(to_string(why));
  switch (stats_.state) {
    case State::Open:
      if (close_open) begin_close(now, 1001, "going away", reason, AfterClose::Reconnect);
      return;
    case State::Connecting:
      has_connection_ = false;
      fx_.abort();
      disarm();
      set_state(now, State::Backoff, reason);
      return;
    case State::Backoff:
      disarm();
      stats_.reason = reason;
      return;
    case State::Closing:  // the reconnect after it is held back by begin_connect
    case State::Stopped: return;
  }
}

void Supervisor::release(Instant now, Hold why, std::string_view reason) {
  const auto bit = static_cast<std::uint8_t>(why);
  if ((holds_ & bit) == 0) return;
  holds_ = static_cast<std::uint8_t>(holds_ & ~bit);
  wake(now, reason);
}

void Supervisor::probe(Instant now, std::string_view reason) {
  if (config_.heartbeat == config::HeartbeatMode::Off) return;
  // Never later than the regular heartbeat would have noticed a dead peer.
  const TimePoint regular = heartbeat_sent_ ? *heartbeat_sent_ + reply_timeout_
                                            : last_rx_ + config_.heartbeat_interval + config_.heartbeat_timeout;
  send_heartbeat(now, std::min(now.mono + Duration(config_.wake_probe_timeout), regular));
  probe_reason_ = std::string(reason);
}

// ---- transport events ------------------------------------------------------

void Supervisor::handshake_started(Instant now) {
  if (stats_.state == State::Connecting && has_connection_) arm(now.mono + config_.connect_timeout);
}

void Supervisor::opened(Instant now) {
  if (stats_.state != State::Connecting || !has_connection_) return;
  opened_at_ = now.mono;
  last_rx_ = now.mono;
  heartbeat_sent_.reset();
  probe_reason_.clear();
  set_state(now, State::Open, "connected");
  on_open_flush();
  rearm_heartbeat(now);
}

void Supervisor::disconnected(Instant now, const Disconnect& why) {
  if (!has_connection_) return;  // stale: the connection was aborted already
  has_connection_ = false;
  switch (stats_.state) {
    case State::Connecting: enter_backoff(now, reason_for(why, State::Connecting), is_fatal(why)); return;
    case State::Open:
      if (why.cause == Disconnect::Cause::MessageTooBig) ++stats_.dropped;
      forget_attempts_if_stable(now);
      enter_backoff(now, reason_for(why, State::Open), is_fatal(why));
      return;
    case State::Closing: finish_close(now); return;
    case State::Backoff:
    case State::Stopped: return;
  }
}

void Supervisor::frame(Instant now, FrameKind kind, std::string payload) {
  if (stats_.state != State::Open && stats_.state != State::Closing) return;
  last_rx_ = now.mono;
  if (heartbeat_sent_) {
    const bool measures_rtt = config_.heartbeat == config::HeartbeatMode::Ping
                                  ? (kind == FrameKind::Pong && payload == ping_payload_)
                                  : true;
    // The armed deadline is "heartbeat sent + timeout" (dead). Life is now
    // proven, so the next heartbeat is due one interval after this frame:
    // re-arm once. Without this a reply that came quickly left the timer at
    // the old deadline, and with heartbeat_timeout > heartbeat_interval a
    // peer going silent right after a reply was declared dead up to
    // timeout - interval later than the documented bound (found by
    // tests/fuzz/fuzz_supervisor). Only the first frame after a heartbeat
    // re-arms, so a busy connection still costs one wake-up per interval.
    const bool awaiting_reply = deadline_ && *deadline_ == *heartbeat_sent_ + reply_timeout_;
    probe_reason_.clear();  // any frame answers a wake probe
    if (measures_rtt) {
      stats_.rtt_usec = static_cast<std::uint64_t>(duration_cast<microseconds>(now.mono - *heartbeat_sent_).count());
      heartbeat_sent_.reset();
    }
    // In ping mode another frame proves life too; the pong is still awaited for the RTT.
    if (awaiting_reply && stats_.state == State::Open) arm_heartbeat(last_rx_ + config_.heartbeat_interval);
  }
  switch (kind) {
    case FrameKind::Text:
      if (config_.heartbeat == config::HeartbeatMode::Text && payload == config_.heartbeat_reply) return;
      if (!fx_.admit(payload)) return;
      [[fallthrough]];
    case FrameKind::Binary: {
      Message message{history_.next_seq(), now.wall_usec, kind == FrameKind::Binary, std::move(payload)};
      ++stats_.received;
      stats_.last_message_usec = now.wall_usec;
      fx_.message(message);
      history_.push(std::move(message));
      return;
    }
    case FrameKind::Ping:
    case FrameKind::Pong: return;
  }
}

void Supervisor::timer_fired(Instant now) {
  if (!deadline_) return;
  if (now.mono < *deadline_) {  // early or stale wake-up: keep waiting
    fx_.arm_timer(fire_at_);
    return;
  }
  // Late relative to when the timer was meant to fire, not to the deadline:
  // a coalesced timer fires up to a quantum after its deadline by design.
  const Duration lateness = now.mono > fire_at_ ? now.mono - fire_at_ : Duration::zero();
  deadline_.reset();
  switch (stats_.state) {
    case State::Connecting:
      has_connection_ = false;
      fx_.abort();
      enter_backoff(now, "connect_timeout", false);
      return;
    case State::Open: heartbeat_due(now, lateness); return;
    case State::Closing:
      // The peer did not finish the close handshake in time.
      has_connection_ = false;
      fx_.abort();
      finish_close(now);
      return;
    case State::Backoff: begin_connect(now, stats_.reason); return;
    case State::Stopped: return;
  }
}

SendResult Supervisor::send(Instant /*now*/, std::string text) {
  if (stats_.state == State::Stopped) return SendResult::Stopped;
  // Texts already queued go first: the queue is non-empty while open only
  // after a refused flush, and then the connection is on its way down.
  if (stats_.state == State::Open && queue_.empty() && fx_.send_text(text)) {
    ++stats_.sent;
    return SendResult::Sent;
  }
  enqueue(std::move(text));
  return SendResult::Queued;
}

void Supervisor::enqueue(std::string text) {
  queue_.push_back(std::move(text));
  while (queue_.size() > config_.send_queue_limit) {
    queue_.pop_front();
    ++stats_.dropped;
  }
}

// ---- internals -------------------------------------------------------------

void Supervisor::set_state(Instant now, State next, std::string_view reason) {
  const State old = stats_.state;
  stats_.state = next;
  stats_.reason = std::string(reason);
  stats_.state_since_usec = now.wall_usec;
  fx_.state_changed(old, next, stats_.reason);
}

void Supervisor::begin_connect(Instant now, std::string_view reason) {
  // Copy first: `reason` may point into stats_.reason, which set_state rewrites.
  const std::string why(reason);
  disarm();
  if (holds_ != 0) {  // wait without a timer: release() wakes
    const std::string held(to_string((holds_ & static_cast<std::uint8_t>(Hold::Offline)) != 0 ? Hold::Offline
                                                                                               : Hold::Asleep));
    if (stats_.state == State::Backoff) {
      stats_.reason = held;
    } else {
      set_state(now, State::Backoff, held);
    }
    return;
  }
  if (started_once_) ++stats_.reconnects;
  started_once_ = true;  // connect_timeout starts when the handshake slot is granted
  has_connection_ = true;
  set_state(now, State::Connecting, why);
  fx_.connect();
}

void Supervisor::enter_backoff(Instant now, std::string_view reason, bool fatal) {
  const std::string why(reason);
  set_state(now, State::Backoff, why);
  if (holds_ != 0) {  // no timer, and the attempt count stays where it is
    disarm();
    return;
  }
  const Duration delay = fatal ? Duration(config_.fatal_backoff) : Duration(backoff_.next(rng_));
  arm(now.mono + delay);
}

void Supervisor::begin_close(Instant now, std::uint16_t code, std::string_view close_reason,
                             std::string_view reason, AfterClose after) {
  after_close_ = after;
  heartbeat_sent_.reset();
  probe_reason_.clear();
  set_state(now, State::Closing, reason);
  fx_.close(code, close_reason);
  arm(now.mono + kCloseTimeout);
}

void Supervisor::finish_close(Instant now) {
  switch (after_close_) {
    case AfterClose::Reconnect: begin_connect(now, stats_.reason); return;
    case AfterClose::Stop:
      disarm();
      set_state(now, State::Stopped, "stopping");
      return;
  }
}

// Only a connection that stayed up for stable_after earns a fresh start; a
// flapping one keeps climbing the backoff ladder.
void Supervisor::forget_attempts_if_stable(Instant now) {
  if (now.mono - opened_at_ >= config_.stable_after) backoff_.reset();
}

void Supervisor::heartbeat_due(Instant now, Duration lateness) {
  if (config_.heartbeat == config::HeartbeatMode::Off) return;
  // (A wake probe is answered only by a frame after it: frame() clears probe_reason_.)
  if (heartbeat_sent_ && last_rx_ >= *heartbeat_sent_ && probe_reason_.empty()) {
    // Something arrived after the heartbeat (not the matching pong in ping
    // mode): alive. Stop waiting for a reply; a new heartbeat is due once
    // the line has been silent for an interval (checked below).
    heartbeat_sent_.reset();
  }
  if (heartbeat_sent_) {
    if (lateness > kLateWakeup && !late_recheck_done_) {
      late_recheck_done_ = true;
      arm(now.mono + kLateRecheck);
      return;
    }
    // Silence for interval + timeout (or a wake probe unanswered): dead. A
    // dead peer never answers a close handshake, so send a best-effort close
    // frame and abort at once.
    const std::string why = probe_reason_.empty() ? std::string("heartbeat_timeout") : std::move(probe_reason_);
    probe_reason_.clear();
    heartbeat_sent_.reset();
    forget_attempts_if_stable(now);
    set_state(now, State::Closing, why);
    has_connection_ = false;
    fx_.abort();
    enter_backoff(now, why, false);
    return;
  }
  if (now.mono - last_rx_ < config_.heartbeat_interval) {
    rearm_heartbeat(now);  // traffic since the deadline was set
    return;
  }
  send_heartbeat(now, now.mono + config_.heartbeat_timeout);
}

void Supervisor::send_heartbeat(Instant now, TimePoint deadline) {
  heartbeat_sent_ = now.mono;
  reply_timeout_ = deadline - now.mono;
  probe_reason_.clear();
  late_recheck_done_ = false;
  if (config_.heartbeat == config::HeartbeatMode::Ping) {
    ping_payload_ = "wsheartd-" + std::to_string(++ping_counter_);
    fx_.send_ping(ping_payload_);
  } else {
    // Never queued, even when refused: the timeout below notices a connection
    // that cannot carry it, and a stale heartbeat is no use to the next one.
    fx_.send_text(config_.heartbeat_payload);
  }
  arm_heartbeat(deadline);
}

void Supervisor::rearm_heartbeat(Instant /*now*/) {
  if (config_.heartbeat == config::HeartbeatMode::Off) {
    disarm();
    return;
  }
  if (heartbeat_sent_) {
    arm_heartbeat(*heartbeat_sent_ + reply_timeout_);
  } else {
    arm_heartbeat(last_rx_ + config_.heartbeat_interval);
  }
}

// A refusal means the new connection is already going down: what was not
// sent stays queued (on_open texts are sent again on every open anyway).
void Supervisor::on_open_flush() {
  for (const auto& text : config_.on_open) {
    if (!fx_.send_on_open(text)) return;
    ++stats_.sent;
  }
  while (!queue_.empty()) {
    if (!fx_.send_text(queue_.front())) return;
    ++stats_.sent;
    queue_.pop_front();
  }
}

void Supervisor::arm(TimePoint deadline) {
  deadline_ = deadline;
  fire_at_ = deadline;
  fx_.arm_timer(deadline);
}

void Supervisor::arm_heartbeat(TimePoint deadline) {
  const TimePoint fire_at = coalesce(deadline, quantum_);
  // A reply usually moves the deadline by a round-trip only, which lands on
  // the grid point already armed: keep that timer (no cancel and re-arm).
  const bool same_wakeup = deadline_.has_value() && fire_at == fire_at_;
  deadline_ = deadline;
  fire_at_ = fire_at;
  if (!same_wakeup) fx_.arm_timer(fire_at_);
}

void Supervisor::disarm() {
  if (!deadline_) return;
  deadline_.reset();
  fx_.cancel_timer();
}

}  // namespace wsheart::supervisor
