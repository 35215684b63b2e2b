#include "notify/agent.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <ostream>
#include <set>

#include <sdbus-c++/sdbus-c++.h>

#include "bus/names.hpp"
#include "error.hpp"
#include "notify/state_file.hpp"
#include "signal_fd.hpp"
#include "text.hpp"

namespace wsheart::cli::notify {

namespace {

// The state file is rewritten at most this often while messages arrive
// (and once more on exit): a burst must not become a burst of writes.
constexpr std::chrono::seconds kSaveInterval{2};

std::int64_t realtime_usec() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int poll_timeout_ms(std::optional<TimePoint> deadline, TimePoint now, std::uint64_t bus_timeout_usec) {
  int timeout = -1;
  if (bus_timeout_usec != UINT64_MAX) {
    timeout = static_cast<int>(std::min<std::uint64_t>((bus_timeout_usec + 999) / 1000, 60'000));
  }
  if (deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now).count();
    const int ms = static_cast<int>(std::clamp<std::int64_t>(left, 0, 60'000));
    timeout = timeout < 0 ? ms : std::min(timeout, ms);
  }
  return timeout;
}

class Agent {
 public:
  Agent(BusClient& daemon, NotificationServer& server, const std::vector<std::string>& ids,
        const NotifyOptions& options, Context& context)
      : daemon_(daemon),
        server_(server),
        context_(context),
        filter_(ids.begin(), ids.end()),
        policy_(settings(options)),
        state_path_(state_file_path(std::getenv("XDG_STATE_HOME"), std::getenv("HOME"))) {}

  int run() {
    SignalFd signals;
    const std::string user_rule = BusClient::user_signals_rule();
    const std::string owner_rule = BusClient::name_owner_rule();
    sdbus::IConnection& bus = daemon_.connection();
    sdbus::Slot user_slot;
    sdbus::Slot owner_slot;
    try {
      // Matches first, then the daemon's state: nothing slips in between.
      user_slot = bus.addMatch(user_rule, [this](sdbus::Message& msg) { on_user_signal(msg); });
      owner_slot = bus.addMatch(owner_rule, [this](sdbus::Message& msg) { on_name_owner_changed(msg); });
    } catch (const sdbus::Error& e) {
      throw translate_error(e, daemon_.kind(), std::nullopt);
    }
    owner_ = daemon_.daemon_owner();
    if (!owner_) {
      throw CliError(Exit::NotReachable, std::string("wsheartd is not running on the ") + bus_name());
    }
    log("notification server " + server_.description() + (server_.body_markup() ? ", body markup" : ""));
    load_state();
    synchronise(/*at_start=*/true);

    for (;;) {
      try {
        while (bus.processPendingRequest()) {
        }
        while (server_.connection().processPendingRequest()) {
        }
        if (resync_) {
          resync_ = false;
          synchronise(/*at_start=*/false);
          continue;
        }
      } catch (const sdbus::Error& e) {
        throw translate_error(e, daemon_.kind(), std::nullopt);
      }
      const TimePoint now = Clock::now();
      if (auto due = policy_.next_deadline(); due && *due <= now) show(policy_.on_timer(now));
      if (save_due_ && *save_due_ <= now) save_state();

      std::optional<TimePoint> deadline = policy_.next_deadline();
      if (save_due_ && (!deadline || *save_due_ < *deadline)) deadline = save_due_;
      const auto daemon_poll = bus.getEventLoopPollData();
      const auto server_poll = server_.connection().getEventLoopPollData();
      const std::uint64_t bus_timeout = std::min(daemon_poll.timeout_usec, server_poll.timeout_usec);
      pollfd fds[3] = {{daemon_poll.fd, daemon_poll.events, 0},
                       {server_poll.fd, server_poll.events, 0},
                       {signals.fd(), POLLIN, 0}};
      const int r = ::poll(fds, 3, poll_timeout_ms(deadline, Clock::now(), bus_timeout));
      if (r < 0 && errno != EINTR) throw CliError(Exit::Failure, "poll failed");
      if (fds[2].revents != 0) {
        signals.consume();
        log("stopping");
        save_state();
        if (owner_) daemon_.unsubscribe_quietly();
        return to_int(Exit::Ok);
      }
      if (hung_up(fds[0])) {
        save_state();
        throw CliError(Exit::NotReachable, std::string("lost the connection to the ") + bus_name());
      }
      if (hung_up(fds[1])) {
        save_state();
        throw CliError(Exit::Unavailable, "lost the connection to the session bus");
      }
    }
  }

 private:
  static PolicySettings settings(const NotifyOptions& options) {
    PolicySettings s;
    s.pointers = {options.summary_pointer, options.body_pointer, options.priority_pointer};
    s.quiet_for = options.quiet_for;
    return s;
  }

  static bool hung_up(const pollfd& fd) {
    return (fd.revents & (POLLHUP | POLLERR)) != 0 && (fd.revents & POLLIN) == 0;
  }

  const char* bus_name() const { return bus_description(daemon_.kind()); }

  void log(const std::string& line) { context_.err << "wsheartctl notify: " << escape_for_terminal(line) << std::endl; }

  bool wanted(const std::string& id) const { return filter_.empty() || filter_.count(id) != 0; }

  void load_state() {
    if (state_path_.empty()) {
      log("neither XDG_STATE_HOME nor HOME is set: no catch-up across restarts");
      return;
    }
    std::string warning;
    saved_ = load_state_file(state_path_, warning);
    if (!warning.empty()) log(warning);
  }

  void save_state() {
    save_due_.reset();
    if (state_path_.empty()) return;
    try {
      LastSeqs merged = saved_;  // keeps users this run does not watch (notify ID...)
      for (const auto& [user, seq] : policy_.last_seqs()) merged[user] = seq;
      save_state_file(state_path_, merged);
    } catch (const std::exception& e) {
      log(e.what());
    }
  }

  void mark_dirty() {
    if (!save_due_) save_due_ = Clock::now() + kSaveInterval;
  }

  // At start and whenever wsheartd (re)appears: states, then what was missed.
  void synchronise(bool at_start) {
    if (!daemon_.subscribe() && at_start) log("wsheartd has no Subscribe(); messages of users with unix_user stay hidden");
    DaemonStatus status;
    try {
      status = daemon_.status();
    } catch (const CliError& e) {
      if (at_start) throw;
      log(std::string("cannot read the users: ") + e.what());
      return;
    }
    if (at_start) {
      for (const auto& id : filter_) {
        const bool known = std::any_of(status.users.begin(), status.users.end(),
                                       [&](const UserStatus& u) { return u.id == id; });
        if (!known) throw CliError(Exit::NoSuchUser, "no such user '" + id + "'");
      }
    }
    const TimePoint now = Clock::now();
    const std::int64_t wall = realtime_usec();
    std::vector<CatchUpMessage> missed;
    std::size_t watched = 0;
    for (const auto& u : status.users) {
      if (!wanted(u.id)) continue;
      ++watched;
      const auto out_for = std::chrono::microseconds(std::max<std::int64_t>(
          0, wall - static_cast<std::int64_t>(u.state_since_usec)));
      policy_.add_user(now, u.id, u.state, u.reason, out_for);
      auto known = policy_.last_seqs().find(u.id);
      std::optional<std::uint64_t> last;
      if (known != policy_.last_seqs().end()) last = known->second;
      else if (auto saved = saved_.find(u.id); saved != saved_.end()) last = saved->second;
      if (!last) {
        // Never seen: start from now, an old history is not news.
        policy_.set_last_seq(u.id, u.received);
        mark_dirty();
        continue;
      }
      // seq counts from 1 again after a daemon restart (without a resume cursor).
      std::uint64_t since = u.received < *last ? 0 : *last;
      policy_.set_last_seq(u.id, since);
      if (u.received <= since) continue;
      try {
        for (const auto& m : daemon_.recent(u.id, since)) missed.push_back({u.id, m.seq, m.time_usec, m.text});
      } catch (const CliError& e) {
        log("catch-up of " + u.id + ": " + e.what());
      }
    }
    log(std::string(at_start ? "connected to" : "reconnected to") + " wsheartd " + status.version + " on the " +
        bus_name() + ": watching " + std::to_string(watched) + " user(s), " + std::to_string(missed.size()) +
        " missed message(s)");
    if (!missed.empty()) mark_dirty();
    show(policy_.catch_up(std::move(missed)));
  }

  void show(const std::vector<Notice>& notices) {
    for (const auto& notice : notices) {
      std::string error;
      if (!server_.show(notice, error)) log("the notification server refused a notice: " + error);
    }
  }

  void on_user_signal(sdbus::Message& msg) {
    if (!owner_ || msg.getSender() != *owner_) return;  // not from wsheartd: ignore
    auto id = user_id_from_path(msg.getPath());
    if (!id || !wanted(*id)) return;
    const std::string member = msg.getMemberName();
    const TimePoint now = Clock::now();
    try {
      if (member == "MessageReceived") {
        std::uint64_t seq = 0;
        std::string text;
        msg >> seq >> text;
        show(policy_.on_message(now, *id, seq, text));
        mark_dirty();
      } else if (member == "StateChanged") {
        std::string old_state, new_state, reason;
        msg >> old_state >> new_state >> reason;
        show(policy_.on_state(now, *id, new_state, reason));
      }
      // BinaryMessageReceived: nothing a person can read.
    } catch (const sdbus::Error&) {
      // wrong signature: not the signal we know
    }
  }

  void on_name_owner_changed(sdbus::Message& msg) {
    std::string name, old_owner, new_owner;
    try {
      msg >> name >> old_owner >> new_owner;
    } catch (const sdbus::Error&) {
      return;
    }
    if (name != wsheart::bus::kBusName) return;
    if (new_owner.empty()) {
      if (owner_) log(std::string("wsheartd left the ") + bus_name() + "; waiting for it to return");
      owner_.reset();
      return;
    }
    owner_ = new_owner;
    resync_ = true;  // from the loop, not inside this callback
  }

  BusClient& daemon_;
  NotificationServer& server_;
  Context& context_;
  std::set<std::string> filter_;  // empty: every user
  NotifyPolicy policy_;
  std::string state_path_;
  LastSeqs saved_;
  std::optional<std::string> owner_;
  std::optional<TimePoint> save_due_;
  bool resync_ = false;
};

}  // namespace

int run_agent(BusClient& daemon, NotificationServer& server, const std::vector<std::string>& ids,
              const NotifyOptions& options, Context& context) {
  Agent agent(daemon, server, ids, options, context);
  return agent.run();
}

}  // namespace wsheart::cli::notify
