// wsheartctl against tests/cli/fake_service.py (a stand-in for wsheartd that
// implements the D-Bus contract with deterministic behaviour) on a private
// dbus-daemon: output goldens, exit codes, error lines, monitor behaviour.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "golden.hpp"
#include "process.hpp"

namespace wsheart::cli::test {
namespace {

using namespace std::chrono_literals;
using wsheart::test::CommandResult;
using wsheart::test::EnvOverrides;
using wsheart::test::PrivateBus;
using wsheart::test::Subprocess;
using wsheart::test::TempDir;

constexpr const char* kUsers = R"json([
  {"id": "alice", "url": "wss://crm.example.com/wsCrm?jspCode=alice&token=***", "state": "open",
   "since_ago": 302, "rtt_usec": 1234, "rx": 12, "tx": 3, "last_ago": 5,
   "history": ["hello", "world", "two\nlines"]},
  {"id": "bob", "url": "wss://crm.example.com/wsCrm?jspCode=bob", "state": "backoff",
   "reason": "heartbeat_timeout", "since_ago": 42, "reconnects": 4, "rx": 7, "tx": 1, "dropped": 2,
   "duplicates": 3, "cursor": {"id": "m0007"}, "proxy": "http://proxy.example:3128"},
  {"id": "carol@example.com", "url": "ws://127.0.0.1:9/carol", "state": "stopped",
   "reason": "http_401: Unauthorized", "since_ago": 7930, "reconnects": 1},
  {"id": "dave", "url": "ws://127.0.0.1:9/dave", "state": "connecting",
   "reason": "connect_failed: Connection refused", "since_ago": 3, "access_denied": true}
])json";

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }
auto starts(const std::string& prefix) {
  return [prefix](const std::string& line) { return line.rfind(prefix, 0) == 0; };
}
auto has(const std::string& needle) {
  return [needle](const std::string& line) { return contains(line, needle); };
}

class CliGolden : public ::testing::Test {
 protected:
  void SetUp() override {
    static const bool have_python_dbus =
        wsheart::test::run_command({wsheart::test::kSystemPython, "-c", "import dbus, gi"}, {}, 20s).exit_code == 0;
    if (!have_python_dbus) GTEST_SKIP() << "needs python3-dbus and python3-gi for fake_service.py";
    users_file_ = dir_.write("users.json", kUsers);
    reload_error_file_ = dir_.path() + "/reload-error";
    start_service();
  }

  void start_service() {
    service_.emplace(std::vector<std::string>{wsheart::test::kSystemPython,
                                              std::string(WSHEART_CLI_TEST_DIR) + "/fake_service.py", "--system",
                                              "--users", users_file_, "--reload-error-file", reload_error_file_},
                     bus_.env());
    ASSERT_TRUE(service_->wait_for_line([](const std::string& l) { return l == "READY"; }, 20s))
        << "fake_service.py did not start: " << service_->err();
  }

  EnvOverrides env() const {
    EnvOverrides e = bus_.env();
    e["TZ"] = "UTC";
    e["NO_COLOR"] = "";
    e["COLUMNS"] = "";
    return e;
  }

  CommandResult ctl(const std::vector<std::string>& args, EnvOverrides extra = {}) const {
    std::vector<std::string> argv{wsheart::test::wsheartctl_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    EnvOverrides e = env();
    for (auto& [k, v] : extra) e[k] = v;
    return wsheart::test::run_command(argv, e, 20s);
  }

  static std::string display(const std::vector<std::string>& args) {
    std::string out = "wsheartctl";
    for (const auto& a : args) out += " " + (a.find(' ') == std::string::npos && !a.empty() ? a : "'" + a + "'");
    return out;
  }

  // Runs and compares with golden/<name>.expected.
  CommandResult golden(const std::string& name, const std::vector<std::string>& args) {
    CommandResult r = ctl(args);
    expect_golden(name, display(args), r);
    return r;
  }

  std::unique_ptr<Subprocess> monitor(const std::vector<std::string>& args) {
    std::vector<std::string> argv{wsheart::test::wsheartctl_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto proc = std::make_unique<Subprocess>(argv, env());
    // The monitor subscribes after installing its match rules: once the
    // service has seen Subscribe, no event can be missed.
    EXPECT_TRUE(service_->wait_for_line(starts("SUBSCRIBE "), 10s)) << proc->err();
    return proc;
  }

  TempDir dir_;
  PrivateBus bus_;
  std::string users_file_;
  std::string reload_error_file_;
  std::optional<Subprocess> service_;
};

// One line on stderr, "wsheartctl: " prefix, nothing on stdout.
void expect_error(const CommandResult& r, int code, const std::string& message) {
  EXPECT_EQ(r.exit_code, code);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "wsheartctl: " + message + "\n");
}

TEST_F(CliGolden, Help) { EXPECT_EQ(golden("help", {"--help"}).exit_code, 0); }

TEST_F(CliGolden, Version) {
  const CommandResult r = ctl({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "wsheartctl " WSHEART_VERSION "\n");
}

TEST_F(CliGolden, StatusAll) { EXPECT_EQ(golden("status", {"status"}).exit_code, 3); }
TEST_F(CliGolden, StatusJson) { EXPECT_EQ(golden("status-json", {"--json", "status"}).exit_code, 3); }
TEST_F(CliGolden, StatusNoLegend) { EXPECT_EQ(golden("status-no-legend", {"status", "--no-legend"}).exit_code, 3); }
TEST_F(CliGolden, StatusOpenUserExitsZero) { EXPECT_EQ(golden("status-alice", {"status", "alice"}).exit_code, 0); }
TEST_F(CliGolden, StatusSubsetKeepsArgumentOrder) {
  EXPECT_EQ(golden("status-subset", {"status", "carol@example.com", "alice"}).exit_code, 3);
}
TEST_F(CliGolden, StatusUnknownUser) { expect_error(ctl({"status", "alice", "zed"}), 5, "no such user 'zed'"); }

TEST_F(CliGolden, List) { EXPECT_EQ(golden("list", {"list"}).exit_code, 0); }
TEST_F(CliGolden, ListJson) { EXPECT_EQ(golden("list-json", {"list", "--json"}).exit_code, 0); }

TEST_F(CliGolden, SendSentAndQueued) {
  CommandResult r = ctl({"send", "alice", "hello"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "sent\n");
  EXPECT_EQ(r.err, "");
  r = ctl({"send", "bob", "later"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "queued\n");
  r = ctl({"--json", "send", "bob", "later"});
  EXPECT_EQ(r.out, "{\"user\":\"bob\",\"queued\":true}\n");
}

TEST_F(CliGolden, SendTextStartingWithDash) {
  const CommandResult r = ctl({"send", "alice", "--", "--not-an-option"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "sent\n");
}

TEST_F(CliGolden, SendErrors) {
  expect_error(ctl({"send", "zed", "x"}), 5, "no such user 'zed'");
  expect_error(ctl({"send", "carol@example.com", "x"}), 1, "user 'carol@example.com' is stopped");
  expect_error(ctl({"send", "dave", "x"}), 1, "permission denied: user 'dave' is restricted to another Unix user");
}

TEST_F(CliGolden, Reconnect) {
  const CommandResult r = ctl({"reconnect", "bob"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(wsheart::test::eventually([&] { return ctl({"status", "bob"}).exit_code == 0; }, 5s));
  expect_error(ctl({"reconnect", "zed"}), 5, "no such user 'zed'");
}

TEST_F(CliGolden, ReloadOk) {
  const CommandResult r = ctl({"reload"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
}

TEST_F(CliGolden, ReloadInvalidConfig) {
  dir_.write("reload-error",
             "/etc/wsheartd/config.toml:3:7: unknown key 'heartbeet'\n"
             "/etc/wsheartd/config.toml:12:1: duplicate user id 'bob'\n");
  EXPECT_EQ(golden("reload-invalid", {"reload"}).exit_code, 1);
}

TEST_F(CliGolden, Recent) {
  EXPECT_EQ(golden("recent", {"recent", "alice"}).exit_code, 0);
  EXPECT_EQ(golden("recent-since", {"recent", "alice", "--since", "2"}).exit_code, 0);
  EXPECT_EQ(golden("recent-json", {"--json", "recent", "alice", "--since=1"}).exit_code, 0);
  const CommandResult empty = ctl({"recent", "bob"});
  EXPECT_EQ(empty.exit_code, 0);
  EXPECT_EQ(empty.out, "");
  expect_error(ctl({"recent", "zed"}), 5, "no such user 'zed'");
}

TEST_F(CliGolden, UsageErrorBeforeAnyBusAccess) {
  expect_error(ctl({"status", "--frobnicate"}), 2, "unknown option '--frobnicate'. Try 'wsheartctl --help'.");
  expect_error(ctl({"send", "alice"}), 2, "command 'send' needs ID TEXT. Try 'wsheartctl --help'.");
  // Usage beats "not reachable": no bus is consulted for a bad command line.
  expect_error(ctl({"frob"}, {{"DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus"}}), 2,
               "unknown command 'frob'. Try 'wsheartctl --help'.");
}

TEST_F(CliGolden, DaemonNotRunning) {
  service_.reset();  // stops the service; the bus stays
  for (const auto& args : std::vector<std::vector<std::string>>{{"status"},
                                                                {"list"},
                                                                {"--json", "status"},
                                                                {"send", "alice", "x"},
                                                                {"reconnect", "alice"},
                                                                {"reload"},
                                                                {"recent", "alice"},
                                                                {"monitor"}}) {
    SCOPED_TRACE(display(args));
    expect_error(ctl(args), 4, "wsheartd is not running on the system bus");
  }
  expect_error(ctl({"--user", "status"}), 4, "wsheartd is not running on the session bus");
}

TEST_F(CliGolden, BusUnreachable) {
  const CommandResult r = ctl({"status"}, {{"DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus"}});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("wsheartctl: cannot connect to the system bus", 0), 0U) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST_F(CliGolden, UserFlagSelectsTheSessionBus) {
  const EnvOverrides only_session{{"DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus"}};
  EXPECT_EQ(ctl({"list"}, only_session).exit_code, 4);
  const CommandResult r = ctl({"--user", "list"}, only_session);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "alice\nbob\ncarol@example.com\ndave\n");
}

TEST_F(CliGolden, MonitorText) {
  auto mon = monitor({"monitor"});
  ASSERT_EQ(ctl({"send", "alice", "hello there"}).exit_code, 0);
  ASSERT_TRUE(mon->wait_for_line(has("hello there")));
  ASSERT_EQ(ctl({"send", "alice", "binary:abc"}).exit_code, 0);
  ASSERT_TRUE(mon->wait_for_line(has("binary")));
  ASSERT_EQ(ctl({"reconnect", "bob"}).exit_code, 0);
  ASSERT_TRUE(mon->wait_for_line(has("connecting -> open")));
  ASSERT_EQ(ctl({"send", "bob", "tab\there \x1b[31mred"}).exit_code, 0);
  ASSERT_TRUE(mon->wait_for_line(has("red")));
  mon->signal(SIGINT);
  const auto code = mon->wait(5s);
  ASSERT_TRUE(code);
  CommandResult r{*code, mon->out(), mon->err()};
  expect_golden("monitor", "wsheartctl monitor", r);
  EXPECT_TRUE(service_->wait_for_line(starts("UNSUBSCRIBE "), 5s));
}

TEST_F(CliGolden, MonitorJsonFiltered) {
  auto mon = monitor({"--json", "monitor", "alice", "carol@example.com"});
  ASSERT_EQ(ctl({"reconnect", "bob"}).exit_code, 0);  // not listed: not shown
  ASSERT_TRUE(wsheart::test::eventually([&] { return ctl({"status", "bob"}).exit_code == 0; }, 5s));
  ASSERT_EQ(ctl({"send", "alice", "quote\" and \\ and \n"}).exit_code, 0);
  ASSERT_TRUE(mon->wait_for_line(has("quote")));
  ASSERT_EQ(ctl({"send", "alice", "binary:\x01\x02"}).exit_code, 0);
  ASSERT_TRUE(mon->wait_for_line(has("binary")));
  ASSERT_EQ(ctl({"reconnect", "alice"}).exit_code, 0);
  ASSERT_TRUE(mon->wait_for_line(has("\"new\":\"open\"")));
  mon->signal(SIGTERM);
  const auto code = mon->wait(5s);
  ASSERT_TRUE(code);
  CommandResult r{*code, mon->out(), mon->err()};
  expect_golden("monitor-json", "wsheartctl --json monitor alice carol@example.com", r);
}

TEST_F(CliGolden, MonitorSurvivesDaemonRestart) {
  auto mon = monitor({"monitor"});
  service_.reset();
  ASSERT_TRUE(mon->wait_for_err_line(has("left the system bus"), 10s)) << mon->err();
  EXPECT_TRUE(mon->running());
  start_service();
  ASSERT_TRUE(mon->wait_for_err_line(has("back on the system bus"), 10s)) << mon->err();
  ASSERT_TRUE(service_->wait_for_line(starts("SUBSCRIBE "), 10s));  // resubscribed to the new instance
  ASSERT_EQ(ctl({"send", "alice", "after restart"}).exit_code, 0);
  ASSERT_TRUE(mon->wait_for_line(has("after restart")));
  mon->signal(SIGINT);
  const auto code = mon->wait(5s);
  ASSERT_TRUE(code);
  CommandResult r{*code, mon->out(), mon->err()};
  expect_golden("monitor-restart", "wsheartctl monitor", r);
}

// Colour and width apply only when stdout is a terminal: run under script(1)
// for a pty of 80 columns.
TEST_F(CliGolden, TerminalColourAndWidth) {
  if (::access("/usr/bin/script", X_OK) != 0) GTEST_SKIP() << "script(1) not installed";
  auto in_pty = [&](const EnvOverrides& extra) {
    EnvOverrides all = env();
    for (const auto& [k, v] : extra) all[k] = v;
    return wsheart::test::run_command(
        {"/usr/bin/script", "-qec", "stty cols 80; '" + wsheart::test::wsheartctl_bin() + "' status", "/dev/null"},
        all, 20s);
  };
  const CommandResult coloured = in_pty({});
  EXPECT_NE(coloured.out.find("\x1b[0;32mopen\x1b[0m"), std::string::npos) << coloured.out;
  EXPECT_NE(coloured.out.find("\x1b[0;31mbackoff\x1b[0m"), std::string::npos) << coloured.out;
  EXPECT_NE(coloured.out.find("carol@example.com"), std::string::npos) << "ids are shortened last";
  const CommandResult plain = in_pty({{"NO_COLOR", "1"}});
  EXPECT_EQ(plain.out.find('\x1b'), std::string::npos) << plain.out;
  // Every table line fits in 80 columns (the summary line is not a table line).
  std::size_t lines = 0;
  for (std::size_t start = plain.out.find('\n') + 1, nl = 0;
       start < plain.out.size() && (nl = plain.out.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = plain.out.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::size_t width = 0;
    for (char c : line) width += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U ? 1U : 0U;  // code points
    EXPECT_LE(width, 80U) << line;
    ++lines;
  }
  EXPECT_EQ(lines, 5U) << plain.out;
}

TEST_F(CliGolden, MonitorErrors) {
  expect_error(ctl({"monitor", "alice", "zed"}), 5, "no such user 'zed'");
}

TEST_F(CliGolden, MonitorEndsQuietlyWhenTheReaderGoes) {
  // monitor | head -n 1: once head has gone, the next write fails with EPIPE
  // (SIGPIPE is ignored) and monitor exits 0 without a message.
  const std::string script = dir_.write("pipe.sh",
                                        "(\"$1\" monitor; echo \"rc=$?\" >&2) | head -n 1 >/dev/null\n"
                                        "echo done\n");
  Subprocess sh({"/bin/sh", script, wsheart::test::wsheartctl_bin()}, env());
  ASSERT_TRUE(service_->wait_for_line(starts("SUBSCRIBE "), 10s));
  int sent = 0;
  ASSERT_TRUE(wsheart::test::eventually(
      [&] {
        EXPECT_EQ(ctl({"send", "alice", "line " + std::to_string(++sent)}).exit_code, 0);
        return sh.wait_for_line([](const std::string& l) { return l == "done"; }, 200ms).has_value();
      },
      10s));
  EXPECT_EQ(sh.err(), "rc=0\n");
}

}  // namespace
}  // namespace wsheart::cli::test

namespace wsheart::cli::test {
namespace {

TEST(GoldenNormalise, MasksWhatVariesAndKeepsWidths) {
  EXPECT_EQ(normalise("12:03:04.123 alice"), "HH:MM:SS.mmm alice");
  EXPECT_EQ(normalise("1 2024-05-01 12:03:04.123 x"), "1 YYYY-MM-DD HH:MM:SS.mmm x");
  EXPECT_EQ(normalise("open  5m 2s 1.2ms 12"), "open  Nm Ns N.Nms 12");
  EXPECT_EQ(normalise("42s 850us 3d 4h 2h 10m"), "NNs NNNus Nd Nh Nh NNm");
  EXPECT_EQ(normalise("{\"since_usec\":1714564984123456,\"rtt_usec\":0}"), "{\"since_usec\":USEC,\"rtt_usec\":0}");
  EXPECT_EQ(normalise("ws://127.0.0.1:45123/a"), "ws://127.0.0.1:45123/a");
  NormaliseOptions real;
  real.ports = true;
  real.collapse_blanks = true;
  real.literal = {{"/tmp/xyz", "TMP"}};
  EXPECT_EQ(normalise("ws://127.0.0.1:45123/a    x /tmp/xyz/c.toml", real), "ws://127.0.0.1:PORT/a x TMP/c.toml");
}

}  // namespace
}  // namespace wsheart::cli::test
