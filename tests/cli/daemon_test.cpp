// wsheartctl against the real wsheartd --user on a private bus, with
// wsheart-echo as the WebSocket server. Goldens are normalised harder than
// the fake-service ones (blanks collapsed, RTTs/ages/seqs opaque, ports and
// temp paths replaced): they check the contract end to end, the table layout
// is checked by cli_unit_test and cli_golden_test.
//
// A wsheartd binary that does not run is a failure of every test here, not a skip.
#include <gtest/gtest.h>

#include <signal.h>

#include <optional>
#include <string>
#include <vector>

#include "golden.hpp"
#include "process.hpp"

namespace wsheart::cli::test {
namespace {

using namespace std::chrono_literals;
using wsheart::test::CommandResult;
using wsheart::test::EchoServer;
using wsheart::test::EnvOverrides;
using wsheart::test::PrivateBus;
using wsheart::test::Subprocess;
using wsheart::test::TempDir;

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }
auto has(const std::string& needle) {
  return [needle](const std::string& line) { return contains(line, needle); };
}

// Empty when `wsheartd --version` works; otherwise what went wrong.
std::string daemon_problem() {
  const CommandResult r = wsheart::test::run_command({wsheart::test::wsheartd_bin(), "--version"}, {}, 10s);
  if (r.exit_code == 0 && contains(r.out + r.err, "wsheartd")) return "";
  return "exit code " + std::to_string(r.exit_code) + ", output: " + r.out + r.err;
}

// alice and bob: heartbeat off (no RTT, no heartbeat traffic: their rows are
// deterministic). dave: text heartbeat every 200ms (RTT gets measured).
// carol: a refused port and an hour of backoff after the first failure.
std::string config_text(std::uint16_t port, bool with_erin = false, bool broken = false) {
  std::string c =
      "[defaults]\n"
      "url = \"ws://127.0.0.1:" + std::to_string(port) + "/ws/{id}\"\n"
      "heartbeat = \"off\"\n"
      "connect_timeout = \"2s\"\n"
      "reconnect_initial = \"100ms\"\n"
      "reconnect_max = \"1s\"\n"
      "stable_after = \"1s\"\n"
      "\n"
      "[[user]]\n"
      "id = \"alice\"\n"
      "\n"
      "[[user]]\n"
      "id = \"bob\"\n"
      "\n"
      "[[user]]\n"
      "id = \"carol\"\n"
      "url = \"ws://127.0.0.1:1/refused\"\n"
      "reconnect_initial = \"1h\"\n"
      "reconnect_max = \"1h\"\n"
      "reconnect_jitter = \"none\"\n"
      "\n"
      "[[user]]\n"
      "id = \"dave\"\n"
      "heartbeat = \"text\"\n"
      "heartbeat_interval = \"200ms\"\n"
      "heartbeat_timeout = \"2s\"\n";
  if (with_erin) c += "\n[[user]]\nid = \"erin\"\n";
  if (broken) c += "\n[[user]]\nid = \"frank\"\nheartbeet = \"text\"\n";
  return c;
}

class CliDaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string problem = daemon_problem();
    ASSERT_EQ(problem, "") << wsheart::test::wsheartd_bin() << " --version does not work";
    echo_.emplace();
    config_ = dir_.write("config.toml", config_text(echo_->port()));
    start_daemon();
  }

  void start_daemon() {
    daemon_.emplace(std::vector<std::string>{wsheart::test::wsheartd_bin(), "--user", "--config", config_,
                                             "--log-level", "debug"},
                    bus_.env());
    // Ready: the open users are open and carol has failed once.
    const bool ready = wsheart::test::eventually(
        [&] {
          if (ctl({"status", "alice", "bob", "dave"}).exit_code != 0) return false;
          return contains(ctl({"status", "carol"}).out, "backoff");
        },
        20s, 50ms);
    ASSERT_TRUE(ready) << "wsheartd did not get ready:\n" << daemon_->err();
  }

  EnvOverrides env() const {
    EnvOverrides e = bus_.env();
    e["TZ"] = "UTC";
    e["NO_COLOR"] = "";
    e["COLUMNS"] = "";
    return e;
  }

  CommandResult ctl(std::vector<std::string> args) const {
    std::vector<std::string> argv{wsheart::test::wsheartctl_bin(), "--user"};
    argv.insert(argv.end(), args.begin(), args.end());
    return wsheart::test::run_command(argv, env(), 20s);
  }

  NormaliseOptions options() const {
    NormaliseOptions o;
    o.collapse_blanks = true;
    o.ports = true;
    o.opaque_values = true;
    o.literal = {{dir_.path(), "TMP"}};
    return o;
  }

  static std::string display(const std::vector<std::string>& args) {
    std::string out = "wsheartctl --user";
    for (const auto& a : args) out += " " + a;
    return out;
  }

  CommandResult golden(const std::string& name, const std::vector<std::string>& args) {
    CommandResult r = ctl(args);
    expect_golden(name, display(args), r, options());
    return r;
  }

  // Starts `monitor ARGS` and returns once it demonstrably receives alice's
  // messages (warm-up sends until one shows); `skip` counts lines to ignore.
  std::unique_ptr<Subprocess> monitor(const std::vector<std::string>& args, std::size_t& skip) {
    std::vector<std::string> argv{wsheart::test::wsheartctl_bin(), "--user"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto proc = std::make_unique<Subprocess>(argv, env());
    int n = 0;
    const bool warm = wsheart::test::eventually(
        [&] {
          const std::string text = "warm-up " + std::to_string(++n);
          if (ctl({"send", "alice", "echo:" + text}).exit_code != 0) return false;
          return proc->wait_for_line(has(text), 300ms).has_value();
        },
        15s, 1ms);
    EXPECT_TRUE(warm) << proc->err();
    skip = proc->out().size();
    return proc;
  }

  TempDir dir_;
  PrivateBus bus_;
  std::optional<EchoServer> echo_;
  std::string config_;
  std::optional<Subprocess> daemon_;
};

TEST_F(CliDaemon, Status) {
  EXPECT_EQ(golden("daemon-status", {"status", "alice", "bob", "carol"}).exit_code, 3);
  EXPECT_EQ(ctl({"status", "alice"}).exit_code, 0);
  EXPECT_EQ(ctl({"status", "carol"}).exit_code, 3);
  const CommandResult unknown = ctl({"status", "zed"});
  EXPECT_EQ(unknown.exit_code, 5);
  EXPECT_EQ(unknown.err, "wsheartctl: no such user 'zed'\n");
}

TEST_F(CliDaemon, StatusJsonShowsAMeasuredRtt) {
  EXPECT_TRUE(wsheart::test::eventually(
      [&] { return !contains(ctl({"--json", "status", "dave"}).out, "\"rtt_usec\":0,"); }, 10s, 50ms));
  const CommandResult r = ctl({"--json", "status", "alice", "carol"});
  EXPECT_EQ(r.exit_code, 3);
  expect_golden("daemon-status-json", "wsheartctl --user --json status alice carol", r, options());
}

TEST_F(CliDaemon, List) { EXPECT_EQ(golden("daemon-list", {"list"}).exit_code, 0); }

TEST_F(CliDaemon, SendRecent) {
  // wsheart-echo answers "echo:TEXT" with TEXT.
  CommandResult r = ctl({"send", "alice", "echo:one"});
  EXPECT_EQ(r.out, "sent\n");
  EXPECT_EQ(ctl({"send", "alice", "echo:two\tlines"}).out, "sent\n");
  EXPECT_EQ(ctl({"send", "carol", "later"}).out, "queued\n");
  ASSERT_TRUE(wsheart::test::eventually([&] { return contains(ctl({"recent", "alice"}).out, "two"); }, 10s));
  EXPECT_EQ(golden("daemon-recent", {"recent", "alice"}).exit_code, 0);
  EXPECT_EQ(golden("daemon-recent-json", {"--json", "recent", "alice", "--since", "1"}).exit_code, 0);
  EXPECT_EQ(ctl({"recent", "zed"}).exit_code, 5);
  EXPECT_EQ(ctl({"send", "zed", "x"}).exit_code, 5);
}

TEST_F(CliDaemon, MonitorReconnectAndDaemonRestart) {
  std::size_t skip = 0;
  auto mon = monitor({"monitor", "alice"}, skip);
  ASSERT_EQ(ctl({"send", "alice", "echo:hello"}).exit_code, 0);
  ASSERT_TRUE(mon->wait_for_line(has("hello")));
  ASSERT_EQ(ctl({"send", "alice", "binary:3"}).exit_code, 0);  // 3 bytes back, binary
  ASSERT_TRUE(mon->wait_for_line(has("<3 bytes>")));
  ASSERT_EQ(ctl({"send", "bob", "echo:not shown"}).exit_code, 0);  // not monitored
  ASSERT_EQ(ctl({"reconnect", "alice"}).exit_code, 0);
  ASSERT_TRUE(mon->wait_for_line(has("-> open")));

  daemon_->signal(SIGTERM);
  ASSERT_TRUE(daemon_->wait(10s));
  ASSERT_TRUE(mon->wait_for_err_line(has("left the session bus"), 10s)) << mon->err();
  EXPECT_EQ(ctl({"status"}).exit_code, 4);
  start_daemon();
  ASSERT_TRUE(mon->wait_for_err_line(has("back on the session bus"), 10s)) << mon->err();
  ASSERT_EQ(ctl({"send", "alice", "echo:after restart"}).exit_code, 0);
  ASSERT_TRUE(mon->wait_for_line(has("after restart")));
  mon->signal(SIGINT);
  const auto code = mon->wait(5s);
  ASSERT_TRUE(code);
  CommandResult r{*code, mon->out().substr(skip), mon->err()};
  expect_golden("daemon-monitor", "wsheartctl --user monitor alice", r, options());
}

TEST_F(CliDaemon, Reload) {
  dir_.write("config.toml", config_text(echo_->port(), false, true));
  EXPECT_EQ(golden("daemon-reload-invalid", {"reload"}).exit_code, 1);
  EXPECT_EQ(ctl({"list"}).out, "alice\nbob\ncarol\ndave\n");  // unchanged

  dir_.write("config.toml", config_text(echo_->port(), true, false));
  const CommandResult ok = ctl({"reload"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "");
  EXPECT_EQ(ctl({"list"}).out, "alice\nbob\ncarol\ndave\nerin\n");
}

TEST_F(CliDaemon, NotRunning) {
  daemon_->signal(SIGTERM);
  ASSERT_TRUE(daemon_->wait(10s));
  const CommandResult r = ctl({"status"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "wsheartctl: wsheartd is not running on the session bus\n");
}

// The config the package and `cmake --install` ship (no users): the daemon
// starts, idles and says so in STATUS= and in `wsheartctl status`.
TEST(ShippedConfig, StartsIdleAndSaysSo) {
  ASSERT_EQ(daemon_problem(), "") << wsheart::test::wsheartd_bin() << " --version does not work";
  PrivateBus bus;
  wsheart::test::NotifySocket notify;
  EnvOverrides env = bus.env();
  env["NOTIFY_SOCKET"] = notify.path();
  Subprocess daemon({wsheart::test::wsheartd_bin(), "--user", "--config", WSHEART_EXAMPLE_CONFIG}, env);
  ASSERT_TRUE(notify.wait_for("READY=1", 20s)) << daemon.err();
  EXPECT_TRUE(notify.wait_for("STATUS=no users configured", 10s)) << daemon.err();
  const CommandResult r = wsheart::test::run_command({wsheart::test::wsheartctl_bin(), "--user", "status"},
                                                     bus.env(), 20s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "no users configured (wsheartd " WSHEART_VERSION ")\n");
  EXPECT_EQ(wsheart::test::run_command({wsheart::test::wsheartctl_bin(), "--user", "list"}, bus.env(), 20s).out, "");
  EXPECT_TRUE(daemon.running());
}

}  // namespace
}  // namespace wsheart::cli::test
