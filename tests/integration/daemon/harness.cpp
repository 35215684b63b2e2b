#include "harness.hpp"

#include <stdexcept>

namespace wsheart::test {

DaemonHarness::DaemonHarness() : config_path_(dir_.path() + "/config.toml") {}

DaemonHarness::~DaemonHarness() { daemon_.reset(); }

std::string DaemonHarness::write_config(const std::string& toml) { return dir_.write("config.toml", toml); }

bool DaemonHarness::start(const std::vector<std::string>& extra_args, const EnvOverrides& extra_env,
                          std::chrono::milliseconds ready_timeout) {
  std::vector<std::string> argv{wsheartd_bin(), "--user", "--config", config_path_, "--log-level", "debug"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  auto env = bus_.env();
  env["NOTIFY_SOCKET"] = notify_.path();
  for (const auto& [key, value] : extra_env) env[key] = value;
  daemon_.emplace(argv, env);
  // READY=1, or give up as soon as the daemon has exited (bad config, bus...).
  const auto deadline = std::chrono::steady_clock::now() + ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (notify_.wait_for("READY=1", 50ms)) return true;
    if (!daemon_->running()) return false;
  }
  return false;
}

CommandResult DaemonHarness::busctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"busctl", "--address=" + bus_.address()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

namespace {
// busctl prints `s "open"` or `t 42`: keep the value, unquoted.
std::string value_of(const std::string& out) {
  auto space = out.find(' ');
  if (space == std::string::npos) return "";
  std::string v = out.substr(space + 1);
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return v;
}
}  // namespace

std::string DaemonHarness::user_property(const std::string& id, const std::string& name) {
  return value_of(busctl({"get-property", "org.wsheartd1", user_path(id), "org.wsheartd1.User", name}).out);
}

std::string DaemonHarness::manager_property(const std::string& name) {
  return value_of(busctl({"get-property", "org.wsheartd1", "/org/wsheartd1", "org.wsheartd1.Manager", name}).out);
}

bool DaemonHarness::wait_state(const std::string& id, const std::string& state, std::chrono::milliseconds timeout) {
  return eventually([&] { return user_property(id, "State") == state; }, timeout, 20ms);
}

std::string user_path(const std::string& id) { return "/org/wsheartd1/user/" + id; }

}  // namespace wsheart::test
