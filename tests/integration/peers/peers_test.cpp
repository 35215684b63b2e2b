// Tests for the peers used by the demo, the integration tests and the
// benchmarks: wsheart-echo, tests/support/fault_proxy.py and
// tests/support/py_ws_server.py. The client side is python3-websockets
// (ws_client.py, always run with /usr/bin/python3).
#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <string>
#include <vector>

#include "process.hpp"

namespace wsheart::test {
namespace {

const std::string kPython = "/usr/bin/python3";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  for (char ch : text) {
    if (ch == '\n') {
      lines.push_back(line);
      line.clear();
    } else {
      line += ch;
    }
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

// Runs ws_client.py against `url` with `args` (options and steps); returns its stdout lines.
std::vector<std::string> client(const std::string& url, std::vector<std::string> args) {
  std::vector<std::string> argv{kPython, PEERS_TEST_CLIENT, url};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto result = run_command(argv, {}, 60s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return lines_of(result.out);
}

std::vector<std::string> client_argv(const std::string& url, std::vector<std::string> args) {
  std::vector<std::string> argv{kPython, PEERS_TEST_CLIENT, url};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

bool is(const std::string& expected, const std::string& line) { return line == expected; }

std::uint16_t port_of(Subprocess& proc) {
  const auto line = proc.wait_for_line([](const std::string& l) { return l.rfind("PORT ", 0) == 0; });
  if (!line) return 0;
  return static_cast<std::uint16_t>(std::stoul(line->substr(5)));
}

std::string ws_url(std::uint16_t port, const std::string& path) {
  return "ws://127.0.0.1:" + std::to_string(port) + path;
}

using Lines = std::vector<std::string>;

// --- wsheart-echo: the protocol ---------------------------------------------

TEST(EchoServer, AnswersHeartbeatEchoPathAndHeaders) {
  EchoServer echo;
  const auto out = client(echo.url("/ws?user=alice"),
                          {"--header", "X-Wsheart-Test:custom value", "send:HeartBeat", "recv", "send:echo:hello world",
                           "recv", "send:path", "recv", "send:headers", "recv", "send:unknown", "silent:0.3"});
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0], "OPEN");
  EXPECT_EQ(out[1], "TEXT HeartBeat");
  EXPECT_EQ(out[2], "TEXT hello world");
  EXPECT_EQ(out[3], "TEXT /ws?user=alice");
  EXPECT_NE(out[4].find("\"X-Wsheart-Test\":\"custom value\""), std::string::npos) << out[4];
  EXPECT_NE(out[4].find("\"Upgrade\":\"websocket\""), std::string::npos) << out[4];
  EXPECT_EQ(out[5], "SILENT");
}

TEST(EchoServer, CustomAndDisabledHeartbeatReply) {
  {
    EchoServer echo({"--heartbeat-payload", "ping?", "--heartbeat-reply", "pong!"});
    EXPECT_EQ(client(echo.url("/"), {"send:ping?", "recv", "send:HeartBeat", "silent:0.3"}),
              (Lines{"OPEN", "TEXT pong!", "SILENT"}));
  }
  {
    EchoServer echo({"--no-heartbeat-reply"});
    EXPECT_EQ(client(echo.url("/"), {"send:HeartBeat", "silent:0.5", "send:echo:still here", "recv"}),
              (Lines{"OPEN", "SILENT", "TEXT still here"}));
  }
}

TEST(EchoServer, BinaryFramesAndLargeMessages) {
  EchoServer echo;
  // 40 MB is above websocketpp's 32 MB default message limit.
  EXPECT_EQ(client(echo.url("/bin"), {"sendbin:100000", "recv", "send:binary:300", "recv", "send:binary:0", "recv",
                                      "send:big:40000000", "recv:30"}),
            (Lines{"OPEN", "BINARY 100000 pattern", "BINARY 300 pattern", "BINARY 0 pattern", "TEXT_LEN 40000000 y"}));
}

TEST(EchoServer, BurstSendsExactCountSizesAndOrder) {
  EchoServer echo;
  EXPECT_EQ(client(echo.url("/burst"), {"burst:50000:128", "burst:3:5", "burst:200:65536", "send:HeartBeat", "recv"}),
            (Lines{"OPEN", "BURST 50000 sizes_ok=1 seq_ok=1 t_ok=1", "BURST 3 sizes_ok=1 seq_ok=1 t_ok=1",
                   "BURST 200 sizes_ok=1 seq_ok=1 t_ok=1", "TEXT HeartBeat"}));
}

TEST(EchoServer, CloseCommandAndDrop) {
  EchoServer echo;
  EXPECT_EQ(client(echo.url("/c"), {"send:close:4001", "closed:5"}), (Lines{"OPEN", "CLOSED 4001 requested|"}));
  // drop: TCP abort (RST), no close frame.
  EXPECT_EQ(client(echo.url("/d"), {"send:drop", "recv:5"}), (Lines{"OPEN", "CLOSED 1006 |ConnectionResetError"}));
}

TEST(EchoServer, SilenceStopsRepliesAndPongsButKeepsSocketOpen) {
  EchoServer echo;
  Subprocess other(client_argv(echo.url("/other"), {"sleep:3", "send:HeartBeat", "recv"}));
  ASSERT_TRUE(other.wait_for_line([](const std::string& l) { return l == "OPEN"; }));
  EXPECT_EQ(client(echo.url("/quiet"), {"ping:2", "send:silence", "send:HeartBeat", "silent:0.5", "ping:0.5",
                                        "send:echo:x", "silent:0.3"}),
            (Lines{"OPEN", "PONG", "SILENT", "NOPONG", "SILENT"}));
  // Other connections are unaffected.
  EXPECT_TRUE(other.wait_for_line([](const std::string& l) { return l == "TEXT HeartBeat"; }));
}

TEST(EchoServer, StallAfterUpgrade) {
  EchoServer echo({"--stall-after-upgrade"});
  EXPECT_EQ(client(echo.url("/s"), {"send:HeartBeat", "silent:0.5", "ping:0.5"}), (Lines{"OPEN", "SILENT", "NOPONG"}));
}

TEST(EchoServer, RefuseUpgradeWithStatus) {
  for (const char* status : {"401", "503"}) {
    EchoServer echo({"--refuse-upgrade", status});
    EXPECT_EQ(client(echo.url("/r"), {}), (Lines{std::string("CONNECT_FAILED InvalidStatusCode ") + status}));
  }
}

TEST(EchoServer, NeverUpgradeHoldsTheTcpConnection) {
  EchoServer echo({"--never-upgrade"});
  EXPECT_EQ(client(echo.url("/n"), {"--open-timeout", "1"}), (Lines{"CONNECT_FAILED TimeoutError"}));
}

TEST(EchoServer, CloseOnOpen) {
  EchoServer echo({"--close-on-open", "4003"});
  EXPECT_EQ(client(echo.url("/c"), {"closed:5"}), (Lines{"OPEN", "CLOSED 4003 close-on-open|"}));
}

TEST(EchoServer, NotificationsPerPath) {
  EchoServer echo({"--notify-every", "100ms"});
  Subprocess bob(client_argv(echo.url("/ws?user=bob"), {"recv", "recv"}));
  EXPECT_EQ(client(echo.url("/ws?user=alice"), {"recv", "recv"}),
            (Lines{"OPEN", "TEXT notification 1 for /ws?user=alice", "TEXT notification 2 for /ws?user=alice"}));
  EXPECT_TRUE(bob.wait_for_line(std::bind(is, "TEXT notification 2 for /ws?user=bob", std::placeholders::_1)));
}

TEST(EchoServer, MaxConnections) {
  EchoServer echo({"--max-connections", "1"});
  Subprocess first(client_argv(echo.url("/1"), {"sleep:5"}));
  ASSERT_TRUE(first.wait_for_line([](const std::string& l) { return l == "OPEN"; }));
  EXPECT_EQ(client(echo.url("/2"), {}), (Lines{"CONNECT_FAILED InvalidStatusCode 503"}));
  first.stop();
  EXPECT_TRUE(eventually([&] { return client(echo.url("/3"), {}) == Lines{"OPEN"}; }));
}

TEST(EchoServer, SigtermExitsCleanlyWithOpenConnections) {
  Subprocess echo({echo_bin(), "--port", "0"});
  const auto port = port_of(echo);
  ASSERT_NE(port, 0);
  Subprocess normal(client_argv(ws_url(port, "/a"), {"closed:10"}));
  Subprocess silent(client_argv(ws_url(port, "/b"), {"send:silence", "closed:10"}));
  ASSERT_TRUE(normal.wait_for_line([](const std::string& l) { return l == "OPEN"; }));
  ASSERT_TRUE(silent.wait_for_line([](const std::string& l) { return l == "OPEN"; }));
  ASSERT_TRUE(echo.wait_for_err_line([](const std::string& l) { return l.find("silenced") != std::string::npos; }));
  echo.signal(SIGTERM);
  EXPECT_EQ(echo.wait(3s), 0);
  EXPECT_EQ(echo.out(), "PORT " + std::to_string(port) + "\n");  // nothing else on stdout
  EXPECT_TRUE(normal.wait_for_line([](const std::string& l) { return l == "CLOSED 1001 server shutdown|"; }));
}

TEST(EchoServer, QuietLogsNothingAndBadArgumentsFail) {
  {
    Subprocess echo({echo_bin(), "--quiet"});
    const auto port = port_of(echo);
    ASSERT_NE(port, 0);
    EXPECT_EQ(client(ws_url(port, "/q"), {"send:HeartBeat", "recv"}), (Lines{"OPEN", "TEXT HeartBeat"}));
    echo.signal(SIGINT);
    EXPECT_EQ(echo.wait(3s), 0);
    EXPECT_EQ(echo.err(), "");
  }
  EXPECT_EQ(run_command({echo_bin(), "--bogus"}).exit_code, 2);
  EXPECT_EQ(run_command({echo_bin(), "--notify-every", "soon"}).exit_code, 2);
  EXPECT_EQ(run_command({echo_bin(), "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"}).exit_code, 1);
}

TEST(EchoServer, SecureWebSocketWithSelfSignedCertificate) {
  TempDir dir;
  const std::string cert = dir.path() + "/cert.pem";
  const std::string key = dir.path() + "/key.pem";
  const auto gen = run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                                "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout",
                                key, "-out", cert});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  EchoServer echo({"--tls-cert", cert, "--tls-key", key});
  const std::string url = "wss://localhost:" + std::to_string(echo.port()) + "/secure?x=1";
  EXPECT_EQ(client(url, {"--cafile", cert, "send:HeartBeat", "recv", "send:path", "recv", "burst:1000:100"}),
            (Lines{"OPEN", "TEXT HeartBeat", "TEXT /secure?x=1", "BURST 1000 sizes_ok=1 seq_ok=1 t_ok=1"}));
  // Without the CA the client must refuse the certificate.
  EXPECT_EQ(client(url, {}), (Lines{"CONNECT_FAILED SSLCertVerificationError"}));
  // Plain ws:// against the TLS port does not get a WebSocket.
  const auto plain = client(echo.url("/"), {"--open-timeout", "2"});
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].rfind("CONNECT_FAILED", 0), 0u) << plain[0];
}

// --- fault_proxy.py ---------------------------------------------------------

class FaultProxy {
 public:
  explicit FaultProxy(std::uint16_t target)
      : proc_({kPython, support_dir() + "/fault_proxy.py", "--target", "127.0.0.1:" + std::to_string(target)}) {
    port_ = port_of(proc_);
  }
  std::uint16_t port() const { return port_; }
  bool command(const std::string& cmd) {
    proc_.write_stdin(cmd + "\n");
    return proc_.wait_for_line(std::bind(is, "OK " + cmd, std::placeholders::_1)).has_value();
  }
  int count() {
    proc_.write_stdin("count\n");
    const auto line = proc_.wait_for_line([](const std::string& l) { return l.rfind("CONNECTIONS ", 0) == 0; });
    proc_.wait_for_line(std::bind(is, "OK count", std::placeholders::_1));
    return line ? std::stoi(line->substr(12)) : -1;
  }
  Subprocess& process() { return proc_; }

 private:
  Subprocess proc_;
  std::uint16_t port_ = 0;
};

TEST(FaultProxy, ForwardsAndCounts) {
  EchoServer echo;
  FaultProxy proxy(echo.port());
  ASSERT_NE(proxy.port(), 0);
  EXPECT_EQ(proxy.count(), 0);
  Subprocess held(client_argv(ws_url(proxy.port(), "/held"), {"send:HeartBeat", "recv", "sleep:10"}));
  ASSERT_TRUE(held.wait_for_line(std::bind(is, "TEXT HeartBeat", std::placeholders::_1)));
  EXPECT_EQ(proxy.count(), 1);
  EXPECT_EQ(client(ws_url(proxy.port(), "/p"), {"send:echo:through", "recv", "burst:5000:1000"}),
            (Lines{"OPEN", "TEXT through", "BURST 5000 sizes_ok=1 seq_ok=1 t_ok=1"}));
  held.stop();
  EXPECT_TRUE(eventually([&] { return proxy.count() == 0; }));
}

TEST(FaultProxy, BlackholeThenForward) {
  EchoServer echo;
  FaultProxy proxy(echo.port());
  Subprocess conn(client_argv(ws_url(proxy.port(), "/bh"),
                              {"send:HeartBeat", "recv", "sleep:1", "send:HeartBeat", "silent:1", "ping:0.5", "sleep:1",
                               "send:echo:back", "recv:5"}));
  ASSERT_TRUE(conn.wait_for_line(std::bind(is, "TEXT HeartBeat", std::placeholders::_1)));
  ASSERT_TRUE(proxy.command("blackhole"));
  EXPECT_TRUE(conn.wait_for_line(std::bind(is, "SILENT", std::placeholders::_1), 5s));
  EXPECT_TRUE(conn.wait_for_line(std::bind(is, "NOPONG", std::placeholders::_1), 5s));
  EXPECT_EQ(proxy.count(), 1);  // still open: a half-open path, not a close
  ASSERT_TRUE(proxy.command("forward"));
  EXPECT_TRUE(conn.wait_for_line(std::bind(is, "TEXT back", std::placeholders::_1), 10s)) << conn.out();

  // New connections during a blackhole are accepted but get nothing.
  ASSERT_TRUE(proxy.command("blackhole"));
  EXPECT_EQ(client(ws_url(proxy.port(), "/late"), {"--open-timeout", "1"}), (Lines{"CONNECT_FAILED TimeoutError"}));
  ASSERT_TRUE(proxy.command("forward"));
  EXPECT_EQ(client(ws_url(proxy.port(), "/after"), {"send:HeartBeat", "recv"}), (Lines{"OPEN", "TEXT HeartBeat"}));
}

TEST(FaultProxy, ResetRefuseAccept) {
  EchoServer echo;
  FaultProxy proxy(echo.port());
  Subprocess conn(client_argv(ws_url(proxy.port(), "/r"), {"send:HeartBeat", "recv", "recv:10"}));
  ASSERT_TRUE(conn.wait_for_line(std::bind(is, "TEXT HeartBeat", std::placeholders::_1)));
  ASSERT_TRUE(proxy.command("reset"));
  EXPECT_TRUE(conn.wait_for_line(std::bind(is, "CLOSED 1006 |ConnectionResetError", std::placeholders::_1)))
      << conn.out();
  EXPECT_TRUE(eventually([&] { return proxy.count() == 0; }));

  ASSERT_TRUE(proxy.command("refuse"));
  const auto refused = client(ws_url(proxy.port(), "/x"), {});
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].rfind("CONNECT_FAILED", 0), 0u) << refused[0];
  ASSERT_TRUE(proxy.command("accept"));
  EXPECT_EQ(client(ws_url(proxy.port(), "/y"), {"send:HeartBeat", "recv"}), (Lines{"OPEN", "TEXT HeartBeat"}));
}

TEST(FaultProxy, ExitsOnStdinEof) {
  const auto result =
      run_command({kPython, support_dir() + "/fault_proxy.py", "--target", "127.0.0.1:1"}, {}, 10s, "count\n");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(lines_of(result.out).size(), 3u) << result.out;  // PORT, CONNECTIONS 0, OK count
}

// --- py_ws_server.py (third-party interop peer) ------------------------------

TEST(PyWsServer, Protocol) {
  Subprocess server({kPython, support_dir() + "/py_ws_server.py", "--port", "0"});
  const auto port = port_of(server);
  ASSERT_NE(port, 0) << server.err();
  EXPECT_EQ(client(ws_url(port, "/py"), {"send:HeartBeat", "recv", "send:echo:abc", "recv", "send:binary:1000",
                                         "recv", "send:other", "silent:0.3", "ping:2", "send:close:4002", "closed:5"}),
            (Lines{"OPEN", "TEXT HeartBeat", "TEXT abc", "BINARY 1000 pattern", "SILENT", "PONG",
                   "CLOSED 4002 requested|"}));
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(5s), 0);
}

}  // namespace
}  // namespace wsheart::test
