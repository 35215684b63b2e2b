// `wsheartctl notify`: the session agent's event loop. wsheartd's signals
// (system or session bus) in, org.freedesktop.Notifications calls out; one
// thread, one poll over both bus fds and a signalfd, the policy's deadlines
// as the poll timeout.
#pragma once

#include <string>
#include <vector>

#include "bus_client.hpp"
#include "notify/notification_server.hpp"
#include "verbs.hpp"

namespace wsheart::cli::notify {

// Returns the exit code (0 on SIGINT/SIGTERM).
int run_agent(BusClient& daemon, NotificationServer& server, const std::vector<std::string>& ids,
              const NotifyOptions& options, Context& context);

}  // namespace wsheart::cli::notify
