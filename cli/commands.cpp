#include "commands.hpp"

#include <algorithm>
#include <chrono>
#include <ostream>

#include "bus_client.hpp"
#include "error.hpp"
#include "monitor.hpp"
#include "notify/agent.hpp"
#include "notify/notification_server.hpp"

namespace wsheart::cli {

namespace {

std::uint64_t realtime_usec() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

int verb_status(const Invocation& invocation, Context& context) {
  BusClient client(context.options.bus);
  const DaemonStatus status = client.status();
  std::vector<UserStatus> listed;
  if (invocation.args.empty()) {
    listed = status.users;
  } else {
    for (const auto& id : invocation.args) {
      auto it = std::find_if(status.users.begin(), status.users.end(),
                             [&](const UserStatus& u) { return u.id == id; });
      if (it == status.users.end()) throw CliError(Exit::NoSuchUser, "no such user '" + id + "'");
      listed.push_back(*it);
    }
  }
  context.out << render_status(status, listed, realtime_usec(), context.style);
  const bool all_open =
      std::all_of(listed.begin(), listed.end(), [](const UserStatus& u) { return u.state == "open"; });
  return to_int(all_open ? Exit::Ok : Exit::NotOpen);
}

int verb_list(const Invocation& /*invocation*/, Context& context) {
  BusClient client(context.options.bus);
  context.out << render_list(client.status().users, context.style);
  return to_int(Exit::Ok);
}

int verb_monitor(const Invocation& invocation, Context& context) {
  BusClient client(context.options.bus);
  return run_monitor(client, invocation.args, context);
}

int verb_send(const Invocation& invocation, Context& context) {
  BusClient client(context.options.bus);
  const std::string& id = invocation.args.at(0);
  const bool queued = client.send(id, invocation.args.at(1));
  context.out << render_send_result(id, queued, context.style);
  return to_int(Exit::Ok);
}

int verb_reconnect(const Invocation& invocation, Context& context) {
  BusClient client(context.options.bus);
  client.reconnect(invocation.args.at(0), invocation.fresh);
  return to_int(Exit::Ok);
}

int verb_reload(const Invocation& /*invocation*/, Context& context) {
  BusClient client(context.options.bus);
  client.reload();
  return to_int(Exit::Ok);
}

int verb_recent(const Invocation& invocation, Context& context) {
  BusClient client(context.options.bus);
  const std::string& id = invocation.args.at(0);
  context.out << render_recent(id, client.recent(id, invocation.since.value_or(0)), context.style);
  return to_int(Exit::Ok);
}

int verb_notify(const Invocation& invocation, Context& context) {
  // The notification server first: without a session bus or a server
  // there is nothing to do, whatever the daemon's state (exit 69).
  notify::NotificationServer server;
  BusClient client(context.options.bus);
  return notify::run_agent(client, server, invocation.args, invocation.notify, context);
}

}  // namespace wsheart::cli
