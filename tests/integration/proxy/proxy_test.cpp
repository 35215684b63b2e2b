// HTTP proxies, end to end: the real wsheartd through a real tinyproxy (Debian's,
// run in the foreground with a generated config on a free loopback port), to
// wsheart-echo over ws:// and wss:// (certificates generated with openssl).
//
// One daemon holds every case as a user, so the whole file costs one start:
// ws and wss through the proxy (credentials from proxy_auth_file and from the
// proxy URL), wrong credentials (407), a proxy that never answers, a proxy
// that is down, no_proxy, https_proxy from the environment, and TLS
// verification through the tunnel (wrong CA, wrong pin). The proxy password
// is then searched for in everything the daemon says. IPv6 literals, as the
// server's address in CONNECT and as the proxy's own address, have a test
// of their own.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "encoding.hpp"
#include "harness.hpp"

namespace wsheart::test {
namespace {

const std::string kProxyUser = "agent";
const std::string kProxySecret = "pxyS3cretHq4Jw9";
const std::string kProxyBasic = encoding::base64_encode(kProxyUser + ":" + kProxySecret);

// A loopback port nothing listens on right now (bound, then released).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// tinyproxy in the foreground (-d): CONNECT allowed to `ports` only, Basic
// auth required. It logs every request line ("CONNECT host:port HTTP/1.1")
// to its log file, never the credentials.
class Tinyproxy {
 public:
  // `address`: where it listens and whom it serves, 127.0.0.1 or ::1.
  explicit Tinyproxy(const std::vector<std::uint16_t>& ports, const std::string& address = "127.0.0.1")
      : address_(address) {
    for (int attempt = 0; attempt < 3 && !proc_; ++attempt) {
      port_ = free_port();
      std::string conf = "Port " + std::to_string(port_) + "\nListen " + address +
                         "\nTimeout 30\nLogLevel Info\nMaxClients 50\nAllow " + address + "\n"
                         "LogFile \"" + dir_.path() + "/tinyproxy.log\"\nBasicAuth " + kProxyUser + " " +
                         kProxySecret + "\nDisableViaHeader Yes\n";
      for (std::uint16_t port : ports) conf += "ConnectPort " + std::to_string(port) + "\n";
      const std::string path = dir_.write("tinyproxy.conf", conf);
      proc_.emplace(std::vector<std::string>{"tinyproxy", "-d", "-c", path});
      if (!eventually([&] { return log().find("Accepting connections") != std::string::npos || !proc_->running(); },
                      10s)) {
        throw std::runtime_error("tinyproxy did not start: " + log());
      }
      if (!proc_->running()) proc_.reset();  // the port was taken meanwhile: another one
    }
    if (!proc_) throw std::runtime_error("tinyproxy did not start: " + log());
  }
  std::uint16_t port() const { return port_; }
  std::string url() const {
    const bool v6 = address_.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + address_ + "]" : address_) + ":" + std::to_string(port_);
  }
  std::string log() const { return slurp(dir_.path() + "/tinyproxy.log"); }

 private:
  std::string address_;
  TempDir dir_;
  std::optional<Subprocess> proc_;
  std::uint16_t port_ = 0;
};

// A Python listener on a free loopback port that serves each connection
// with `serve` (Python statements; `s` is the listening socket, argv[1] is
// `arg`): a broken proxy.
class PythonListener {
 public:
  PythonListener(const std::string& serve, const std::string& arg)
      : proc_({"/usr/bin/python3", "-c",
               "import socket, sys\n"
               "s = socket.socket()\n"
               "s.bind(('127.0.0.1', 0))\n"
               "s.listen(16)\n"
               "print('PORT', s.getsockname()[1], flush=True)\n" +
                   serve,
               arg}) {
    auto line = proc_.wait_for_line([](const std::string& l) { return l.rfind("PORT ", 0) == 0; });
    if (!line) throw std::runtime_error("listener did not start: " + proc_.err());
    port_ = static_cast<std::uint16_t>(std::stoul(line->substr(5)));
  }
  std::uint16_t port() const { return port_; }
  Subprocess& process() { return proc_; }

 private:
  Subprocess proc_;
  std::uint16_t port_ = 0;
};

// Accepts connections and never answers: a proxy that hangs on CONNECT.
struct SilentListener : PythonListener {
  SilentListener()
      : PythonListener("held = []\n"
                       "while True:\n"
                       "    held.append(s.accept())\n",
                       "") {}
};

// Answers every request with `reply` and closes: a broken proxy.
struct ReplyingListener : PythonListener {
  explicit ReplyingListener(const std::string& reply)
      : PythonListener("while True:\n"
                       "    c, _ = s.accept()\n"
                       "    c.recv(65536)\n"
                       "    c.sendall(sys.argv[1].encode())\n"
                       "    c.close()\n",
                       reply) {}
};

// Reads each request head (up to the blank line) and prints it as a Python
// bytes literal, "HEAD b'...'", exactly as the client sent it; then answers
// 502 and closes: a proxy that shows what it was asked.
struct RecordingListener : PythonListener {
  RecordingListener()
      : PythonListener("while True:\n"
                       "    c, _ = s.accept()\n"
                       "    head = b''\n"
                       "    try:\n"
                       "        while b'\\r\\n\\r\\n' not in head:\n"
                       "            chunk = c.recv(65536)\n"
                       "            if not chunk:\n"
                       "                break\n"
                       "            head += chunk\n"
                       "        print('HEAD', repr(head), flush=True)\n"
                       "        c.sendall(b'HTTP/1.1 502 Bad Gateway\\r\\nContent-Length: 0\\r\\n\\r\\n')\n"
                       "    except OSError:\n"
                       "        pass\n"
                       "    c.close()\n",
                       "") {}
  // The first request head received (nullopt after `timeout`).
  std::optional<std::string> first_head(std::chrono::milliseconds timeout = 10s) {
    auto line = process().wait_for_line([](const std::string& l) { return l.rfind("HEAD ", 0) == 0; }, timeout);
    if (line) line->erase(0, 5);
    return line;
  }
};

// A CA and a server certificate for 127.0.0.1, another CA, another key's pin.
class Pki {
 public:
  Pki() {
    const std::string script = R"SH(
set -e
cd "$1"
ec() { echo "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"; }
openssl req -x509 $(ec) -keyout ca.key -out ca.pem -days 30 -subj /CN=wsheart-proxy-ca 2>/dev/null
openssl req -x509 $(ec) -keyout other-ca.key -out other-ca.pem -days 30 -subj /CN=wsheart-other-ca 2>/dev/null
openssl req $(ec) -keyout server.key -out server.csr -subj /CN=server 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile san.ext -out server.pem 2>/dev/null
openssl x509 -in server.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64 > server.pin
openssl pkey -in other-ca.key -pubout -outform der | openssl dgst -sha256 -binary | base64 > other.pin
)SH";
    const CommandResult made = run_command({"sh", "-c", script, "sh", dir_.path()}, {}, 60s);
    if (made.exit_code != 0) throw std::runtime_error("openssl failed: " + made.err + made.out);
  }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string pin(const std::string& name) const {
    std::string text = slurp(path(name));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
  }

 private:
  TempDir dir_;
};

std::string user(const std::string& id, const std::string& url, const std::string& extra) {
  return "[[user]]\nid = \"" + id + "\"\nurl = \"" + url + "\"\n" + extra;
}

CommandResult ctl(DaemonHarness& h, const std::vector<std::string>& args) {
  std::vector<std::string> argv{wsheartctl_bin(), "--user"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, h.bus().env(), 10s);
}

TEST(Proxy, ThroughTinyproxyAndEveryWayItFails) {
  Pki pki;
  EchoServer plain;
  EchoServer tls({"--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key")});
  Tinyproxy proxy({plain.port(), tls.port()});
  SilentListener silent;
  const std::uint16_t down = free_port();
  DaemonHarness h;
  const std::string good_auth = h.dir().write("proxy-auth", "# rotated by ops\n" + kProxyUser + ":" + kProxySecret + "\n");
  const std::string bad_auth = h.dir().write("proxy-auth-bad", kProxyUser + ":wrong\n");
  const std::string ws = "ws://127.0.0.1:" + std::to_string(plain.port()) + "/ws";
  const std::string wss = "wss://127.0.0.1:" + std::to_string(tls.port()) + "/ws";
  const std::string with_password = "http://" + kProxyUser + ":" + kProxySecret + "@127.0.0.1:" + std::to_string(proxy.port());
  const std::string trust = "ca_file = \"" + pki.path("ca.pem") + "\"\n";

  h.write_config(
      "[defaults]\nheartbeat_interval = \"200ms\"\nheartbeat_timeout = \"500ms\"\nconnect_timeout = \"2s\"\n"
      "reconnect_initial = \"100ms\"\nreconnect_max = \"500ms\"\nfatal_backoff = \"1s\"\n" +
      user("plain", ws, "proxy = \"" + proxy.url() + "\"\nproxy_auth_file = \"" + good_auth + "\"\n") +
      user("tls", wss, "proxy = \"" + with_password + "\"\n" + trust + "pin_sha256 = \"" + pki.pin("server.pin") + "\"\n") +
      user("env", wss, trust) +  // proxy = "env" (the default): https_proxy below
      user("wrongpw", ws, "proxy = \"" + proxy.url() + "\"\nproxy_auth_file = \"" + bad_auth + "\"\n") +
      user("nocreds", wss, "proxy = \"" + proxy.url() + "\"\n" + trust) +
      user("silent", ws, "proxy = \"http://127.0.0.1:" + std::to_string(silent.port()) + "\"\nconnect_timeout = \"300ms\"\n") +
      user("down", ws, "proxy = \"http://127.0.0.1:" + std::to_string(down) + "\"\n") +
      user("bypass", ws, "proxy = \"http://127.0.0.1:" + std::to_string(down) + "\"\nno_proxy = \"localhost, 127.0.0.0/8\"\n") +
      user("wrongca", wss, "proxy = \"" + with_password + "\"\nca_file = \"" + pki.path("other-ca.pem") + "\"\n") +
      user("wrongpin", wss, "proxy = \"" + with_password + "\"\n" + trust + "pin_sha256 = \"" + pki.pin("other.pin") + "\"\n"));
  ASSERT_TRUE(h.start({}, {{"https_proxy", with_password}})) << h.daemon().err();

  for (const std::string id : {"plain", "tls", "env", "bypass"}) {
    EXPECT_TRUE(h.wait_state(id, "open")) << id << ": " << h.user_property(id, "StateReason") << "\n" << h.daemon().err();
  }
  const auto reason_is = [&](const std::string& id, const std::string& expected) {
    std::string reason;
    EXPECT_TRUE(eventually([&] { return (reason = h.user_property(id, "StateReason")) == expected; }))
        << id << ": " << reason << " (expected " << expected << ")";
  };
  // tinyproxy answers missing credentials with 407 and wrong ones with 401.
  reason_is("nocreds", "proxy_failed: proxy answered 407 Proxy Authentication Required");
  reason_is("wrongpw", "proxy_failed: proxy answered 401 Unauthorized");
  reason_is("silent", "proxy_timeout: no answer to CONNECT from http://127.0.0.1:" + std::to_string(silent.port()) +
                          " (300 ms)");
  reason_is("down", "connect_failed: proxy http://127.0.0.1:" + std::to_string(down) + ": Connection refused");
  reason_is("wrongca", "tls_error: unable to get local issuer certificate");
  reason_is("wrongpin", "tls_error: public key pin mismatch");

  // The proxy really carried them: its log has each CONNECT.
  const std::string log = proxy.log();
  EXPECT_NE(log.find("CONNECT 127.0.0.1:" + std::to_string(plain.port()) + " HTTP/1.1"), std::string::npos) << log;
  EXPECT_NE(log.find("CONNECT 127.0.0.1:" + std::to_string(tls.port()) + " HTTP/1.1"), std::string::npos) << log;

  // The Proxy property: redacted, "" for a bypassed user.
  EXPECT_EQ(h.user_property("plain", "Proxy"), proxy.url());
  EXPECT_EQ(h.user_property("tls", "Proxy"), proxy.url());
  EXPECT_EQ(h.user_property("env", "Proxy"), proxy.url());
  EXPECT_EQ(h.user_property("bypass", "Proxy"), "");

  // Proxy credentials stay between the daemon and the proxy: the server's
  // view of the upgrade request (the echo answers "headers" with it) has none.
  ASSERT_EQ(ctl(h, {"send", "plain", "headers"}).exit_code, 0);
  std::string seen;
  ASSERT_TRUE(eventually([&] { return (seen = ctl(h, {"recent", "plain"}).out).find("Host") != std::string::npos; }))
      << seen;
  EXPECT_EQ(seen.find("Proxy-Authorization"), std::string::npos) << seen;

  // The password is nowhere the daemon speaks.
  std::vector<std::pair<std::string, std::string>> said{
      {"wsheartd stderr", h.daemon().err() + h.daemon().out()},
      {"wsheartctl --json status", ctl(h, {"--json", "status"}).out},
      {"wsheartctl status", ctl(h, {"status"}).out},
      {"busctl introspect", h.busctl({"introspect", "org.wsheartd1", user_path("tls")}).out},
  };
  for (const std::string id : {"plain", "tls", "env", "wrongpw", "nocreds", "silent", "down", "bypass", "wrongca", "wrongpin"}) {
    said.emplace_back("GetAll " + id, h.busctl({"call", "org.wsheartd1", user_path(id), "org.freedesktop.DBus.Properties",
                                                "GetAll", "s", "org.wsheartd1.User"}).out);
  }
  EXPECT_NE(said[1].second.find("\"proxy\":\"" + proxy.url() + "\""), std::string::npos) << said[1].second;
  EXPECT_NE(said[3].second.find(".Proxy"), std::string::npos) << said[3].second;
  for (const auto& [what, text] : said) {
    for (const std::string& secret : {kProxySecret, kProxyBasic}) {
      EXPECT_EQ(text.find(secret), std::string::npos) << "proxy secret leaked in " << what << ":\n" << text;
    }
  }
}

// websocketpp parses the answer to CONNECT with a parser that throws on a
// malformed status line, out of its handler: that must cost one attempt of
// one user, not the daemon.
TEST(Proxy, MalformedAnswerCostsOneAttemptNotTheDaemon) {
  EchoServer plain;
  ReplyingListener garbage("HTTP/1.1 abc\r\n\r\n");
  ReplyingListener bad_gateway("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
  DaemonHarness h;
  const std::string ws = "ws://127.0.0.1:" + std::to_string(plain.port()) + "/ws";
  h.write_config("[defaults]\nconnect_timeout = \"300ms\"\nreconnect_initial = \"100ms\"\nreconnect_max = \"200ms\"\n" +
                 user("garbage", ws, "proxy = \"http://127.0.0.1:" + std::to_string(garbage.port()) + "\"\n") +
                 user("gateway", ws, "proxy = \"http://127.0.0.1:" + std::to_string(bad_gateway.port()) + "\"\n") +
                 user("direct", ws, "proxy = \"none\"\n"));
  ASSERT_TRUE(h.start()) << h.daemon().err();
  std::string reason;
  EXPECT_TRUE(eventually([&] {
    return (reason = h.user_property("garbage", "StateReason")) ==
           "proxy_failed: malformed answer to CONNECT from http://127.0.0.1:" + std::to_string(garbage.port());
  })) << reason << "\n" << h.daemon().err();
  EXPECT_TRUE(eventually([&] {
    return (reason = h.user_property("gateway", "StateReason")) == "proxy_failed: proxy answered 502 Bad Gateway";
  })) << reason;
  const std::string reconnects = h.user_property("garbage", "Reconnects");
  EXPECT_TRUE(eventually([&] { return h.user_property("garbage", "Reconnects") != reconnects; }));  // still trying
  EXPECT_TRUE(h.wait_state("direct", "open"));
  EXPECT_TRUE(h.daemon().running()) << h.daemon().err();
}

// IPv6 literals. In CONNECT the server's address is in brackets, RFC 9110's
// authority-form ("CONNECT [::1]:9000 HTTP/1.1", "Host: [::1]:9000"): a
// proxy cannot split "::1:9000" into a host and a port. The proxy's own
// address may be an IPv6 literal too, and no_proxy names such a server with
// or without brackets, in any spelling of the address (0:0::1).
TEST(Proxy, Ipv6LiteralsInConnectAndAsTheProxy) {
  EchoServer on_v4;
  EchoServer on_v6({"--host", "::1"});
  Tinyproxy proxy({on_v4.port(), on_v6.port()});
  Tinyproxy proxy_on_v6({on_v4.port(), on_v6.port()}, "::1");
  RecordingListener recorder;
  const std::uint16_t down = free_port();
  DaemonHarness h;
  const std::string credentials =
      "proxy_auth_file = \"" + h.dir().write("proxy-auth", kProxyUser + ":" + kProxySecret + "\n") + "\"\n";
  const std::string v4_url = "ws://127.0.0.1:" + std::to_string(on_v4.port()) + "/ws";
  const std::string v6_url = "ws://[::1]:" + std::to_string(on_v6.port()) + "/ws";
  const std::string proxy_down = "proxy = \"http://127.0.0.1:" + std::to_string(down) + "\"\n";
  h.write_config(
      "[defaults]\nconnect_timeout = \"2s\"\nreconnect_initial = \"100ms\"\nreconnect_max = \"500ms\"\n" +
      user("recorded", "ws://[::1]:9000/x", "proxy = \"http://127.0.0.1:" + std::to_string(recorder.port()) + "\"\n") +
      user("v6server", v6_url, "proxy = \"" + proxy.url() + "\"\n" + credentials) +
      user("v6proxy", v4_url, "proxy = \"" + proxy_on_v6.url() + "\"\n" + credentials) +
      user("v6both", v6_url, "proxy = \"" + proxy_on_v6.url() + "\"\n" + credentials) +
      user("bypassbracketed", v6_url, proxy_down + "no_proxy = \"[::1]\"\n") +
      user("bypassbare", v6_url, proxy_down + "no_proxy = \"::1\"\n") +
      user("bypassport", v6_url, proxy_down + "no_proxy = \"[::1]:" + std::to_string(on_v6.port()) + "\"\n") +
      user("bypasscidr", v6_url, proxy_down + "no_proxy = \"::/64\"\n") +
      user("bypassspelt", v6_url, proxy_down + "no_proxy = \"0:0::1\"\n"));
  ASSERT_TRUE(h.start()) << h.daemon().err();

  // The bytes on the wire, as Python's repr shows them (\r\n as four characters).
  const auto head = recorder.first_head();
  ASSERT_TRUE(head) << h.daemon().err();
  EXPECT_EQ(head->rfind(R"(b'CONNECT [::1]:9000 HTTP/1.1\r\n)", 0), 0U) << *head;
  EXPECT_NE(head->find(R"(\r\nHost: [::1]:9000\r\n)"), std::string::npos) << *head;

  for (const std::string id : {"v6server", "v6proxy", "v6both", "bypassbracketed", "bypassbare", "bypassport",
                               "bypasscidr", "bypassspelt"}) {
    EXPECT_TRUE(h.wait_state(id, "open")) << id << ": " << h.user_property(id, "StateReason");
  }
  const std::string v6_connect = "CONNECT [::1]:" + std::to_string(on_v6.port()) + " HTTP/1.1";
  EXPECT_NE(proxy.log().find(v6_connect), std::string::npos) << proxy.log();
  EXPECT_NE(proxy_on_v6.log().find(v6_connect), std::string::npos) << proxy_on_v6.log();
  EXPECT_NE(proxy_on_v6.log().find("CONNECT 127.0.0.1:" + std::to_string(on_v4.port()) + " HTTP/1.1"),
            std::string::npos)
      << proxy_on_v6.log();
  EXPECT_EQ(h.user_property("v6proxy", "Proxy"), "http://[::1]:" + std::to_string(proxy_on_v6.port()));
  for (const std::string id : {"bypassbracketed", "bypassbare", "bypassport", "bypasscidr", "bypassspelt"}) {
    EXPECT_EQ(h.user_property(id, "Proxy"), "") << id;
  }
}

}  // namespace
}  // namespace wsheart::test
