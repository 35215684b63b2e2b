// `wsheartctl --user notify` against the real wsheartd --user and
// wsheart-echo on a private bus, with tests/cli/mock_notifications.py as
// the notification server: every Notify call it records is checked
// (mapping, markup escaping, burst collapse, state notices, catch-up).
// Synchronised on observable events: the agent's log lines, the mock's
// records, the daemon's state.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.hpp"

namespace wsheart::cli::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using wsheart::test::CommandResult;
using wsheart::test::EchoServer;
using wsheart::test::EnvOverrides;
using wsheart::test::PrivateBus;
using wsheart::test::Subprocess;
using wsheart::test::TempDir;

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::string config_text(std::uint16_t port, bool carol_reachable) {
  const std::string echo = "ws://127.0.0.1:" + std::to_string(port);
  return "[defaults]\n"
         "url = \"" + echo + "/ws/{id}\"\n"
         "heartbeat = \"off\"\n"
         "connect_timeout = \"2s\"\n"
         "reconnect_initial = \"100ms\"\n"
         "reconnect_max = \"1s\"\n"
         "\n[[user]]\nid = \"alice\"\n"
         "\n[[user]]\nid = \"carol\"\n"
         "url = \"" + (carol_reachable ? echo + "/ws/carol" : std::string("ws://127.0.0.1:1/refused")) + "\"\n"
         "reconnect_initial = \"1h\"\nreconnect_max = \"1h\"\nreconnect_jitter = \"none\"\n";
}

class NotifyAgent : public ::testing::Test {
 protected:
  void SetUp() override {
    static const bool have_python_dbus =
        wsheart::test::run_command({wsheart::test::kSystemPython, "-c", "import dbus, gi"}, {}, 20s).exit_code == 0;
    if (!have_python_dbus) GTEST_SKIP() << "needs python3-dbus and python3-gi for mock_notifications.py";
    echo_.emplace();
    config_ = dir_.write("config.toml", config_text(echo_->port(), false));
    daemon_.emplace(std::vector<std::string>{wsheart::test::wsheartd_bin(), "--user", "--config", config_},
                    bus_.env());
    ASSERT_TRUE(wsheart::test::eventually(
        [&] { return ctl({"status", "alice"}).exit_code == 0 && contains(ctl({"status", "carol"}).out, "backoff"); },
        20s, 20ms))
        << "wsheartd did not get ready:\n" << daemon_->err();
  }

  void start_mock(bool markup = true) {
    std::vector<std::string> argv{wsheart::test::kSystemPython, WSHEART_CLI_TEST_DIR "/mock_notifications.py"};
    if (!markup) argv.emplace_back("--no-markup");
    mock_.emplace(argv, bus_.env());
    ASSERT_TRUE(mock_->wait_for_line([](const std::string& l) { return l == "READY"; }, 20s)) << mock_->err();
  }

  EnvOverrides env() const {
    EnvOverrides e = bus_.env();
    e["XDG_STATE_HOME"] = dir_.path() + "/state";
    return e;
  }

  CommandResult ctl(std::vector<std::string> args) const {
    std::vector<std::string> argv{wsheart::test::wsheartctl_bin(), "--user"};
    argv.insert(argv.end(), args.begin(), args.end());
    return wsheart::test::run_command(argv, env(), 20s);
  }

  // Starts the agent and waits for its "connected to wsheartd" line.
  void start_agent(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{wsheart::test::wsheartctl_bin(), "--user", "notify", "--quiet-for", "300ms"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    agent_.emplace(argv, env());
    ASSERT_TRUE(agent_->wait_for_err_line(
        [](const std::string& l) { return contains(l, "connected to wsheartd"); }, 10s))
        << agent_->err();
  }

  // The next Notify record whose summary is `summary` (records before it are skipped, and kept).
  json next_notice(const std::string& summary, std::chrono::milliseconds timeout = 10s) {
    auto line = mock_->wait_for_line(
        [&](const std::string& l) {
          const json r = json::parse(l, nullptr, false);
          if (r.is_object()) seen_.push_back(r);
          return r.is_object() && r.value("summary", "") == summary;
        },
        timeout);
    if (!line) return json();
    return json::parse(*line);
  }

  void send(const std::string& id, const std::string& text) {
    const CommandResult r = ctl({"send", id, text});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.out, "sent\n");
  }

  PrivateBus bus_;
  TempDir dir_;
  std::optional<EchoServer> echo_;
  std::string config_;
  std::optional<Subprocess> daemon_;
  std::optional<Subprocess> mock_;
  std::optional<Subprocess> agent_;
  std::vector<json> seen_;
};

TEST_F(NotifyAgent, LogsWhatItIsConnectedTo) {
  start_mock();
  start_agent();
  EXPECT_TRUE(contains(agent_->err(), "notification server mock-notifications 1.0 (wsheartd tests), body markup"))
      << agent_->err();
  EXPECT_TRUE(contains(agent_->err(), "on the session bus: watching 2 user(s)")) << agent_->err();
}

TEST_F(NotifyAgent, MapsJsonMessagesAndEscapesMarkup) {
  start_mock();
  start_agent({"--summary", "/title", "--body", "/message", "--priority", "/priority"});
  send("alice", R"(echo:{"title":"Call","message":"<b>Tom</b> & 'Jerry' \"x\"","priority":9})");
  const json n = next_notice("Call");
  ASSERT_TRUE(n.is_object()) << agent_->err();
  EXPECT_EQ(n["app_name"], "wsheartd");
  EXPECT_EQ(n["body"], "&lt;b&gt;Tom&lt;/b&gt; &amp; &apos;Jerry&apos; &quot;x&quot;");
  EXPECT_EQ(n["urgency"], 2);
  EXPECT_EQ(n["urgency_type"], "Byte");
  EXPECT_EQ(n["category"], "im.received");
  EXPECT_EQ(n["replaces_id"], 0);
  EXPECT_EQ(n["expire_timeout"], -1);
  send("alice", R"(echo:{"title":"Low","priority":2})");
  const json low = next_notice("Low");
  ASSERT_TRUE(low.is_object());
  EXPECT_EQ(low["urgency"], 0);
  send("alice", "echo:plain <text>");
  const json plain = next_notice("alice");
  ASSERT_TRUE(plain.is_object());
  EXPECT_EQ(plain["body"], "plain &lt;text&gt;");
  EXPECT_EQ(plain["urgency"], 1);
}

TEST_F(NotifyAgent, NoEscapingWithoutBodyMarkup) {
  start_mock(/*markup=*/false);
  start_agent();
  send("alice", "echo:a <b> & c");
  const json n = next_notice("alice");
  ASSERT_TRUE(n.is_object());
  EXPECT_EQ(n["body"], "a <b> & c");
}

TEST_F(NotifyAgent, BurstCollapsesIntoOneNoticeReplacedInPlace) {
  start_mock();
  start_agent();
  send("alice", "burst:8:40");  // wsheart-echo answers with 8 messages at once
  const json last = next_notice("3 new messages");
  ASSERT_TRUE(last.is_object()) << agent_->err();
  // (carol's state notice may come in between.)
  seen_.erase(std::remove_if(seen_.begin(), seen_.end(), [](const json& r) { return r["category"] != "im.received"; }),
              seen_.end());
  // 5 shown one by one, then "1 new message", replaced in place by "3 new messages".
  ASSERT_EQ(seen_.size(), 7U);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(seen_[i]["summary"], "alice");
    EXPECT_EQ(seen_[i]["replaces_id"], 0);
  }
  EXPECT_EQ(seen_[5]["summary"], "1 new message");
  EXPECT_EQ(seen_[5]["replaces_id"], 0);
  EXPECT_EQ(last["replaces_id"], seen_[5]["id"]);
  EXPECT_TRUE(contains(last["body"].get<std::string>(), "latest: alice: seq=7 ")) << last["body"];
}

TEST_F(NotifyAgent, StateNoticeAfterQuietForAndUpdatedOnRecovery) {
  start_mock();
  start_agent();
  // carol has been refused since the start: announced once quiet-for has passed.
  const json down = next_notice("carol: not connected");
  ASSERT_TRUE(down.is_object()) << agent_->err();
  EXPECT_EQ(down["category"], "network.disconnected");
  EXPECT_TRUE(contains(down["body"].get<std::string>(), "connect_failed")) << down["body"];
  // alice is open: no notice for her.
  for (const auto& r : seen_) EXPECT_NE(r["summary"], "alice: not connected");
  // Point carol at the echo server: she connects, the notice is replaced.
  dir_.write("config.toml", config_text(echo_->port(), true));
  ASSERT_EQ(ctl({"reload"}).exit_code, 0);
  const json up = next_notice("carol: connected again");
  ASSERT_TRUE(up.is_object()) << agent_->err();
  EXPECT_EQ(up["replaces_id"], down["id"]);
  EXPECT_EQ(up["category"], "network.connected");
}

TEST_F(NotifyAgent, CatchUpShowsThreeThenASummary) {
  start_mock();
  start_agent({"alice"});
  send("alice", "echo:seen");
  ASSERT_TRUE(next_notice("alice").is_object());
  agent_->signal(SIGTERM);
  ASSERT_EQ(agent_->wait(5s), 0) << agent_->err();
  std::ifstream state(dir_.path() + "/state/wsheartd/notify.state");
  std::stringstream text;
  text << state.rdbuf();
  EXPECT_EQ(text.str(), "{\"last_seq\":{\"alice\":1}}\n");

  for (int i = 1; i <= 5; ++i) send("alice", "echo:missed " + std::to_string(i));
  ASSERT_TRUE(wsheart::test::eventually([&] { return contains(ctl({"recent", "alice"}).out, "missed 5"); }, 10s));
  seen_.clear();
  start_agent({"alice"});
  const json summary = next_notice("2 earlier messages");
  ASSERT_TRUE(summary.is_object()) << agent_->err();
  ASSERT_EQ(seen_.size(), 4U);  // the newest three, then the summary
  EXPECT_EQ(seen_[0]["body"], "missed 3");
  EXPECT_EQ(seen_[1]["body"], "missed 4");
  EXPECT_EQ(seen_[2]["body"], "missed 5");
  EXPECT_TRUE(contains(agent_->err(), "5 missed message(s)")) << agent_->err();
  // Live messages after the catch-up are not repeats.
  send("alice", "echo:live");
  const json live = next_notice("alice");
  ASSERT_TRUE(live.is_object());
  EXPECT_EQ(live["body"], "live");
}

TEST_F(NotifyAgent, NoNotificationServerIsExit69) {
  const CommandResult r = ctl({"notify"});
  EXPECT_EQ(r.exit_code, 69);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "wsheartctl: no notification server on the session bus")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(NotifyAgentNoBus, NoSessionBusIsExit69) {
  TempDir dir;
  const CommandResult r = wsheart::test::run_command(
      {wsheart::test::wsheartctl_bin(), "notify"},
      {{"DBUS_SESSION_BUS_ADDRESS", "unix:path=" + dir.path() + "/nothing"}, {"DISPLAY", ""}}, 10s);
  EXPECT_EQ(r.exit_code, 69);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "wsheartctl: cannot connect to the session bus")) << r.err;
}

}  // namespace
}  // namespace wsheart::cli::test
