// Sleep, wake and network changes end to end. wsheartd --user runs on one
// private bus; a second private bus plays the system bus, where
// fake_system.py owns org.freedesktop.login1 and org.freedesktop.NetworkManager.
#include <gtest/gtest.h>

#include "fault_proxy.hpp"
#include "harness.hpp"

namespace wsheart::test {
namespace {

using Clock = std::chrono::steady_clock;

// Heartbeats so slow that only a wake can explain a quick detection.
const std::string kSlowHeartbeat =
    "[defaults]\n"
    "heartbeat_interval = \"20s\"\n"
    "heartbeat_timeout = \"20s\"\n"
    "wake_probe_timeout = \"300ms\"\n"
    "connect_timeout = \"2s\"\n"
    "reconnect_initial = \"30s\"\n"
    "reconnect_max = \"30s\"\n"
    "reconnect_jitter = \"none\"\n";

std::string user_block(const std::string& id, const std::string& url) {
  return "[[user]]\nid = \"" + id + "\"\nurl = \"" + url + "\"\n";
}

class FakeSystem {
 public:
  explicit FakeSystem(const PrivateBus& bus, const std::vector<std::string>& extra = {}) : proc_(argv(bus, extra)) {
    if (!proc_.wait_for_line([](const std::string& l) { return l == "READY"; })) {
      throw std::runtime_error("fake_system.py did not start: " + proc_.err());
    }
  }
  bool command(const std::string& cmd) {
    proc_.write_stdin(cmd + "\n");
    return proc_.wait_for_line([&](const std::string& l) { return l == "OK " + cmd; }).has_value();
  }
  bool wait_line(const std::string& line) {
    return proc_.wait_for_line([&](const std::string& l) { return l == line; }).has_value();
  }

 private:
  static std::vector<std::string> argv(const PrivateBus& bus, const std::vector<std::string>& extra) {
    std::vector<std::string> a{kSystemPython, std::string(WSHEART_NET_TEST_DIR) + "/fake_system.py", "--address",
                               bus.address()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  Subprocess proc_;
};

class NetTest : public ::testing::Test {
 protected:
  // Starts the daemon with `system` as its system bus and waits until it
  // watches logind (and, with NetworkManager, has read the network state).
  void start(const std::string& config, bool with_nm = true) {
    h.write_config(config);
    ASSERT_TRUE(h.start({}, {{"DBUS_SYSTEM_BUS_ADDRESS", system.address()}})) << h.daemon().err();
    ASSERT_TRUE(daemon_logged("watching logind's PrepareForSleep")) << h.daemon().err();
    if (with_nm) {
      ASSERT_TRUE(daemon_logged("network state at start: ")) << h.daemon().err();
    }
  }
  bool daemon_logged(const std::string& text) {
    return h.daemon()
        .wait_for_err_line([&](const std::string& l) { return l.find(text) != std::string::npos; })
        .has_value();
  }
  std::string reason(const std::string& id) { return h.user_property(id, "StateReason"); }

  PrivateBus system;
  DaemonHarness h;
};

TEST_F(NetTest, WakeProbesAnOpenConnectionAndDropsItIfSilent) {
  EchoServer echo;
  FakeSystem fake(system);
  start(kSlowHeartbeat + user_block("alice", echo.url("/ws")));
  ASSERT_TRUE(h.wait_state("alice", "open"));
  // The server stops answering: without a wake this takes 40 s to notice.
  h.busctl({"call", "org.wsheartd1", user_path("alice"), "org.wsheartd1.User", "Send", "s", "silence"});
  ASSERT_TRUE(fake.command("sleep"));
  SignalMonitor monitor(h.bus());
  const auto woke = Clock::now();
  ASSERT_TRUE(fake.command("wake"));
  ASSERT_TRUE(monitor.wait_for({"StateChanged", "('open', 'closing', 'resume')"}, 10s)) << h.daemon().err();
  EXPECT_LT(Clock::now() - woke, 5s);
  EXPECT_EQ(reason("alice"), "resume");
}

TEST_F(NetTest, WakeKeepsAnAnsweringConnection) {
  EchoServer echo;
  FakeSystem fake(system);
  start(kSlowHeartbeat + user_block("alice", echo.url("/ws")));
  ASSERT_TRUE(h.wait_state("alice", "open"));
  ASSERT_TRUE(fake.command("wake"));
  ASSERT_TRUE(daemon_logged("woke up (logind)"));
  // The probe's answer arrives: RTT measured, still open after the probe deadline.
  EXPECT_TRUE(eventually([&] { return h.user_property("alice", "RoundTripUsec") != "0"; }, 5s));
  EXPECT_EQ(h.user_property("alice", "State"), "open");
  EXPECT_EQ(reason("alice"), "connected");
}

TEST_F(NetTest, WakeCutsBackoffShort) {
  EchoServer echo;
  FaultProxy proxy(echo.port());
  FakeSystem fake(system);
  start(kSlowHeartbeat + user_block("alice", "ws://127.0.0.1:" + std::to_string(proxy.port()) + "/ws"));
  ASSERT_TRUE(h.wait_state("alice", "open"));
  ASSERT_TRUE(proxy.command("refuse"));
  ASSERT_TRUE(proxy.command("reset"));
  ASSERT_TRUE(h.wait_state("alice", "backoff"));  // 30 s until the next attempt
  ASSERT_TRUE(proxy.command("accept"));
  SignalMonitor monitor(h.bus());
  ASSERT_TRUE(fake.command("wake"));
  ASSERT_TRUE(monitor.wait_for({"StateChanged", "('backoff', 'connecting', 'resume')"}, 5s)) << h.daemon().err();
  EXPECT_TRUE(h.wait_state("alice", "open", 5s));
}

TEST_F(NetTest, OnSleepCloseClosesBeforeSleepUnderAnInhibitorAndReopensOnWake) {
  EchoServer echo;
  FakeSystem fake(system);
  start("[daemon]\non_sleep = \"close\"\n" + kSlowHeartbeat + user_block("alice", echo.url("/ws")));
  ASSERT_TRUE(fake.wait_line("INHIBIT sleep delay"));
  ASSERT_TRUE(h.wait_state("alice", "open"));
  SignalMonitor monitor(h.bus());
  ASSERT_TRUE(fake.command("sleep"));
  ASSERT_TRUE(monitor.wait_for({"StateChanged", "('open', 'closing', 'sleep')"}));
  ASSERT_TRUE(monitor.wait_for({"StateChanged", "('closing', 'backoff', 'sleep')"}));
  EXPECT_TRUE(fake.wait_line("INHIBIT released"));
  EXPECT_TRUE(echo.process().wait_for_err_line([](const std::string& l) { return l.find("remote_code=1001") != std::string::npos; }))
      << echo.process().err();
  ASSERT_TRUE(fake.command("wake"));
  ASSERT_TRUE(monitor.wait_for({"StateChanged", "('backoff', 'connecting', 'resume')"}, 5s));
  EXPECT_TRUE(h.wait_state("alice", "open"));
  EXPECT_TRUE(fake.wait_line("INHIBIT sleep delay"));  // taken again for the next sleep
}

TEST_F(NetTest, OfflineStopsAttemptsAndBackOnlineReconnects) {
  FakeSystem fake(system);
  // Nothing listens on the port: every attempt fails, every 20 ms.
  start(
      "[defaults]\nreconnect_initial = \"20ms\"\nreconnect_max = \"20ms\"\nconnect_timeout = \"1s\"\n" +
      user_block("alice", "ws://127.0.0.1:9/ws"));
  ASSERT_TRUE(eventually([&] { return std::stoul("0" + h.user_property("alice", "Reconnects")) > 2; }));
  ASSERT_TRUE(fake.command("nm-state 20"));
  ASSERT_TRUE(eventually([&] { return reason("alice") == "offline"; })) << h.daemon().err();
  const std::string attempts = h.user_property("alice", "Reconnects");
  // Offline for a while: not one attempt (at 20 ms each, dozens otherwise).
  ASSERT_TRUE(daemon_logged("the network is offline"));
  const auto until = Clock::now() + 500ms;
  while (Clock::now() < until) {
    ASSERT_EQ(h.user_property("alice", "Reconnects"), attempts);
  }
  EXPECT_EQ(h.user_property("alice", "State"), "backoff");
  SignalMonitor monitor(h.bus());
  ASSERT_TRUE(fake.command("nm-state 70"));
  EXPECT_TRUE(monitor.wait_for({"StateChanged", "('backoff', 'connecting', 'network_change')"}, 5s))
      << h.daemon().err();
}

// The state read at start only sets the starting point: offline holds the
// users back, online triggers nothing.
TEST_F(NetTest, StartingOfflineHoldsBackAndStartingOnlineTriggersNothing) {
  FakeSystem fake(system, {"--nm-state", "20"});
  start("[defaults]\nreconnect_initial = \"20ms\"\nreconnect_max = \"20ms\"\n" +
        user_block("alice", "ws://127.0.0.1:9/ws"));
  ASSERT_TRUE(eventually([&] { return reason("alice") == "offline"; })) << h.daemon().err();
  EXPECT_EQ(h.user_property("alice", "State"), "backoff");
  EXPECT_EQ(h.daemon().err().find("network is back"), std::string::npos);

  DaemonHarness online;
  EchoServer echo;
  PrivateBus online_system;
  FakeSystem nm_online(online_system, {"--nm-state", "70"});
  online.write_config(kSlowHeartbeat + user_block("bob", echo.url("/ws")));
  ASSERT_TRUE(online.start({}, {{"DBUS_SYSTEM_BUS_ADDRESS", online_system.address()}}));
  ASSERT_TRUE(online.daemon().wait_for_err_line([](const std::string& l) { return l.find("network state at start: online") != std::string::npos; }));
  EXPECT_TRUE(online.wait_state("bob", "open"));
  EXPECT_EQ(online.user_property("bob", "StateReason"), "connected");
  EXPECT_EQ(online.daemon().err().find("probing"), std::string::npos);
}

TEST_F(NetTest, PrimaryConnectionChangeProbesAndNeverDropsAHealthyConnection) {
  EchoServer echo;
  FakeSystem fake(system);
  start(kSlowHeartbeat + user_block("alice", echo.url("/ws")) + user_block("bob", echo.url("/ws")));
  ASSERT_TRUE(h.wait_state("alice", "open"));
  ASSERT_TRUE(h.wait_state("bob", "open"));
  h.busctl({"call", "org.wsheartd1", user_path("bob"), "org.wsheartd1.User", "Send", "s", "silence"});
  SignalMonitor monitor(h.bus());
  ASSERT_TRUE(fake.command("nm-primary /org/freedesktop/NetworkManager/ActiveConnection/2"));
  // bob's server went silent: the probe finds out; alice answers and stays.
  ASSERT_TRUE(monitor.wait_for({"StateChanged", "('open', 'closing', 'network_change')"}, 5s)) << h.daemon().err();
  EXPECT_EQ(monitor.process().out().find(user_path("alice") + ": org.wsheartd1.User.StateChanged"), std::string::npos)
      << monitor.process().out();
  EXPECT_EQ(h.user_property("alice", "State"), "open");
}

TEST_F(NetTest, NetworkWatchOffIgnoresNetworkManager) {
  EchoServer echo;
  FakeSystem fake(system, {"--nm-state", "20"});
  start("[daemon]\nnetwork_watch = \"off\"\n" + kSlowHeartbeat + user_block("alice", echo.url("/ws")), false);
  EXPECT_TRUE(h.wait_state("alice", "open"));
}

TEST_F(NetTest, NoSystemBusMeansClockOnly) {
  EchoServer echo;
  h.write_config(kSlowHeartbeat + user_block("alice", echo.url("/ws")));
  ASSERT_TRUE(h.start({}, {{"DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus"}})) << h.daemon().err();
  EXPECT_TRUE(daemon_logged("no system bus"));
  EXPECT_TRUE(h.wait_state("alice", "open"));
}

}  // namespace
}  // namespace wsheart::test
