// `wsheartctl monitor`: follows the User signals until SIGINT/SIGTERM and
// survives the daemon restarting.
#pragma once

#include <string>
#include <vector>

#include "bus_client.hpp"
#include "verbs.hpp"

namespace wsheart::cli {

// Returns the exit code (0 when interrupted or when stdout goes away).
int run_monitor(BusClient& client, const std::vector<std::string>& ids, Context& context);

}  // namespace wsheart::cli
