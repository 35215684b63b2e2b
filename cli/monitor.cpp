#include "monitor.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ostream>
#include <set>

#include <sdbus-c++/sdbus-c++.h>

#include "bus/names.hpp"
#include "error.hpp"
#include "signal_fd.hpp"
#include "text.hpp"

namespace wsheart::cli {

namespace {

std::uint64_t realtime_usec() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

constexpr std::size_t kMaxIdWidth = 24;

// Everything the match callbacks touch; owned by run_monitor's frame.
struct MonitorState {
  Context& context;
  std::set<std::string> filter;  // empty: every user
  std::size_t id_width = 0;
  std::optional<std::string> owner;  // unique name of the daemon, if running
  bool resubscribe = false;
  bool output_closed = false;

  void emit(const MonitorEvent& event) {
    if (output_closed) return;
    context.out << render_monitor_event(event, id_width, context.style) << std::flush;
    if (!context.out) output_closed = true;  // EPIPE: the reader went away
  }

  void on_user_signal(sdbus::Message& msg) {
    if (!owner || msg.getSender() != *owner) return;  // not from wsheartd: ignore
    auto id = user_id_from_path(msg.getPath());
    if (!id) return;
    if (!filter.empty() && filter.count(*id) == 0) return;
    MonitorEvent event;
    event.time_usec = realtime_usec();
    event.user = *id;
    const std::string member = msg.getMemberName();
    try {
      if (member == "MessageReceived") {
        event.kind = MonitorEvent::Kind::Message;
        msg >> event.seq >> event.text;
      } else if (member == "BinaryMessageReceived") {
        event.kind = MonitorEvent::Kind::Binary;
        msg >> event.seq >> event.data;
      } else if (member == "StateChanged") {
        event.kind = MonitorEvent::Kind::State;
        msg >> event.old_state >> event.new_state >> event.reason;
      } else {
        return;
      }
    } catch (const sdbus::Error&) {
      return;  // wrong signature: not the signal we know
    }
    emit(event);
  }

  void on_name_owner_changed(sdbus::Message& msg) {
    std::string name;
    std::string old_owner;
    std::string new_owner;
    try {
      msg >> name >> old_owner >> new_owner;
    } catch (const sdbus::Error&) {
      return;
    }
    if (name != wsheart::bus::kBusName) return;
    const char* bus = bus_description(context.options.bus);
    if (new_owner.empty()) {
      if (owner) context.err << "wsheartctl: wsheartd left the " << bus << "; waiting for it to return" << std::endl;
      owner.reset();
      return;
    }
    if (!owner) context.err << "wsheartctl: wsheartd is back on the " << bus << std::endl;
    owner = new_owner;
    resubscribe = true;  // done from the loop, not inside this callback
  }
};

}  // namespace

int run_monitor(BusClient& client, const std::vector<std::string>& ids, Context& context) {
  SignalFd signals;
  MonitorState state{context, {ids.begin(), ids.end()}, 0, std::nullopt, false, false};

  // Matches first, then look at the daemon: no event can slip in between.
  const std::string user_rule = BusClient::user_signals_rule();
  const std::string owner_rule = BusClient::name_owner_rule();
  sdbus::IConnection& bus = client.connection();
  sdbus::Slot user_slot;
  sdbus::Slot owner_slot;
  try {
    user_slot = bus.addMatch(user_rule, [&state](sdbus::Message& msg) { state.on_user_signal(msg); });
    owner_slot = bus.addMatch(owner_rule, [&state](sdbus::Message& msg) { state.on_name_owner_changed(msg); });
  } catch (const sdbus::Error& e) {
    throw translate_error(e, context.options.bus, std::nullopt);
  }

  state.owner = client.daemon_owner();
  if (!state.owner) {
    throw CliError(Exit::NotReachable,
                   std::string("wsheartd is not running on the ") + bus_description(context.options.bus));
  }
  // Unknown ids are an error now; users that a later reload removes are not.
  const DaemonStatus status = client.status();
  for (const auto& id : ids) {
    const bool known = std::any_of(status.users.begin(), status.users.end(),
                                   [&](const UserStatus& u) { return u.id == id; });
    if (!known) throw CliError(Exit::NoSuchUser, "no such user '" + id + "'");
  }
  for (const auto& u : status.users) {
    if (state.filter.empty() || state.filter.count(u.id) != 0) {
      state.id_width = std::max(state.id_width, std::min(display_width(escape_for_terminal(u.id)), kMaxIdWidth));
    }
  }
  client.subscribe();
  // A normal end (a signal, or nobody reading any more) unsubscribes; on the
  // other ends the bus is gone or the daemon is, and leaving the bus is enough.
  const auto finish = [&] {
    if (state.owner) client.unsubscribe_quietly();
    return to_int(Exit::Ok);
  };

  for (;;) {
    try {
      while (bus.processPendingRequest()) {
        if (state.output_closed) return finish();
      }
      if (state.output_closed) return finish();
      if (state.resubscribe) {
        state.resubscribe = false;
        try {
          client.subscribe();
        } catch (const CliError&) {
          // It may have gone again already; NameOwnerChanged will tell.
        }
        continue;  // the call may have queued messages
      }
    } catch (const sdbus::Error& e) {
      throw translate_error(e, context.options.bus, std::nullopt);
    }
    const auto poll_data = bus.getEventLoopPollData();
    pollfd fds[2] = {{poll_data.fd, poll_data.events, 0}, {signals.fd(), POLLIN, 0}};
    const int r = ::poll(fds, 2, poll_data.getPollTimeout());
    if (r < 0 && errno != EINTR) throw CliError(Exit::Failure, "poll failed");
    if (fds[1].revents != 0) {
      signals.consume();
      return finish();
    }
    if ((fds[0].revents & (POLLHUP | POLLERR)) != 0 && (fds[0].revents & POLLIN) == 0) {
      throw CliError(Exit::NotReachable,
                     std::string("lost the connection to the ") + bus_description(context.options.bus));
    }
  }
}

}  // namespace wsheart::cli
