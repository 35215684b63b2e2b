// Fault injection: wsheartd against servers and buses that misbehave, on
// real loopback sockets and real processes. In every case a second, healthy
// user ("bob", on wsheart-echo, notified every 50 ms) must stay open and keep
// receiving, and the daemon must stay up (or exit as documented), with the
// right State and StateReason for the user that met the fault.
//
// Synchronisation is on observable events only (a signal, a property, a log
// line of a peer); time bounds are generous upper limits.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "process.hpp"
#include "signal_monitor.hpp"

namespace wsheart::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string faults_dir() { return WSHEART_FAULTS_DIR; }

// Memory bounds are looser in the ASan and TSan builds (scripts/sanitize,
// scripts/tsan): their shadow memory and allocator quarantine count in RSS.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Short intervals keep the suite fast. fatal_backoff is long so that a fatal
// failure is told apart from a retryable one by whether a retry happens.
const std::string kDefaults =
    "[defaults]\n"
    "heartbeat_interval = \"100ms\"\n"
    "heartbeat_timeout = \"100ms\"\n"
    "connect_timeout = \"500ms\"\n"
    "reconnect_initial = \"50ms\"\n"
    "reconnect_max = \"200ms\"\n"
    "stable_after = \"1s\"\n"
    "fatal_backoff = \"1h\"\n";

std::string user_block(const std::string& id, const std::string& url, const std::string& extra = "") {
  return "[[user]]\nid = \"" + id + "\"\nurl = \"" + url + "\"\n" + extra + "\n";
}

// The misbehaving server (bad_server.py): the path picks the misbehaviour.
class BadServer {
 public:
  BadServer() : proc_({kSystemPython, faults_dir() + "/bad_server.py", "--port", "0"}) {
    auto line = proc_.wait_for_line([](const std::string& l) { return l.rfind("PORT ", 0) == 0; });
    if (!line) throw std::runtime_error("bad_server.py did not start: " + proc_.err());
    port_ = static_cast<std::uint16_t>(std::stoul(line->substr(5)));
  }
  std::string url(const std::string& path) const { return "ws://127.0.0.1:" + std::to_string(port_) + path; }
  // Waits for a stderr line equal to `line` (or starting with it, when prefix).
  bool wait_log(const std::string& text, std::chrono::milliseconds timeout = 10s) {
    return proc_.wait_for_err_line([&](const std::string& l) { return l.rfind(text, 0) == 0; }, timeout).has_value();
  }
  std::size_t count_log(const std::string& text) {
    std::istringstream in(proc_.err());
    std::size_t n = 0;
    for (std::string l; std::getline(in, l);) n += l.rfind(text, 0) == 0 ? 1U : 0U;
    return n;
  }
  Subprocess& process() { return proc_; }

 private:
  Subprocess proc_;
  std::uint16_t port_ = 0;
};

// wsheartd on a private bus, optionally started under a wrapper command.
class Daemon {
 public:
  std::string write_config(const std::string& toml) { return config_path_ = dir_.write("config.toml", toml); }
  bool start(const std::vector<std::string>& wrapper = {}) {
    std::vector<std::string> argv = wrapper;
    for (const auto& a : {wsheartd_bin(), std::string("--user"), std::string("--config"), config_path_,
                          std::string("--log-level"), std::string("debug")}) {
      argv.push_back(a);
    }
    auto env = bus_.env();
    env["NOTIFY_SOCKET"] = notify_.path();
    proc_.emplace(argv, env);
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      if (notify_.wait_for("READY=1", 50ms)) return true;
      if (!proc_->running()) return false;
    }
    return false;
  }
  Subprocess& process() { return *proc_; }
  PrivateBus& bus() { return bus_; }
  const TempDir& dir() const { return dir_; }

  CommandResult busctl(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 10s) {
    std::vector<std::string> argv{"busctl", "--address=" + bus_.address(), "--timeout=5"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {}, timeout);
  }
  CommandResult call(const std::string& id, const std::string& method, const std::vector<std::string>& args = {}) {
    std::vector<std::string> argv{"call", "org.wsheartd1", "/org/wsheartd1/user/" + id, "org.wsheartd1.User", method};
    argv.insert(argv.end(), args.begin(), args.end());
    return busctl(argv);
  }
  // A property's value as busctl prints it, without the type and quotes.
  std::string prop(const std::string& id, const std::string& name) {
    auto r = busctl({"get-property", "org.wsheartd1", "/org/wsheartd1/user/" + id, "org.wsheartd1.User", name});
    if (r.exit_code != 0) return "<error: " + r.err + ">";
    std::string v = r.out.substr(r.out.find(' ') + 1);
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
  }
  std::uint64_t num(const std::string& id, const std::string& name) {
    const std::string v = prop(id, name);
    return v.empty() || !std::isdigit(static_cast<unsigned char>(v[0])) ? 0 : std::stoull(v);
  }
  bool wait_prop(const std::string& id, const std::string& name, const std::function<bool(const std::string&)>& ok,
                 std::chrono::milliseconds timeout = 10s) {
    return eventually([&] { return ok(prop(id, name)); }, timeout, 20ms);
  }
  // /proc/PID/status field in kB (VmRSS, VmHWM).
  long status_kb(const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(proc_->pid()) + "/status");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
    }
    return -1;
  }
  long fd_count() {
    const auto r = run_command({"sh", "-c", "ls /proc/" + std::to_string(proc_->pid()) + "/fd | wc -l"});
    return std::stol(r.out);
  }

 private:
  PrivateBus bus_;
  TempDir dir_;
  NotifySocket notify_;
  std::string config_path_;
  std::optional<Subprocess> proc_;
};

// The healthy neighbour: open, never reconnected, still receiving.
void expect_bob_healthy(Daemon& d) {
  EXPECT_EQ(d.prop("bob", "State"), "open");
  EXPECT_EQ(d.prop("bob", "Reconnects"), "0");
  const auto before = d.num("bob", "MessagesReceived");
  EXPECT_TRUE(eventually([&] { return d.num("bob", "MessagesReceived") >= before + 3; }, 10s, 20ms))
      << "bob stopped receiving";
}

// A fixture with bob on wsheart-echo and alice on a URL chosen by the test.
class Faults : public ::testing::Test {
 protected:
  Faults() : echo({"--notify-every", "50ms", "--quiet"}) {}
  void start_with_alice(const std::string& alice_url, const std::string& alice_extra = "",
                        const std::vector<std::string>& wrapper = {}) {
    d.write_config(kDefaults + user_block("bob", echo.url("/ws?u=bob")) + user_block("alice", alice_url, alice_extra));
    ASSERT_TRUE(d.start(wrapper)) << d.process().err();
    ASSERT_TRUE(d.wait_prop("bob", "State", [](const std::string& s) { return s == "open"; }));
  }
  // Waits until alice is in `state` with a reason starting with `prefix`; returns the last reason seen.
  std::string wait_reason(const std::string& state, const std::string& prefix, std::chrono::milliseconds timeout = 10s) {
    std::string reason;
    eventually(
        [&] {
          if (d.prop("alice", "State") != state) return false;
          reason = d.prop("alice", "StateReason");
          return reason.rfind(prefix, 0) == 0;
        },
        timeout, 20ms);
    return reason;
  }
  EchoServer echo;
  Daemon d;
};

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

TEST_F(Faults, ServerNeverAnswersTheUpgrade_ConnectTimeout) {
  BadServer bad;
  start_with_alice(bad.url("/never-upgrade"));
  ASSERT_TRUE(bad.wait_log("open /never-upgrade"));
  const auto opened = Clock::now();
  const std::string reason = wait_reason("backoff", "connect_timeout");
  EXPECT_TRUE(starts_with(reason, "connect_timeout")) << reason;
  // connect_timeout is 500 ms; the margin covers a loaded machine.
  EXPECT_LT(Clock::now() - opened, 3s);
  // It keeps trying, each attempt on a fresh socket that is closed afterwards.
  ASSERT_TRUE(eventually([&] { return d.num("alice", "Reconnects") >= 3; }, 15s, 50ms));
  EXPECT_TRUE(eventually([&] { return bad.count_log("closed /never-upgrade") >= 3; }, 5s));
  const long fds = d.fd_count();
  ASSERT_TRUE(eventually([&] { return d.num("alice", "Reconnects") >= 6; }, 15s, 50ms));
  EXPECT_LE(d.fd_count(), fds + 2) << "descriptors grow with every timed-out attempt";
  expect_bob_healthy(d);
}

TEST_F(Faults, ServerStallsAfterUpgrade_HeartbeatTimeout) {
  BadServer bad;
  start_with_alice(bad.url("/stall"));
  SignalMonitor mon(d.bus());
  ASSERT_TRUE(mon.wait_for({"user/alice", "StateChanged", "('open', 'closing', 'heartbeat_timeout')"}));
  ASSERT_TRUE(mon.wait_for({"user/alice", "StateChanged", "('closing', 'backoff', 'heartbeat_timeout')"}));
  ASSERT_TRUE(mon.wait_for({"user/alice", "StateChanged", "('connecting', 'open', 'connected')"}));
  EXPECT_TRUE(eventually([&] { return bad.count_log("closed /stall") >= 1; }, 5s)) << "dead socket not closed";
  expect_bob_healthy(d);
}

// Noise that never completes a header: the upgrade cannot succeed, and the
// attempt ends (bounded by connect_timeout at the latest) without the
// daemon buffering the noise.
TEST_F(Faults, EndlessGarbageInsteadOfAnHttpResponse) {
  BadServer bad;
  start_with_alice(bad.url("/garbage"));
  ASSERT_TRUE(bad.wait_log("open /garbage"));
  const long rss_before = d.status_kb("VmRSS");
  std::string reason;
  ASSERT_TRUE(eventually(
      [&] {
        reason = d.prop("alice", "StateReason");
        return d.prop("alice", "State") == "backoff";
      },
      10s, 20ms));
  // websocketpp gives up when the header grows past its limit (a few KiB).
  EXPECT_TRUE(starts_with(reason, "connect_failed")) << reason;
  ASSERT_TRUE(eventually([&] { return d.num("alice", "Reconnects") >= 2; }, 10s, 50ms)) << "no retry";
  EXPECT_LT(d.status_kb("VmHWM") - rss_before, 20 * 1024) << "the noise was buffered";
  expect_bob_healthy(d);
}

// A complete header block that is not HTTP: the attempt fails at once.
TEST_F(Faults, NonHttpResponseLines) {
  BadServer bad;
  start_with_alice(bad.url("/garbage-lines"));
  ASSERT_TRUE(bad.wait_log("open /garbage-lines"));
  const auto t0 = Clock::now();
  std::string reason;
  ASSERT_TRUE(eventually(
      [&] {
        reason = d.prop("alice", "StateReason");
        return d.prop("alice", "State") == "backoff";
      },
      10s, 20ms));
  EXPECT_TRUE(starts_with(reason, "connect_failed")) << reason;
  EXPECT_LT(Clock::now() - t0, 2s) << "waited for connect_timeout instead of failing at once";
  ASSERT_TRUE(eventually([&] { return d.num("alice", "Reconnects") >= 2; }, 10s, 50ms)) << "no retry";
  expect_bob_healthy(d);
}

TEST_F(Faults, TruncatedFrameThenClose_TcpReset) {
  BadServer bad;
  start_with_alice(bad.url("/truncated"));
  SignalMonitor mon(d.bus());
  ASSERT_TRUE(mon.wait_for({"user/alice", "StateChanged", "'open', 'backoff', 'tcp_reset"}))
      << mon.process().out();
  EXPECT_EQ(d.num("alice", "MessagesReceived"), 0U) << "a partial frame was republished";
  expect_bob_healthy(d);
}

TEST_F(Faults, InvalidUtf8InATextFrame_Close1007) {
  BadServer bad;
  start_with_alice(bad.url("/bad-utf8"));
  const std::string reason = wait_reason("backoff", "server_close_1007");
  EXPECT_TRUE(starts_with(reason, "server_close_1007")) << reason;
  // We told the server why: close code 1007.
  EXPECT_TRUE(bad.wait_log("client-close 1007")) << bad.process().err();
  EXPECT_EQ(d.num("alice", "MessagesReceived"), 0U);
  // Not fatal: retried within reconnect_max.
  EXPECT_TRUE(eventually([&] { return bad.count_log("open /bad-utf8") >= 2; }, 5s));
  expect_bob_healthy(d);
}

TEST_F(Faults, PingFlood_AnsweredAndConnectionStaysOpen) {
  BadServer bad;
  constexpr int kPings = 20000;
  Daemon& dd = d;
  start_with_alice(bad.url("/ping-flood/" + std::to_string(kPings)));
  SignalMonitor mon(dd.bus());
  // Every ping is answered with a pong, and the text after the flood arrives.
  ASSERT_TRUE(bad.wait_log("flood-sent " + std::to_string(kPings), 20s)) << bad.process().err();
  ASSERT_TRUE(bad.wait_log("pongs " + std::to_string(kPings), 20s)) << bad.process().err();
  EXPECT_TRUE(dd.wait_prop("alice", "MessagesReceived", [](const std::string& v) { return v == "1"; }));
  EXPECT_EQ(dd.prop("alice", "State"), "open");
  EXPECT_EQ(dd.prop("alice", "Reconnects"), "0");
  const auto recent = dd.call("alice", "RecentMessages", {"t", "0"});
  EXPECT_NE(recent.out.find("\"flood-done\""), std::string::npos) << recent.out;
  expect_bob_healthy(dd);
}

TEST_F(Faults, FrameHeaderAnnouncing100MiB_MessageTooBigWithoutAllocating) {
  BadServer bad;
  start_with_alice(bad.url("/huge-header"), "max_message_size = \"1MiB\"\n");
  const long rss_before = d.status_kb("VmRSS");
  const std::string reason = wait_reason("backoff", "message_too_big");
  EXPECT_TRUE(starts_with(reason, "message_too_big")) << reason;
  EXPECT_TRUE(bad.wait_log("client-close 1009")) << bad.process().err();
  EXPECT_GE(d.num("alice", "MessagesDropped"), 1U);
  EXPECT_EQ(d.num("alice", "MessagesReceived"), 0U);
  // It retries (not fatal) and meets the same header again; memory stays flat.
  ASSERT_TRUE(eventually([&] { return bad.count_log("client-close 1009") >= 3; }, 10s));
  const long hwm = d.status_kb("VmHWM");
  const long rss = d.status_kb("VmRSS");
  RecordProperty("rss_before_kb", static_cast<int>(rss_before));
  RecordProperty("hwm_kb", static_cast<int>(hwm));
  EXPECT_LT(rss - rss_before, 20 * 1024) << "RSS grew from " << rss_before << " to " << rss << " kB";
  EXPECT_LT(hwm, rss_before + 40 * 1024) << "peak RSS " << hwm << " kB (a 100 MiB buffer was allocated?)";
  expect_bob_healthy(d);
}

// Close codes: the reason names the code; 1002, 1003 and 1008 are fatal
// (fatal_backoff, 1 h here: no retry), the others retry within reconnect_max.
class CloseCodes : public Faults, public ::testing::WithParamInterface<int> {};

TEST_P(CloseCodes, ReasonAndBackoff) {
  const int code = GetParam();
  const bool fatal = code == 1002 || code == 1003 || code == 1008;
  BadServer bad;
  const std::string path = "/close/" + std::to_string(code);
  start_with_alice(bad.url(path));
  const std::string want = "server_close_" + std::to_string(code);
  const std::string reason = wait_reason("backoff", want);
  EXPECT_TRUE(starts_with(reason, want)) << reason;
  EXPECT_TRUE(bad.wait_log("client-close " + std::to_string(code))) << "the close was not acknowledged";
  if (fatal) {
    // While bob receives 20 more notifications (≥ 1 s, 5x reconnect_max),
    // alice must not retry.
    const auto bob = d.num("bob", "MessagesReceived");
    ASSERT_TRUE(eventually([&] { return d.num("bob", "MessagesReceived") >= bob + 20; }, 10s, 20ms));
    EXPECT_EQ(bad.count_log("open " + path), 1U) << "a fatal close was retried";
    EXPECT_EQ(d.prop("alice", "State"), "backoff");
    // Reconnect() cuts the fatal wait short.
    EXPECT_EQ(d.call("alice", "Reconnect").exit_code, 0);
    EXPECT_TRUE(eventually([&] { return bad.count_log("open " + path) >= 2; }, 5s));
  } else {
    EXPECT_TRUE(eventually([&] { return bad.count_log("open " + path) >= 2; }, 5s)) << "not retried";
  }
  expect_bob_healthy(d);
}

INSTANTIATE_TEST_SUITE_P(Faults, CloseCodes, ::testing::Values(1000, 1001, 1002, 1003, 1008, 1011, 4000),
                         [](const ::testing::TestParamInfo<int>& p) { return "Code" + std::to_string(p.param); });

// The peer's close frame is in and acknowledged, but the socket is still up
// (the server holds it until the close handshake times out): the transport
// refuses texts while the user is still open. Such a text must be neither
// reported nor counted as sent: Send answers "queued", and the text goes out
// on the next connection.
TEST_F(Faults, SendRefusedByAClosingConnectionIsQueuedNotLost) {
  BadServer bad;
  // Heartbeats far apart: only the close handshake timeout (2 s) ends the held socket.
  start_with_alice(bad.url("/close-hold"), "heartbeat_interval = \"30s\"\nheartbeat_timeout = \"30s\"");
  ASSERT_TRUE(bad.wait_log("client-close 1001"));
  auto r = d.call("alice", "Send", {"s", "echo:after-close"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "b true\n") << "a text the closing connection refused was reported as sent";
  EXPECT_TRUE(bad.wait_log("text echo:after-close", 15s)) << "the refused text was lost";
  // MessagesSent counts what the server got, once.
  ASSERT_TRUE(d.wait_prop("alice", "MessagesReceived", [](const std::string& v) { return v == "1"; }));
  EXPECT_EQ(d.prop("alice", "MessagesSent"), "1");
  EXPECT_EQ(bad.count_log("text "), 1U);
  expect_bob_healthy(d);
}

// The reserved .invalid TLD never resolves. The daemon runs in its own mount
// namespace with a resolv.conf that points at 127.0.0.1, so the lookup never
// leaves the machine (the host's resolver may be on another network).
TEST_F(Faults, HostNameDoesNotResolve_Dns) {
  const std::string resolv = d.dir().write("resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
  const std::vector<std::string> wrapper{"unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                                         "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"", resolv};
  start_with_alice("ws://wsheart-test.invalid:9/ws", "", wrapper);
  const std::string reason = wait_reason("backoff", "dns");
  EXPECT_TRUE(starts_with(reason, "dns")) << reason;
  EXPECT_TRUE(eventually([&] { return d.num("alice", "Reconnects") >= 2; }, 10s, 50ms)) << "not retried";
  expect_bob_healthy(d);
}

TEST_F(Faults, ConnectionRefused_ConnectFailed) {
  // A port that was just free: bind, read it back, close.
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  ::close(s);
  start_with_alice("ws://127.0.0.1:" + std::to_string(port) + "/ws");
  const std::string reason = wait_reason("backoff", "connect_failed");
  EXPECT_TRUE(starts_with(reason, "connect_failed")) << reason;
  EXPECT_NE(reason.find("refused"), std::string::npos) << reason;
  EXPECT_TRUE(eventually([&] { return d.num("alice", "Reconnects") >= 3; }, 10s, 50ms)) << "not retried";
  expect_bob_healthy(d);
}

// Design choice (docs/reliability.md): losing the bus is fatal for the
// process; it exits 69 (EX_UNAVAILABLE) at once and systemd's Restart=
// brings it back with a fresh bus connection.
TEST_F(Faults, BusDaemonKilled_ExitsWith69Promptly) {
  start_with_alice(echo.url("/ws?u=alice"));
  ASSERT_TRUE(d.wait_prop("alice", "State", [](const std::string& s) { return s == "open"; }));
  const auto killed = Clock::now();
  ASSERT_EQ(::kill(d.bus().pid(), SIGKILL), 0);
  const auto code = d.process().wait(5s);
  ASSERT_TRUE(code.has_value()) << "wsheartd still running 5 s after its bus died";
  EXPECT_EQ(*code, 69) << d.process().err();
  EXPECT_LT(Clock::now() - killed, 3s);
  // One line says why (at err priority).
  EXPECT_NE(d.process().err().find("<3>"), std::string::npos) << d.process().err();
}

// A subscriber that adds a match for every signal and never reads: the bus
// daemon queues for it; wsheartd must not notice. A reading monitor gets
// every message, bob is unaffected, the daemon answers calls.
//
// alice's heartbeat_timeout is 2 s here, not 100 ms: wsheart-echo queues a
// burst in 512 KiB slices and writes nothing (not even a HeartBeat reply)
// while it queues one. Under ASan/TSan on a busy machine that took 120 ms
// (strace), so alice was rightly declared dead before the first burst frame
// and the burst was lost with the connection. The heartbeat bound is tested
// elsewhere (Faults.ServerStallsAfterUpgrade_HeartbeatTimeout, Daemon.*).
TEST_F(Faults, SubscriberThatNeverReads) {
  EchoServer alice_echo({"--quiet"});
  start_with_alice(alice_echo.url("/ws?u=alice"), "heartbeat_timeout = \"2s\"\n");
  ASSERT_TRUE(d.wait_prop("alice", "State", [](const std::string& s) { return s == "open"; }));
  Subprocess stuck({kSystemPython, faults_dir() + "/stuck_client.py", d.bus().address()});
  ASSERT_TRUE(stuck.wait_for_line([](const std::string& l) { return l == "READY"; })) << stuck.err();
  SignalMonitor mon(d.bus());
  constexpr int kBurst = 20000;
  ASSERT_EQ(d.call("alice", "Send", {"s", "burst:" + std::to_string(kBurst) + ":512"}).exit_code, 0);
  // The daemon stays responsive while the burst is under way.
  EXPECT_EQ(d.prop("bob", "State"), "open");
  ASSERT_TRUE(d.wait_prop("alice", "MessagesReceived",
                          [&](const std::string& v) { return v == std::to_string(kBurst); }, 30s))
      << "the WebSocket side stalled at " << d.prop("alice", "MessagesReceived");
  // Every message reached the reading monitor, in order, or is accounted for in MessagesDropped.
  const auto dropped = d.num("alice", "MessagesDropped");
  ASSERT_TRUE(eventually([&] { return mon.seqs("alice").size() + dropped >= kBurst; }, 30s, 100ms))
      << mon.seqs("alice").size() << " of " << kBurst << " arrived, " << dropped << " dropped";
  const auto seqs = mon.seqs("alice");
  for (std::size_t i = 1; i < seqs.size(); ++i) ASSERT_GT(seqs[i], seqs[i - 1]) << "out of order at " << i;
  EXPECT_EQ(seqs.size() + dropped, static_cast<std::size_t>(kBurst));
  RecordProperty("dropped", static_cast<int>(dropped));
  EXPECT_TRUE(stuck.running());
  expect_bob_healthy(d);
}

// The bus daemon stops reading (SIGSTOP) while a server bursts: wsheartd's
// outgoing queue fills, the excess is dropped and counted, the WebSocket
// side keeps being read (the burst completes, heartbeats keep alice open),
// and once the bus is back every signal that was kept arrives in order.
TEST_F(Faults, BusDaemonStalledDuringABurst) {
  BadServer bad;
  start_with_alice(bad.url("/echo"));
  ASSERT_TRUE(d.wait_prop("alice", "State", [](const std::string& s) { return s == "open"; }));
  SignalMonitor mon(d.bus());
  const std::size_t kBurst = std::getenv("FAULTS_BURST") ? std::stoul(std::getenv("FAULTS_BURST")) : 250000U;
  const long rss_before = d.status_kb("VmRSS");
  ASSERT_EQ(::kill(d.bus().pid(), SIGSTOP), 0);
  bad.process().write_stdin("burst " + std::to_string(kBurst) + " 64\n");
  const bool done = bad.wait_log("burst-done " + std::to_string(kBurst), 30s);
  if (!done) {
    // Where is the daemon's only thread? (for the report)
    const auto stack = run_command({"gdb", "-p", std::to_string(d.process().pid()), "-batch", "-ex", "bt"}, {}, 30s);
    ADD_FAILURE() << "daemon stack while the bus was stopped:\n" << stack.out << "\nserver: " << bad.process().err();
  }
  // Keep the bus stopped a little longer than the heartbeat bound: the
  // connection must stay open on heartbeats alone.
  const bool still_up = d.process().running();
  const long hwm = d.status_kb("VmHWM");
  std::cerr << "stalled bus: rss before " << rss_before << " kB, peak " << hwm << " kB\n";
  ::kill(d.bus().pid(), SIGCONT);
  ASSERT_TRUE(done) << "the WebSocket side stalled while the bus was stopped";
  ASSERT_TRUE(still_up) << d.process().err();
  ASSERT_TRUE(d.wait_prop("alice", "MessagesReceived",
                          [&](const std::string& v) { return v == std::to_string(kBurst); }, 30s))
      << d.prop("alice", "MessagesReceived");
  EXPECT_EQ(d.prop("alice", "State"), "open");
  EXPECT_EQ(d.prop("alice", "Reconnects"), "0");
  const auto dropped = d.num("alice", "MessagesDropped");
  std::cerr << "stalled bus: " << dropped << " of " << kBurst << " dropped\n";
  // The outbox holds 65,536 signals (sd-bus and the socket hold some more).
  EXPECT_GT(dropped, 0U) << kBurst << " signals fit the bounded outbox?";
  // About 1 KiB per queued signal; ASan's redzones and quarantine and TSan's
  // shadow memory multiply it (peak +438 MiB seen under TSan).
  EXPECT_LT(hwm - rss_before, kSanitized ? 1024 * 1024 : 160 * 1024) << "the outbox is not bounded";
  ASSERT_TRUE(eventually([&] { return mon.seqs("alice").size() + dropped >= kBurst; }, 60s, 200ms))
      << mon.seqs("alice").size() << " arrived, " << dropped << " dropped";
  const auto seqs = mon.seqs("alice");
  for (std::size_t i = 1; i < seqs.size(); ++i) ASSERT_GT(seqs[i], seqs[i - 1]) << "out of order at " << i;
  EXPECT_EQ(seqs.size() + dropped, static_cast<std::size_t>(kBurst));
  RecordProperty("dropped", static_cast<int>(dropped));
  expect_bob_healthy(d);
}

// Bad D-Bus calls: each gets an error reply (or a harmless answer), and
// the daemon and both users carry on.
TEST_F(Faults, BadDbusCalls) {
  start_with_alice(echo.url("/ws?u=alice"));
  ASSERT_TRUE(d.wait_prop("alice", "State", [](const std::string& s) { return s == "open"; }));
  struct Case {
    std::vector<std::string> args;
    std::string error;  // expected in busctl's stderr; "" = must succeed
  };
  const std::string user = "/org/wsheartd1/user/alice";
  const std::vector<Case> cases = {
      {{"call", "org.wsheartd1", "/org/wsheartd1/user/nosuch", "org.wsheartd1.User", "Send", "s", "x"}, "Unknown object"},
      {{"call", "org.wsheartd1", user, "org.wsheartd1.User", "Send", "i", "5"}, "nvalid"},
      {{"call", "org.wsheartd1", user, "org.wsheartd1.User", "Send", "ss", "a", "b"}, "nvalid"},
      {{"call", "org.wsheartd1", user, "org.wsheartd1.User", "NoSuchMethod"}, "Unknown method"},
      {{"get-property", "org.wsheartd1", user, "org.wsheartd1.User", "NoSuchProperty"}, "nknown"},
      {{"set-property", "org.wsheartd1", user, "org.wsheartd1.User", "State", "s", "open"}, "not writable"},
      {{"call", "org.wsheartd1", user, "org.wsheartd1.User", "RecentMessages", "t", "18446744073709551615"}, ""},
      {{"call", "org.wsheartd1", user, "org.wsheartd1.User", "Send", "s", ""}, ""},
      {{"call", "org.wsheartd1", user, "org.wsheartd1.User", "Send", "s", std::string(100000, 'x')}, ""},  // argv limit: 128 KiB
      {{"call", "org.wsheartd1", "/org/wsheartd1", "org.wsheartd1.Manager", "Unsubscribe"}, ""},
      {{"call", "org.wsheartd1", "/org/wsheartd1", "org.wsheartd1.Manager", "Subscribe"}, ""},
  };
  for (const auto& c : cases) {
    const auto r = d.busctl(c.args);
    const std::string what = c.args[0] + " " + c.args[2] + " " + c.args[4];
    if (c.error.empty()) {
      EXPECT_EQ(r.exit_code, 0) << what << ": " << r.err;
    } else {
      EXPECT_NE(r.exit_code, 0) << what;
      EXPECT_NE(r.err.find(c.error), std::string::npos) << what << ": " << r.err;
    }
    ASSERT_TRUE(d.process().running()) << what << " killed the daemon: " << d.process().err();
  }
  // A property read that does not exist on the bus gives no internal error.
  EXPECT_EQ(d.process().err().find("org.freedesktop.DBus.Error.Failed"), std::string::npos);
  EXPECT_EQ(d.prop("alice", "State"), "open");
  EXPECT_EQ(d.prop("alice", "Reconnects"), "0");
  expect_bob_healthy(d);
}

// Bad command lines: exit 1 (78 for a config that cannot be read) with one
// line on stderr, nothing on stdout, no bus or network touched.
TEST(BadInput, WsheartdCommandLines) {
  TempDir dir;
  const std::string garbage = dir.write("garbage.toml", std::string("\xff\xfe\x00[[[", 7));
  const std::vector<std::pair<std::vector<std::string>, int>> cases = {
      {{"--bogus"}, 1},
      {{"extra-arg"}, 1},
      {{"--log-level", "loud"}, 1},
      {{"--log-level"}, 1},
      {{"--config"}, 1},
      {{"--check-config", "--config", "/nonexistent/wsheartd.toml"}, 78},
      {{"--check-config", "--config", dir.path()}, 78},
      {{"--check-config", "--config", garbage}, 78},
  };
  for (const auto& [args, code] : cases) {
    std::vector<std::string> argv{wsheartd_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    // No bus at all: none of these may try to reach one.
    const auto r = run_command(argv, {{"DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent"},
                                      {"DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent"}});
    EXPECT_EQ(r.exit_code, code) << args[0] << ": " << r.err;
    EXPECT_EQ(r.out, "") << args[0];
    EXPECT_FALSE(r.err.empty()) << args[0];
    EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace wsheart::test
