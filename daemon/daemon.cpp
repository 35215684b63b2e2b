#include "daemon.hpp"

#include <sys/resource.h>

#include <asio/post.hpp>
#include <chrono>
#include <csignal>
#include <utility>
#include <random>
#include <system_error>

#include "bus/names.hpp"
#include "resume/user_resume.hpp"
#include "url.hpp"

namespace wsheart {

using supervisor::State;

// One configured user: its supervisor, its timer, and the effects that the
// supervisor asks for, executed against the daemon's transport and bus. The
// bus reaches it as a UserSource through its entry, never by id.
class Daemon::User final : public supervisor::Effects, public bus::UserSource {
 public:
  User(Daemon& daemon, const config::UserConfig& config, std::uint64_t seed, HandshakeLimiter::Token token)
      : daemon_(daemon),
        timer_(daemon.io_),
        sup_(config, *this, seed, supervisor::Coalescing::On),
        token_(token) {}
  ~User() override { timer_.cancel(); }
  User(const User&) = delete;
  User& operator=(const User&) = delete;

  supervisor::Supervisor& sup() { return sup_; }
  const supervisor::Supervisor& sup() const { return sup_; }
  const std::string& id() const { return sup_.config().id; }
  HandshakeLimiter::Token token() const { return token_; }

  std::weak_ptr<User> self;
  transport::ConnId conn = 0;
  bool holds_slot = false;
  bool waiting_for_slot = false;
  bus::UserEntry* bus_entry = nullptr;  // from add_user until the user retires
  bool retiring = false;
  std::unique_ptr<resume::UserResume> resume;  // set iff the user has a cursor
  bool bus_refused = false;                     // the bus dropped the message being emitted

  // supervisor::Effects
  void connect() override {
    if (daemon_.limiter_.request(token_)) {
      holds_slot = true;
      daemon_.start_handshake(*this);
    } else {
      waiting_for_slot = true;
    }
  }
  bool send_text(std::string_view text) override { return conn != 0 && daemon_.transport_.send_text(conn, text); }
  void send_ping(std::string_view payload) override {
    if (conn != 0) daemon_.transport_.send_ping(conn, payload);
  }
  void close(std::uint16_t code, std::string_view reason) override {
    if (conn != 0) daemon_.transport_.close(conn, code, reason);
  }
  void abort() override {
    if (conn != 0) {
      daemon_.transport_.abort(conn);
      daemon_.by_conn_.erase(conn);
      conn = 0;
    }
    if (waiting_for_slot) {
      daemon_.limiter_.cancel(token_);
      waiting_for_slot = false;
    }
    daemon_.release_handshake(*this);
  }
  void arm_timer(supervisor::TimePoint deadline) override {
    const std::uint64_t generation = ++timer_generation_;
    timer_.expires_at(deadline);
    timer_.async_wait([weak = self, generation](const std::error_code& ec) {
      if (ec) return;
      auto user = weak.lock();
      // A handler that had already completed before a re-arm still runs: drop it.
      if (!user || user->timer_generation_ != generation) return;
      user->sup_.timer_fired(user->daemon_.now());
    });
  }
  void cancel_timer() override {
    ++timer_generation_;
    timer_.cancel();
  }
  void state_changed(State old_state, State new_state, std::string_view reason) override {
    daemon_.user_state_changed(*this, old_state, new_state, std::string(reason));
  }
  void message(const supervisor::Message& message) override {
    bus_refused = false;
    if (bus_entry != nullptr) {
      daemon_.bus_->emit_message(*bus_entry, message);
      counters_changed();
    } else {
      bus_refused = true;
    }
    if (!resume) return;
    // The cursor moves only once its message is on the bus: a crash may
    // repeat a message, never skip one.
    if (bus_refused) {
      resume->not_republished();
    } else {
      resume->republished();
    }
    state_changed_note();
  }
  bool admit(std::string_view text) override {
    if (!resume || resume->admit(text)) return true;
    counters_changed();
    return false;
  }
  bool send_on_open(std::string_view text) override {
    return resume ? send_text(resume->frame(text)) : send_text(text);
  }
  // The seq (and maybe the cursors) moved: the state file needs this user again.
  void state_changed_note() {
    if (state_noted_) return;
    state_noted_ = true;
    daemon_.state_.changed(id());
  }
  void state_taken() { state_noted_ = false; }
  void counters_changed() {
    if (bus_entry != nullptr) daemon_.bus_->counters_changed(*bus_entry);
  }
  void properties_changed() {
    if (bus_entry != nullptr) daemon_.bus_->user_changed(*bus_entry);
  }

  // bus::UserSource
  const supervisor::Stats& stats() const override { return sup_.stats(); }
  std::uint64_t duplicates() const override { return resume ? resume->state().duplicates() : 0; }
  std::map<std::string, std::string> cursor() const override {
    return resume ? resume->state().values() : std::map<std::string, std::string>{};
  }
  supervisor::SendResult send(std::string text) override {
    const auto result = sup_.send(daemon_.now(), std::move(text));
    counters_changed();
    return result;
  }
  void reconnect(bool fresh) override {
    if (fresh && resume) {
      resume->state().forget();
      state_changed_note();
      daemon_.state_.flush();  // a crash before the next flush must not bring the cursors back
    }
    daemon_.log_.log_for(LogLevel::Info, user_fields(id()), id(),
                         fresh ? ": reconnect without cursors requested" : ": reconnect requested");
    sup_.reconnect(daemon_.now(), "manual");
  }
  std::vector<supervisor::Message> recent(std::uint64_t since_seq) const override {
    std::vector<supervisor::Message> out;
    for (const auto* message : sup_.history().since(since_seq)) out.push_back(*message);
    return out;
  }
  void bus_dropped() override {
    bus_refused = true;
    sup_.count_dropped();
    counters_changed();
  }

 private:
  Daemon& daemon_;
  asio::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;
  supervisor::Supervisor sup_;
  HandshakeLimiter::Token token_;
  bool state_noted_ = false;
};

Daemon::Daemon(DaemonOptions options, config::Config config, Logger& log)
    : options_(std::move(options)),
      config_(std::move(config)),
      log_(log),
      signals_(io_),
      notifier_(io_),
      limiter_(config_.daemon.max_handshakes),
      transport_(io_, *this, log_),
      state_(io_, log_, state::StateStore::Options{options_.state_directory, options_.state_write_delay},
             [this](const std::string& id) { return state_record(id); }),
      metrics_(io_, log_, options_.state_directory, [this] { return metrics_snapshot(); }) {}

Daemon::~Daemon() {
  // A config load still running posts into io_ and reads config_.path: wait for it.
  if (loader_.joinable()) loader_.join();
  // Connections first (no callback may reach a half-destroyed daemon), then
  // the bus, whose entries refer to the users, then the users.
  net_.reset();
  transport_.abort_all();
  by_conn_.clear();
  bus_.reset();
  retiring_.clear();
  users_.clear();
}

supervisor::Instant Daemon::now() const {
  const auto wall = std::chrono::system_clock::now().time_since_epoch();
  return supervisor::Instant{
      supervisor::MonoClock::now(),
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(wall).count())};
}

int Daemon::run() {
  raise_fd_limit();
  try {
    bus::BusOptions bus_options;
    bus_options.kind = options_.bus_kind;
    bus_options.version = options_.version;
    bus_options.queue_max_bytes = config_.daemon.bus_queue_size;
    // Without its bus the daemon is useless: stop, and let systemd's
    // Restart=on-failure bring it back once dbus-daemon is there again.
    bus_options.on_disconnected = [this](const std::string& why) {
      log_.err("lost the bus connection (", why, "): exiting");
      exit_code_ = kExitUnavailable;
      begin_shutdown("bus lost");
    };
    bus_ = std::make_unique<bus::BusService>(io_, *this, log_, std::move(bus_options));
  } catch (const std::exception& e) {
    log_.err("cannot connect to the ", options_.bus_kind == bus::BusKind::System ? "system" : "session",
             " bus: ", e.what());
    return kExitUnavailable;
  }
  // The whole object tree exists before the name is claimed, so a client that
  // sees the name sees every user.
  // The users live in their supervisors from here on: no second copy of
  // every user's config stays behind.
  for (const auto& user_config : std::exchange(config_.users, {})) add_user(user_config);
  state_.drop_unclaimed();
  update_state_interval();
  try {
    bus_->request_name();
  } catch (const std::exception& e) {
    log_.err("cannot own the bus name ", bus::kBusName, ": ", e.what());
    return kExitUnavailable;
  }
  watch_signals();
  const auto start = now();
  for (auto& [id, user] : users_) user->sup().start(start);
  log_.notice("wsheartd ", options_.version, " started: ", users_.size(), " user(s) from ", config_.path, " on the ",
              options_.bus_kind == bus::BusKind::System ? "system" : "session", " bus");
  if (users_.size() + 64 > fd_limit_) {
    log_.warning(users_.size(), " users need more file descriptors than the limit of ", fd_limit_,
                 ": raise LimitNOFILE=");
  }
  net_ = std::make_unique<net::NetEvents>(io_, log_, *this);
  net_->start(net_options(config_.daemon));
  schedule_status();
  metrics_.configure(config_.daemon.metrics_file, config_.daemon.metrics_interval);
  notifier_.ready();
  notifier_.start_watchdog();
  // websocketpp can throw out of a handler on a proxy's malformed answer; the
  // transport absorbs that (one attempt fails) and the loop goes on.
  for (;;) {
    try {
      io_.run();
      break;
    } catch (const std::exception& e) {
      if (!transport_.absorb(e)) throw;
    }
  }
  metrics_.close();
  state_.close();
  log_.notice("wsheartd stopped");
  return exit_code_;
}

void Daemon::raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  fd_limit_ = limit.rlim_cur;
}

void Daemon::watch_signals() {
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  signals_.async_wait([this](const std::error_code& ec, int signal_number) {
    if (ec) return;
    if (signal_number == SIGHUP) {
      log_.info("SIGHUP: reloading ", config_.path);
      reload(nullptr);
      watch_signals();
      return;
    }
    begin_shutdown(signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  });
}

// ---- users -----------------------------------------------------------------

std::shared_ptr<Daemon::User> Daemon::make_user(const config::UserConfig& config) {
  // Each user draws its own jitter; seeding from random_device keeps users of
  // one daemon (and of daemons restarted together) apart.
  std::random_device entropy;
  const std::uint64_t seed = (static_cast<std::uint64_t>(entropy()) << 32) ^ entropy();
  auto user = std::make_shared<User>(*this, config, seed, next_token_++);
  user->self = user;
  attach_resume(*user, config);
  by_token_[user->token()] = user.get();
  return user;
}

bus::UserProfile Daemon::bus_profile(const config::UserConfig& config) {
  return bus::UserProfile{config::redact_url(config.url),
                          config.proxy_url ? config::proxy_display(*config.proxy_url) : std::string(),
                          config.unix_uid};
}

void Daemon::add_user(const config::UserConfig& config) {
  auto user = make_user(config);
  users_[config.id] = user;
  user->bus_entry = &bus_->add_user(config.id, *user, bus_profile(config));
}

void Daemon::retire_user(const std::string& id) {
  auto it = users_.find(id);
  if (it == users_.end()) return;
  auto user = it->second;
  users_.erase(it);
  state_.changed(id);  // leaves the state file
  if (user->bus_entry != nullptr) bus_->remove_user(*std::exchange(user->bus_entry, nullptr));
  user->retiring = true;
  retiring_.push_back(user);
  // Retiring users no longer count (user_state_changed skips them).
  if (user->sup().state() == State::Open) --open_count_;
  user->sup().stop(now());
  bus_->manager_changed();
}

void Daemon::start_handshake(User& user) {
  const auto& c = user.sup().config();
  transport::ConnectRequest request;
  request.user_id = c.id;
  // With cursors the url is rendered for each attempt; it parses like the
  // template did at load (values are percent-encoded).
  request.url = user.resume ? user.resume->endpoint(c.url).value_or(c.endpoint) : c.endpoint;
  request.headers = user.resume ? user.resume->headers(c.headers) : c.headers;
  request.headers_file = c.headers_file;
  request.connect_timeout = c.connect_timeout;
  request.max_message_size = c.max_message_size;
  request.tls_verify = c.tls_verify;
  request.ca_file = c.ca_file;
  request.client_cert = c.client_cert;
  request.client_key = c.client_key;
  request.pin_sha256 = c.pin_sha256;
  request.proxy = c.proxy_url;
  request.proxy_auth_file = c.proxy_auth_file;
  // The kernel gives up on unacknowledged data only after the heartbeat would
  // have: it is a backstop, not the detector.
  if (c.heartbeat != config::HeartbeatMode::Off) request.tcp_user_timeout = 2 * (c.heartbeat_interval + c.heartbeat_timeout);
  user.waiting_for_slot = false;
  user.conn = transport_.connect(request);
  by_conn_[user.conn] = &user;
  user.sup().handshake_started(now());
}

void Daemon::release_handshake(User& user) {
  if (!user.holds_slot) return;
  user.holds_slot = false;
  limiter_.release();
  grant_waiting_handshakes();
}

void Daemon::grant_waiting_handshakes() {
  while (auto token = limiter_.grant_next()) {
    auto it = by_token_.find(*token);
    if (it == by_token_.end() || !it->second->waiting_for_slot) {
      limiter_.release();  // the waiter is gone: pass the slot on
      continue;
    }
    it->second->holds_slot = true;
    start_handshake(*it->second);
  }
}

void Daemon::user_state_changed(User& user, State old_state, State new_state, const std::string& reason) {
  const bool was_open = old_state == State::Open;
  const bool is_open = new_state == State::Open;
  if (!user.retiring) {
    if (is_open && !was_open) ++open_count_;
    if (was_open && !is_open) --open_count_;
  }
  // Failures are warnings; the routine (start, open, retry, requested) is not.
  const std::string word = reason.substr(0, reason.find(':'));
  const bool routine = word == "started" || word == "connected" || word == "manual" || word == "reload" ||
                       word == "stopping" || word == "offline" || word == "sleep" || new_state == State::Connecting;
  const LogLevel level = new_state == State::Open ? LogLevel::Notice : routine ? LogLevel::Info : LogLevel::Warning;
  log_.log_for(level, LogFields{user.id(), supervisor::to_string(new_state), reason}, user.id(), ": ",
               supervisor::to_string(old_state), " -> ", supervisor::to_string(new_state), " (", reason, ")");
  if (user.bus_entry != nullptr) {
    bus_->emit_state(*user.bus_entry, old_state, new_state, reason);
    bus_->user_changed(*user.bus_entry);
    if (was_open != is_open) bus_->manager_changed();
  }
  schedule_status();
  if (new_state == State::Stopped) {
    // Never destroy a user from inside its own callback: post it.
    asio::post(io_, [this] {
      for (auto it = retiring_.begin(); it != retiring_.end();) {
        if ((*it)->sup().state() == State::Stopped) {
          by_token_.erase((*it)->token());
          it = retiring_.erase(it);
        } else {
          ++it;
        }
      }
      if (stopping_) {
        bool all_stopped = true;
        for (const auto& [id, u] : users_) all_stopped = all_stopped && u->sup().state() == State::Stopped;
        if (all_stopped && retiring_.empty()) finish_shutdown();
      }
    });
  }
}

void Daemon::schedule_status() {
  if (status_posted_) return;
  status_posted_ = true;
  asio::post(io_, [this] {
    status_posted_ = false;
    if (stopping_) return;
    notifier_.status(users_.empty() ? std::string("no users configured")
                                    : std::to_string(open_count_) + "/" + std::to_string(users_.size()) +
                                          " users open");
  });
}

// ---- shutdown --------------------------------------------------------------

void Daemon::begin_shutdown(const char* why) {
  if (stopping_) return;
  stopping_ = true;
  log_.notice(why, ": closing ", users_.size(), " connection(s)");
  notifier_.stopping();
  signals_.cancel();
  const auto t = now();
  for (auto& [id, user] : users_) user->sup().stop(t);
  stop_deadline_.emplace(io_);
  stop_deadline_->expires_after(options_.stop_timeout);
  stop_deadline_->async_wait([this](const std::error_code& ec) {
    if (!ec) {
      log_.warning("close handshakes did not finish within ", options_.stop_timeout.count(), " ms: aborting");
      finish_shutdown();
    }
  });
  bool all_stopped = true;
  for (const auto& [id, user] : users_) all_stopped = all_stopped && user->sup().state() == State::Stopped;
  if (all_stopped) asio::post(io_, [this] { finish_shutdown(); });
}

void Daemon::finish_shutdown() {
  if (!stopping_ || io_.stopped()) return;
  transport_.abort_all();
  by_conn_.clear();
  if (stop_deadline_) stop_deadline_->cancel();
  if (bus_) {
    try {
      bus_->shutdown();
    } catch (const std::exception& e) {
      log_.debug("bus shutdown: ", e.what());
    }
  }
  io_.stop();
}

// ---- transport::Listener ---------------------------------------------------

void Daemon::on_open(transport::ConnId id) {
  auto it = by_conn_.find(id);
  if (it == by_conn_.end()) return;
  User& user = *it->second;
  release_handshake(user);
  user.sup().opened(now());
}

void Daemon::on_frame(transport::ConnId id, supervisor::FrameKind kind, std::string payload) {
  auto it = by_conn_.find(id);
  if (it == by_conn_.end()) return;
  it->second->sup().frame(now(), kind, std::move(payload));
}

void Daemon::on_disconnect(transport::ConnId id, const supervisor::Disconnect& why) {
  auto it = by_conn_.find(id);
  if (it == by_conn_.end()) return;
  User& user = *it->second;
  by_conn_.erase(it);
  user.conn = 0;
  release_handshake(user);
  user.sup().disconnected(now(), why);
}

// ---- bus::Backend ----------------------------------------------------------

void Daemon::reload(ReloadDone done) {
  if (loading_) {
    reload_next_.push_back(std::move(done));
    reload_again_ = true;  // the file may have changed after the load in flight read it
    return;
  }
  reload_waiting_.push_back(std::move(done));
  start_reload();
}

void Daemon::start_reload() {
  loading_ = true;
  notifier_.reloading();
  // Reading and parsing the file, the NSS lookups of unix_user (which may ask
  // a directory server) and the checks of credential files can all block:
  // they run on a thread of their own while the loop goes on (heartbeats,
  // watchdog). Only the result comes back to the loop.
  try {
    loader_ = std::thread([this, path = config_.path] {
      const auto started = supervisor::MonoClock::now();
      auto loaded = config::load_file(path);
      const auto took = supervisor::MonoClock::now() - started;
      asio::post(io_, [this, took, loaded = std::move(loaded)]() mutable { finish_reload(std::move(loaded), took); });
    });
  } catch (const std::system_error& e) {
    log_.err("reload failed: cannot start a thread to read the config: ", e.what());
    loading_ = false;
    notifier_.ready();
    const std::vector<std::string> problems{config_.path + ": cannot read the config now: " + e.what()};
    for (auto& done : std::exchange(reload_waiting_, {})) {
      if (done) done(problems);
    }
  }
}

void Daemon::finish_reload(config::LoadResult loaded, supervisor::Duration read_time) {
  loader_.join();  // it has posted its result: it is ending
  loading_ = false;
  if (stopping_) return;  // the callers' bus goes away with the daemon
  const auto started = supervisor::MonoClock::now();
  const auto errors = apply_reload(std::move(loaded));
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  log_.info("reload: config read in ", duration_cast<milliseconds>(read_time).count(), " ms (off the loop), applied in ",
            duration_cast<milliseconds>(supervisor::MonoClock::now() - started).count(), " ms");
  notifier_.ready();
  for (auto& done : std::exchange(reload_waiting_, {})) {
    if (done) done(errors);
  }
  if (std::exchange(reload_again_, false)) {
    reload_waiting_ = std::exchange(reload_next_, {});
    start_reload();
  }
}

std::vector<std::string> Daemon::apply_reload(config::LoadResult loaded) {
  std::vector<std::string> errors;
  for (const auto& d : loaded.diagnostics) {
    if (d.severity == config::Severity::Error) {
      errors.push_back(d.to_string());
    } else {
      log_.warning(d.to_string());
    }
  }
  if (!loaded.ok()) {
    for (const auto& e : errors) log_.err("reload rejected: ", e);
    return errors;
  }
  config::Config next = std::move(*loaded.config);
  const auto t = now();
  unsigned added = 0;
  unsigned changed = 0;
  unsigned removed = 0;
  // Removed users first: their handshake slots and sockets go before new ones
  // come. Hashed by id: O(users), not O(users x users), on the loop.
  std::unordered_set<std::string_view> kept;
  kept.reserve(next.users.size());
  for (const auto& u : next.users) kept.insert(u.id);
  std::vector<std::string> gone;
  for (const auto& [id, user] : users_) {
    if (kept.count(id) == 0) gone.push_back(id);
  }
  for (const auto& id : gone) {
    retire_user(id);
    ++removed;
  }
  limiter_.set_capacity(next.daemon.max_handshakes);
  bus_->set_queue_max_bytes(next.daemon.bus_queue_size);
  for (const auto& user_config : next.users) {
    auto it = users_.find(user_config.id);
    if (it == users_.end()) {
      add_user(user_config);
      auto& sup = users_[user_config.id]->sup();
      if (net_ && net_->offline()) sup.hold(t, supervisor::Hold::Offline, false);
      if (net_ && net_->asleep()) sup.hold(t, supervisor::Hold::Asleep, false);
      sup.start(t);
      ++added;
    } else if (it->second->sup().config() != user_config) {
      reconfigure_resume(*it->second, user_config);
      it->second->sup().reconfigure(user_config, t);
      if (auto* entry = it->second->bus_entry) {
        bus_->set_profile(*entry, bus_profile(user_config));
        bus_->user_changed(*entry);
      }
      ++changed;
    }
  }
  grant_waiting_handshakes();  // a larger cap may let waiters start now
  config_.daemon = next.daemon;
  if (net_) net_->reconfigure(net_options(config_.daemon));
  update_state_interval();
  state_.flush();
  metrics_.configure(config_.daemon.metrics_file, config_.daemon.metrics_interval);
  bus_->manager_changed();
  schedule_status();
  log_.notice("reloaded ", config_.path, ": ", added, " added, ", changed, " changed, ", removed, " removed");
  return {};
}

// ---- net::Listener: sleep, wake and network events -------------------------

net::NetOptions Daemon::net_options(const config::DaemonConfig& daemon) {
  net::NetOptions options;
  options.close_on_sleep = daemon.on_sleep == config::OnSleep::Close;
  options.watch_network = daemon.network_watch == config::NetworkWatch::Auto;
  return options;
}

void Daemon::woke(std::string_view reason) {
  const auto t = now();
  const bool resume = reason == "resume";
  for (auto& [id, user] : users_) {
    auto& sup = user->sup();
    const bool held = sup.held();
    if (resume) sup.release(t, supervisor::Hold::Asleep, reason);  // wakes if that was the last hold
    if (!held) sup.wake(t, reason);
    user->properties_changed();
  }
}

void Daemon::hold_all(supervisor::Hold why, bool close_open) {
  const auto t = now();
  for (auto& [id, user] : users_) {
    user->sup().hold(t, why, close_open);
    user->properties_changed();
  }
}

void Daemon::release_all(supervisor::Hold why, std::string_view reason) {
  const auto t = now();
  for (auto& [id, user] : users_) {
    user->sup().release(t, why, reason);
    user->properties_changed();
  }
}

bool Daemon::any_connection() const {
  for (const auto& [id, user] : users_) {
    if (user->sup().has_connection()) return true;
  }
  for (const auto& user : retiring_) {
    if (user->sup().has_connection()) return true;
  }
  return false;
}

// ---- resume ----------------------------------------------------------------

void Daemon::attach_resume(User& user, const config::UserConfig& config) {
  if (config.cursors.empty()) return;
  user.resume = std::make_unique<resume::UserResume>(config);
  auto saved = state_.take(config.id);
  if (!saved) return;
  user.sup().continue_seq(saved->last_seq);  // seq belongs to the user, whatever the origin
  if (saved->origin == user.resume->origin()) {
    user.resume->state().restore(std::move(saved->cursors), saved->seen);
  } else {
    log_.log_for(LogLevel::Notice, user_fields(config.id), config.id, ": saved cursors came from ",
                 config::redact_url(saved->origin), ", not ", config::redact_url(user.resume->origin()), ": dropped");
    user.state_changed_note();
  }
}

void Daemon::reconfigure_resume(User& user, const config::UserConfig& config) {
  const auto& old = user.sup().config();
  if (old.cursors == config.cursors && old.cursor_if == config.cursor_if && old.url == config.url) return;
  std::unique_ptr<resume::UserResume> previous = std::move(user.resume);
  if (!config.cursors.empty()) {
    user.resume = std::make_unique<resume::UserResume>(config);
    // Values of cursors that are still configured carry over, from the same origin only.
    if (previous && previous->origin() == user.resume->origin()) {
      resume::CursorValues kept;
      for (const auto& rule : config.cursors) {
        const auto found = previous->state().values().find(rule.name);
        if (found != previous->state().values().end()) kept.insert(*found);
      }
      user.resume->state().restore(std::move(kept), previous->state().seen_oldest_first());
    }
  }
  user.state_changed_note();
}

std::optional<state::UserRecord> Daemon::state_record(const std::string& id) const {
  const auto it = users_.find(id);
  if (it == users_.end() || !it->second->resume) return std::nullopt;
  User& user = *it->second;
  user.state_taken();
  const auto& resume = *user.resume;
  return state::UserRecord{resume.origin(), user.sup().history().last_seq(), resume.state().values(),
                           resume.state().seen_oldest_first()};
}

// ---- metrics ---------------------------------------------------------------

metrics::Snapshot Daemon::metrics_snapshot() const {
  metrics::Snapshot snapshot;
  snapshot.version = options_.version;
  snapshot.handshakes_in_flight = limiter_.in_flight();
  snapshot.users.reserve(users_.size());
  // The same Stats the bus snapshot (and so `wsheartctl status --json`) reads.
  for (const auto& [id, user] : users_) {
    const auto& stats = user->sup().stats();
    snapshot.users.push_back(metrics::UserSample{id, stats.state, stats.reconnects, stats.received, stats.sent,
                                                 stats.dropped, stats.rtt_usec, stats.last_message_usec});
  }
  return snapshot;
}

void Daemon::update_state_interval() {
  std::optional<std::chrono::milliseconds> shortest;
  for (const auto& [id, user] : users_) {
    if (!user->resume) continue;
    const auto flush = user->sup().config().state_flush;
    if (!shortest || flush < *shortest) shortest = flush;
  }
  if (shortest) state_.set_interval(*shortest);
}

}  // namespace wsheart
