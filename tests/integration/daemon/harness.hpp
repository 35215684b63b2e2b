// A running wsheartd on a private dbus-daemon, observed with third-party
// tools: busctl for properties and calls, gdbus monitor for signals.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "process.hpp"
#include "signal_monitor.hpp"

namespace wsheart::test {

class DaemonHarness {
 public:
  DaemonHarness();
  ~DaemonHarness();

  std::string write_config(const std::string& toml);  // (re)writes config.toml, returns its path
  const std::string& config_path() const { return config_path_; }
  // Starts wsheartd --user on the private bus and waits for READY=1.
  bool start(const std::vector<std::string>& extra_args = {}, const EnvOverrides& extra_env = {},
             std::chrono::milliseconds ready_timeout = 10s);
  Subprocess& daemon() { return *daemon_; }
  NotifySocket& notify() { return notify_; }
  PrivateBus& bus() { return bus_; }
  const TempDir& dir() const { return dir_; }

  // busctl --address=... ARGS (a separate process: the daemon stays responsive).
  CommandResult busctl(const std::vector<std::string>& args);
  // A user property as busctl prints its value without the type ("open", 42).
  std::string user_property(const std::string& id, const std::string& name);
  std::string manager_property(const std::string& name);
  bool wait_state(const std::string& id, const std::string& state, std::chrono::milliseconds timeout = 10s);

 private:
  PrivateBus bus_;
  TempDir dir_;
  NotifySocket notify_;
  std::string config_path_;
  std::optional<Subprocess> daemon_;
};

std::string user_path(const std::string& id);  // for simple ids ([a-z0-9]) only

}  // namespace wsheart::test
