// The daemon: one asio::io_context on one thread drives every WebSocket
// connection, every timer, the D-Bus connection and the signals. Data flows
// one way: socket -> transport -> supervisor -> effects -> (transport | bus).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include "bus/bus_service.hpp"
#include "config.hpp"
#include "handshake_limiter.hpp"
#include "log/log.hpp"
#include "metrics/metrics_file.hpp"
#include "net/net_events.hpp"
#include "notify.hpp"
#include "state/state_store.hpp"
#include "transport/transport.hpp"

namespace wsheart {

struct DaemonOptions {
  std::string config_path;
  bus::BusKind bus_kind = bus::BusKind::System;
  std::string version;
  // How long a graceful stop may wait for close handshakes before aborting.
  std::chrono::milliseconds stop_timeout{2000};
  // Where the state file (cursors, seq) lives; see docs/resume.md.
  std::string state_directory;
  // Test hook: every state file write waits this long first (a slow disk).
  std::chrono::milliseconds state_write_delay{0};
};

// Exit codes of the contract.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE
inline constexpr int kExitConfig = 78;       // EX_CONFIG

class Daemon final : public transport::Listener, public bus::Backend, public net::Listener {
 public:
  // Throws bus::BusUnavailable / bus::NameTaken from start().
  Daemon(DaemonOptions options, config::Config config, Logger& log);
  ~Daemon() override;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Builds the object tree, claims the bus name, starts every user and runs
  // the loop until SIGTERM/SIGINT. Returns the process exit code.
  int run();

  // transport::Listener
  void on_open(transport::ConnId id) override;
  void on_frame(transport::ConnId id, supervisor::FrameKind kind, std::string payload) override;
  void on_disconnect(transport::ConnId id, const supervisor::Disconnect& why) override;

  // bus::Backend (each user is its own bus::UserSource)
  std::uint32_t open_count() const override { return open_count_; }
  void reload(ReloadDone done) override;  // answers on the loop, later

  // net::Listener (daemon_net.cpp)
  void woke(std::string_view reason) override;
  void hold_all(supervisor::Hold why, bool close_open) override;
  void release_all(supervisor::Hold why, std::string_view reason) override;
  bool any_connection() const override;

 private:
  class User;
  friend class User;

  supervisor::Instant now() const;
  std::shared_ptr<User> make_user(const config::UserConfig& config);
  void add_user(const config::UserConfig& config);
  static bus::UserProfile bus_profile(const config::UserConfig& config);
  void retire_user(const std::string& id);
  void start_handshake(User& user);
  void release_handshake(User& user);
  void grant_waiting_handshakes();
  void user_state_changed(User& user, supervisor::State old_state, supervisor::State new_state,
                          const std::string& reason);
  void schedule_status();
  void raise_fd_limit();
  void start_reload();
  void finish_reload(config::LoadResult loaded, supervisor::Duration read_time);
  std::vector<std::string> apply_reload(config::LoadResult loaded);
  void begin_shutdown(const char* why);
  void finish_shutdown();
  void watch_signals();
  static net::NetOptions net_options(const config::DaemonConfig& daemon);
  // Resume: cursors and the state file (docs/resume.md).
  void attach_resume(User& user, const config::UserConfig& config);
  void reconfigure_resume(User& user, const config::UserConfig& config);
  std::optional<state::UserRecord> state_record(const std::string& id) const;
  void update_state_interval();
  // The metrics file (docs/operations.md, "Metrics"): figures copied on the loop.
  metrics::Snapshot metrics_snapshot() const;

  DaemonOptions options_;
  config::Config config_;
  Logger& log_;
  asio::io_context io_;
  asio::signal_set signals_;
  Notifier notifier_;
  HandshakeLimiter limiter_;
  transport::Transport transport_;
  std::unique_ptr<bus::BusService> bus_;
  std::unique_ptr<net::NetEvents> net_;
  state::StateStore state_;
  metrics::MetricsFile metrics_;

  std::unordered_map<std::string, std::shared_ptr<User>> users_;  // by id
  std::vector<std::shared_ptr<User>> retiring_;          // removed by reload, closing
  std::unordered_map<transport::ConnId, User*> by_conn_;
  std::unordered_map<HandshakeLimiter::Token, User*> by_token_;
  HandshakeLimiter::Token next_token_ = 1;
  std::uint32_t open_count_ = 0;
  std::uint64_t fd_limit_ = 0;
  bool status_posted_ = false;
  bool stopping_ = false;
  int exit_code_ = kExitOk;
  std::optional<asio::steady_timer> stop_deadline_;

  // Reload: the config is read off the loop (file, parse, NSS lookups, file
  // checks may all block) by one thread at a time; the result is applied on
  // the loop. Callers that ask while a load runs get the next load's answer.
  std::thread loader_;
  bool loading_ = false;
  std::vector<ReloadDone> reload_waiting_;  // answered by the load in flight
  std::vector<ReloadDone> reload_next_;     // asked during it: one more load
  bool reload_again_ = false;
};

}  // namespace wsheart
