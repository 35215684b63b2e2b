// wsheartd: heartbeat-supervised WebSocket connections republished on D-Bus.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include <unistd.h>

#include "config.hpp"
#include "daemon.hpp"
#include "log/log.hpp"
#include "state/state_file.hpp"

namespace {

constexpr const char* kUsage =
    "Usage: wsheartd [--config PATH] [--system | --user] [--check-config]\n"
    "                [--log-level err|warning|notice|info|debug] [--version] [--help]\n"
    "\n"
    "Holds one heartbeat-supervised WebSocket connection per configured user and\n"
    "republishes every message and state change on D-Bus as org.wsheartd1.\n"
    "\n"
    "  --config PATH     config file (default: /etc/wsheartd/config.toml with --system,\n"
    "                    ${XDG_CONFIG_HOME:-~/.config}/wsheartd/config.toml with --user)\n"
    "  --system          use the system bus (default)\n"
    "  --user            use the session bus\n"
    "  --check-config    validate the config, print every problem as PATH:LINE:COL: message,\n"
    "                    touch no bus and no network; exit 0 or 78\n"
    "  --log-level L     most verbose level logged to stderr (default: info)\n"
    "  --version         print the version and exit\n"
    "\n"
    "Exit codes: 0 clean stop, 78 bad config, 69 bus unreachable or name taken, 1 other.\n";

struct Arguments {
  std::optional<std::string> config_path;
  wsheart::bus::BusKind bus = wsheart::bus::BusKind::System;
  bool check_config = false;
  wsheart::LogLevel log_level = wsheart::LogLevel::Info;
};

// Returns an exit code when the process should end right away.
std::optional<int> parse(int argc, char** argv, Arguments& args) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string_view name) -> std::optional<std::string> {
      const std::string prefix = std::string(name) + "=";
      if (arg.rfind(prefix, 0) == 0) return std::string(arg.substr(prefix.size()));
      if (arg == name && i + 1 < argc) return std::string(argv[++i]);
      return std::nullopt;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return wsheart::kExitOk;
    }
    if (arg == "--version") {
      std::printf("wsheartd %s\n", WSHEART_VERSION);
      return wsheart::kExitOk;
    }
    if (arg == "--system") {
      args.bus = wsheart::bus::BusKind::System;
    } else if (arg == "--user") {
      args.bus = wsheart::bus::BusKind::Session;
    } else if (arg == "--check-config") {
      args.check_config = true;
    } else if (arg == "--config" || arg.rfind("--config=", 0) == 0) {
      args.config_path = value("--config");
      if (!args.config_path) {
        std::fprintf(stderr, "wsheartd: --config needs a path\n");
        return wsheart::kExitFailure;
      }
    } else if (arg == "--log-level" || arg.rfind("--log-level=", 0) == 0) {
      auto level = value("--log-level");
      auto parsed = level ? wsheart::parse_log_level(*level) : std::nullopt;
      if (!parsed) {
        std::fprintf(stderr, "wsheartd: --log-level must be one of err, warning, notice, info, debug\n");
        return wsheart::kExitFailure;
      }
      args.log_level = *parsed;
    } else {
      std::fprintf(stderr, "wsheartd: unknown argument '%.*s'; try --help\n", static_cast<int>(arg.size()),
                   arg.data());
      return wsheart::kExitFailure;
    }
  }
  return std::nullopt;
}

// Test hook, not a setting: WSHEARTD_TEST_STATE_WRITE_DELAY_MS makes every
// state file write wait first, standing in for a slow disk (tests/integration/resume).
std::chrono::milliseconds test_state_write_delay() {
  const char* text = std::getenv("WSHEARTD_TEST_STATE_WRITE_DELAY_MS");
  if (text == nullptr) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(std::strtol(text, nullptr, 10));
}

}  // namespace

int main(int argc, char** argv) {
  Arguments args;
  if (auto done = parse(argc, argv, args)) return *done;
  const std::string path = args.config_path.value_or(args.bus == wsheart::bus::BusKind::System
                                                         ? wsheart::config::default_system_path()
                                                         : wsheart::config::default_user_path());

  auto loaded = wsheart::config::load_file(path);
  if (args.check_config) {
    for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    if (!loaded.ok()) return wsheart::kExitConfig;
    std::printf("%s: OK, %zu user(s)\n", path.c_str(), loaded.config->users.size());
    return wsheart::kExitOk;
  }

  wsheart::Logger log(args.log_level);
  // Under systemd with StandardError=journal: structured entries (WSHEART_USER=...).
  log.use_journal(wsheart::is_journal_stream(std::getenv("JOURNAL_STREAM"), STDERR_FILENO));
  for (const auto& d : loaded.diagnostics) {
    log.write(d.severity == wsheart::config::Severity::Error ? wsheart::LogLevel::Err : wsheart::LogLevel::Warning,
              d.to_string());
  }
  if (!loaded.ok()) return wsheart::kExitConfig;

  try {
    wsheart::DaemonOptions options;
    options.config_path = path;
    options.bus_kind = args.bus;
    options.version = WSHEART_VERSION;
    options.state_directory = args.bus == wsheart::bus::BusKind::System ? wsheart::state::default_system_directory()
                                                                        : wsheart::state::default_user_directory();
    options.state_write_delay = test_state_write_delay();
    wsheart::Daemon daemon(std::move(options), std::move(*loaded.config), log);
    return daemon.run();
  } catch (const std::exception& e) {
    log.err("fatal: ", e.what());
    return wsheart::kExitFailure;
  }
}
