// Transport against real peers: wsheart-echo (ws and wss), the Python
// third-party server, a Python server that records the request bytes, the
// fault proxy, and refusing/unresolvable addresses.
// The test thread drives the io_context until an observable condition holds.

#include "transport/transport.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "process.hpp"

namespace wsheart::transport {
namespace {

using namespace std::chrono_literals;
using supervisor::Disconnect;
using supervisor::FrameKind;
using Cause = Disconnect::Cause;
using Clock = std::chrono::steady_clock;

// The transport takes URLs parsed by config, as the daemon hands them over.
config::Url parse_url(const std::string& url) {
  std::string error;
  auto parsed = config::parse_ws_url(url, &error);
  if (!parsed) throw std::invalid_argument("bad test url " + url + ": " + error);
  return *parsed;
}

const char* cause_name(Cause cause) {
  switch (cause) {
    case Cause::Dns: return "Dns";
    case Cause::ConnectFailed: return "ConnectFailed";
    case Cause::Timeout: return "Timeout";
    case Cause::TlsError: return "TlsError";
    case Cause::TlsVerify: return "TlsVerify";
    case Cause::Http: return "Http";
    case Cause::ServerClose: return "ServerClose";
    case Cause::LocalClose: return "LocalClose";
    case Cause::TcpReset: return "TcpReset";
    case Cause::MessageTooBig: return "MessageTooBig";
    case Cause::ProxyFailed: return "ProxyFailed";
    case Cause::ProxyTimeout: return "ProxyTimeout";
    case Cause::Other: return "Other";
  }
  return "?";
}

struct Frame {
  ConnId id;
  FrameKind kind;
  std::string payload;
};

struct Ended {
  ConnId id;
  Disconnect why;
};

class Recorder : public Listener {
 public:
  void on_open(ConnId id) override {
    opened.push_back(id);
    if (open_hook) open_hook(id);
  }
  void on_frame(ConnId id, FrameKind kind, std::string payload) override {
    frames.push_back(Frame{id, kind, std::move(payload)});
    if (frame_hook) frame_hook(id);
  }
  void on_disconnect(ConnId id, const Disconnect& why) override {
    ended.push_back(Ended{id, why});
    if (disconnect_hook) disconnect_hook(id);
  }

  bool is_open(ConnId id) const { return std::find(opened.begin(), opened.end(), id) != opened.end(); }
  std::size_t ended_count(ConnId id) const {
    return static_cast<std::size_t>(
        std::count_if(ended.begin(), ended.end(), [id](const Ended& e) { return e.id == id; }));
  }
  const Ended* end_of(ConnId id) const {
    for (const auto& e : ended)
      if (e.id == id) return &e;
    return nullptr;
  }
  std::vector<const Frame*> frames_of(ConnId id) const {
    std::vector<const Frame*> out;
    for (const auto& f : frames)
      if (f.id == id) out.push_back(&f);
    return out;
  }

  std::vector<ConnId> opened;
  std::vector<Frame> frames;
  std::vector<Ended> ended;
  std::function<void(ConnId)> open_hook;
  std::function<void(ConnId)> frame_hook;
  std::function<void(ConnId)> disconnect_hook;
};

// Debug output of the transport goes to a temporary file the tests can
// inspect (for secrets) and that is echoed on failure-prone runs only via
// WSHEART_TEST_LOG=1.
class LogFile {
 public:
  LogFile() : file_(std::tmpfile()) {}
  ~LogFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  std::FILE* get() const { return file_; }
  std::string contents() const {
    std::fflush(file_);
    std::string out;
    std::rewind(file_);
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) out.append(buf, n);
    std::fseek(file_, 0, SEEK_END);
    return out;
  }

 private:
  std::FILE* file_;
};


// A scripted WebSocket server on its own thread with blocking sockets: does
// the upgrade, then runs `script` on the socket. Reads time out after 3 s so a
// script can never hang the test.
class RawServer {
 public:
  using Script = std::function<void(asio::ip::tcp::socket&)>;
  explicit RawServer(Script script)
      : acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        port_(acceptor_.local_endpoint().port()) {
    thread_ = std::thread([this, script = std::move(script)] {
      asio::ip::tcp::socket sock(io_);
      asio::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec || stopping_) return;
      timeval tv{3, 0};
      ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      if (!upgrade(sock)) return;
      script(sock);
    });
  }
  ~RawServer() {
    stopping_ = true;
    asio::error_code ec;
    asio::ip::tcp::socket poke(io_);
    poke.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);  // unblock accept
    thread_.join();
  }
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/"; }

  // An unmasked server frame (payload < 126 bytes).
  static void send_frame(asio::ip::tcp::socket& sock, std::uint8_t opcode, const std::string& payload) {
    std::string frame;
    frame += static_cast<char>(0x80 | opcode);
    frame += static_cast<char>(payload.size());
    frame += payload;
    asio::error_code ec;
    asio::write(sock, asio::buffer(frame), ec);
  }
  // Reads one masked client frame (payload < 126 bytes); nullopt on error.
  static std::optional<std::pair<std::uint8_t, std::string>> read_frame(asio::ip::tcp::socket& sock) {
    unsigned char head[6];
    asio::error_code ec;
    asio::read(sock, asio::buffer(head, 2), ec);
    if (ec || (head[1] & 0x80) == 0 || (head[1] & 0x7f) >= 126) return std::nullopt;
    asio::read(sock, asio::buffer(head + 2, 4), ec);
    std::string payload(head[1] & 0x7fu, '\0');
    if (!payload.empty()) asio::read(sock, asio::buffer(payload), ec);
    if (ec) return std::nullopt;
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ head[2 + i % 4]);
    return std::make_pair(static_cast<std::uint8_t>(head[0] & 0x0f), payload);
  }

 private:
  static bool upgrade(asio::ip::tcp::socket& sock) {
    asio::streambuf buf;
    asio::error_code ec;
    asio::read_until(sock, buf, "\r\n\r\n", ec);
    if (ec) return false;
    std::string request(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
    const std::string marker = "Sec-WebSocket-Key: ";
    const auto pos = request.find(marker);
    if (pos == std::string::npos) return false;
    const std::string key = request.substr(pos + marker.size(), request.find("\r\n", pos) - pos - marker.size());
    const std::string magic = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    ::SHA1(reinterpret_cast<const unsigned char*>(magic.data()), magic.size(), digest);
    unsigned char accept[64] = {};
    ::EVP_EncodeBlock(accept, digest, SHA_DIGEST_LENGTH);
    const std::string response = std::string("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n") +
                                 "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
                                 reinterpret_cast<const char*>(accept) + "\r\n\r\n";
    asio::write(sock, asio::buffer(response), ec);
    return !ec;
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// tests/support/recording_ws_server.py on `address` (127.0.0.1 or ::1):
// accepts every upgrade and reports the request head and, over TLS, the SNI
// server name exactly as received. With `--proxy` it is also the proxy,
// reporting the CONNECT head and tunnelling to itself.
class RecordingServer {
 public:
  explicit RecordingServer(const std::string& address, const std::vector<std::string>& options = {}) {
    std::vector<std::string> argv{test::kSystemPython, test::support_dir() + "/recording_ws_server.py", "--host",
                                  address};
    argv.insert(argv.end(), options.begin(), options.end());
    proc_.emplace(argv);
    const auto line = proc_->wait_for_line([](const std::string& l) { return l.rfind("PORT ", 0) == 0; });
    if (!line) throw std::runtime_error("recording_ws_server.py did not start: " + proc_->err());
    port_ = static_cast<std::uint16_t>(std::stoul(line->substr(5)));
  }
  std::uint16_t port() const { return port_; }
  // The next report tagged `tag` ("HEAD": a request head as a Python bytes
  // literal, \r\n as four characters; "SNI": a repr, None for no SNI),
  // without the tag; nullopt after `timeout`.
  std::optional<std::string> next(const std::string& tag, std::chrono::milliseconds timeout = 10s) {
    auto line = proc_->wait_for_line([&](const std::string& l) { return l.rfind(tag + " ", 0) == 0; }, timeout);
    if (line) line->erase(0, tag.size() + 1);
    return line;
  }
  std::string err() { return proc_->err(); }

 private:
  std::optional<test::Subprocess> proc_;
  std::uint16_t port_ = 0;
};

class TransportTest : public ::testing::Test {
 protected:
  TransportTest() : log_(LogLevel::Debug, logs_.get()), transport_(io_, rec_, log_) {}

  ~TransportTest() override {
    if (std::getenv("WSHEART_TEST_LOG") != nullptr) std::fputs(logs_.contents().c_str(), stderr);
  }

  // Runs the loop until `done` holds; false on timeout.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      io_.run_for(5ms);
      if (io_.stopped()) {
        io_.restart();
        std::this_thread::sleep_for(1ms);
      }
    }
    return true;
  }
  // Runs the loop for a while regardless of events.
  void run_for(std::chrono::milliseconds duration) {
    const auto deadline = Clock::now() + duration;
    while (Clock::now() < deadline) {
      io_.run_for(5ms);
      if (io_.stopped()) {
        io_.restart();
        std::this_thread::sleep_for(1ms);
      }
    }
  }

  ConnectRequest request(const std::string& url) {
    ConnectRequest req;
    req.user_id = "tester";
    req.url = parse_url(url);
    req.connect_timeout = 5000ms;
    return req;
  }

  ConnId open(const ConnectRequest& req) {
    const ConnId id = transport_.connect(req);
    EXPECT_TRUE(run_until([&] { return rec_.is_open(id) || rec_.end_of(id) != nullptr; }))
        << "no open/disconnect for " << req.url.host << ":" << req.url.port << req.url.resource;
    if (const Ended* e = rec_.end_of(id); e != nullptr && !rec_.is_open(id)) {
      ADD_FAILURE() << "connect failed: " << cause_name(e->why.cause) << " " << e->why.code << " "
                    << e->why.detail;
    }
    return id;
  }

  // Waits for the disconnect of `id` and returns it (a failing expectation if none).
  Disconnect wait_end(ConnId id, std::chrono::milliseconds timeout = 10s) {
    if (!run_until([&] { return rec_.end_of(id) != nullptr; }, timeout)) {
      ADD_FAILURE() << "no on_disconnect within " << timeout.count() << " ms";
      return Disconnect{};
    }
    return rec_.end_of(id)->why;
  }

  const Frame* wait_frame(ConnId id, std::size_t index = 0, std::chrono::milliseconds timeout = 10s) {
    if (!run_until([&] { return rec_.frames_of(id).size() > index; }, timeout)) return nullptr;
    return rec_.frames_of(id)[index];
  }

  static std::uint16_t unused_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();  // closed when the acceptor goes
  }

  LogFile logs_;
  asio::io_context io_;
  Recorder rec_;
  Logger log_;
  Transport transport_;
};

// ---------------------------------------------------------------------------
// data

TEST_F(TransportTest, EchoesTextAndBinary) {
  test::EchoServer echo;
  const ConnId id = open(request(echo.url("/chat?x=1")));
  ASSERT_TRUE(rec_.is_open(id));
  EXPECT_EQ(transport_.connection_count(), 1u);

  ASSERT_TRUE(transport_.send_text(id, "echo:hello world"));
  const Frame* f = wait_frame(id, 0);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, FrameKind::Text);
  EXPECT_EQ(f->payload, "hello world");

  ASSERT_TRUE(transport_.send_text(id, "binary:300"));
  f = wait_frame(id, 1);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, FrameKind::Binary);
  ASSERT_EQ(f->payload.size(), 300u);
  EXPECT_EQ(static_cast<unsigned char>(f->payload[0]), 0u);
  EXPECT_EQ(static_cast<unsigned char>(f->payload[299]), 299u & 0xffu);

  ASSERT_TRUE(transport_.send_text(id, "path"));
  f = wait_frame(id, 2);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->payload, "/chat?x=1");

  ASSERT_TRUE(transport_.send_text(id, "HeartBeat"));
  f = wait_frame(id, 3);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->payload, "HeartBeat");
  EXPECT_EQ(rec_.ended.size(), 0u);
}

TEST_F(TransportTest, BurstArrivesCompleteAndInOrder) {
  test::EchoServer echo;
  const ConnId id = open(request(echo.url()));
  ASSERT_TRUE(transport_.send_text(id, "burst:20000:64"));
  ASSERT_TRUE(run_until([&] { return rec_.frames_of(id).size() >= 20000; }, 30s));
  const auto frames = rec_.frames_of(id);
  for (std::size_t i = 0; i < frames.size(); i += 997) {
    ASSERT_EQ(frames[i]->payload.rfind("seq=" + std::to_string(i) + " ", 0), 0u) << frames[i]->payload;
    ASSERT_EQ(frames[i]->payload.size(), 64u);
  }
}

TEST_F(TransportTest, HundredThousandMessagesSmoke) {
  test::EchoServer echo({"--quiet"});
  const ConnId id = open(request(echo.url()));
  std::size_t count = 0;
  std::size_t bytes = 0;
  rec_.frame_hook = [&](ConnId) {
    ++count;
    bytes += rec_.frames.back().payload.size();
    rec_.frames.clear();  // keep memory flat
  };
  const auto start = Clock::now();
  ASSERT_TRUE(transport_.send_text(id, "burst:100000:64"));
  ASSERT_TRUE(run_until([&] { return count >= 100000; }, 60s)) << count;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  EXPECT_EQ(bytes, 100000u * 64u);
  RecordProperty("messages_per_second", std::to_string(100000 * 1000 / std::max<long long>(ms, 1)));
  std::printf("100000 x 64 B in %lld ms\n", static_cast<long long>(ms));
}

TEST_F(TransportTest, PingGetsPong) {
  test::EchoServer echo;
  const ConnId id = open(request(echo.url()));
  ASSERT_TRUE(transport_.send_ping(id, "p-123"));
  const Frame* f = wait_frame(id, 0);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, FrameKind::Pong);
  EXPECT_EQ(f->payload, "p-123");
}

TEST_F(TransportTest, SendOnUnknownOrClosedConnectionIsRefused) {
  EXPECT_FALSE(transport_.send_text(42, "x"));
  EXPECT_FALSE(transport_.send_ping(42, "x"));
  test::EchoServer echo({"--never-upgrade"});
  auto req = request(echo.url());
  const ConnId id = transport_.connect(req);
  EXPECT_FALSE(transport_.send_text(id, "not open yet"));
  transport_.abort(id);
}

TEST_F(TransportTest, HeadersAndHeadersFileReachTheServer) {
  test::TempDir dir;
  const std::string file = dir.write("headers",
                                     "# credentials\n"
                                     "\n"
                                     "X-From-File: file-secret-42\r\n"
                                     "  Cookie :  sid=abc  \n");
  test::EchoServer echo;
  auto req = request(echo.url());
  req.headers = {{"Authorization", "Bearer config-secret-17"}, {"X-Plain", "v"}};
  req.headers_file = file;
  const ConnId id = open(req);
  ASSERT_TRUE(transport_.send_text(id, "headers"));
  const Frame* f = wait_frame(id, 0);
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->payload.find(R"("Authorization":"Bearer config-secret-17")"), std::string::npos) << f->payload;
  EXPECT_NE(f->payload.find(R"("X-From-File":"file-secret-42")"), std::string::npos) << f->payload;
  EXPECT_NE(f->payload.find(R"("Cookie":"sid=abc")"), std::string::npos) << f->payload;
  EXPECT_NE(f->payload.find(R"("X-Plain":"v")"), std::string::npos) << f->payload;
  EXPECT_NE(f->payload.find(R"("User-Agent":"wsheartd")"), std::string::npos) << f->payload;

  transport_.close(id, 1000, "bye");
  wait_end(id);
  const std::string logs = logs_.contents();
  EXPECT_NE(logs.find("connecting"), std::string::npos);  // debug logging was on
  EXPECT_EQ(logs.find("config-secret-17"), std::string::npos);
  EXPECT_EQ(logs.find("file-secret-42"), std::string::npos);
  EXPECT_EQ(logs.find("sid=abc"), std::string::npos);
}

// config parses the userinfo (percent-escapes decoded); the transport sends it
// as HTTP Basic credentials, unless Authorization is set.
TEST_F(TransportTest, UrlUserinfoIsSentAsBasicAuthorization) {
  test::EchoServer echo;
  const std::string port = std::to_string(echo.port());
  const ConnId id = open(request("ws://agent:p%40ss-77@127.0.0.1:" + port + "/ws?x=1"));
  ASSERT_TRUE(transport_.send_text(id, "headers"));
  const Frame* f = wait_frame(id, 0);
  ASSERT_NE(f, nullptr);
  // base64("agent:p@ss-77")
  EXPECT_NE(f->payload.find(R"("Authorization":"Basic YWdlbnQ6cEBzcy03Nw==")"), std::string::npos) << f->payload;
  ASSERT_TRUE(transport_.send_text(id, "path"));
  const Frame* path = wait_frame(id, 1);
  ASSERT_NE(path, nullptr);
  EXPECT_EQ(path->payload, "/ws?x=1");
  transport_.close(id, 1000, "bye");
  wait_end(id);

  auto req = request("ws://agent:pw@127.0.0.1:" + port + "/");
  req.headers = {{"authorization", "Bearer explicit"}};
  const ConnId second = open(req);
  ASSERT_TRUE(transport_.send_text(second, "headers"));
  const Frame* g = wait_frame(second, 0);
  ASSERT_NE(g, nullptr);
  EXPECT_NE(g->payload.find("Bearer explicit"), std::string::npos) << g->payload;
  EXPECT_EQ(g->payload.find("Basic"), std::string::npos) << g->payload;
  EXPECT_EQ(logs_.contents().find("p%40ss-77"), std::string::npos);
}

// The upgrade request's Host is an RFC 3986 authority: an IPv6 address in
// brackets, and no port when it is the scheme's default (RFC 9110 7.2),
// directly and inside a proxy's tunnel.
TEST_F(TransportTest, Ipv6HostIsBracketedInTheUpgradeRequest) {
  RecordingServer on_v6("::1");
  RecordingServer on_v4("127.0.0.1");
  const std::string v6_port = std::to_string(on_v6.port());
  const std::string v4_port = std::to_string(on_v4.port());
  const ConnId v6 = open(request("ws://[::1]:" + v6_port + "/x?y=1"));
  EXPECT_TRUE(rec_.is_open(v6));
  const auto v6_head = on_v6.next("HEAD");
  ASSERT_TRUE(v6_head) << on_v6.err();
  EXPECT_EQ(v6_head->rfind(R"(b'GET /x?y=1 HTTP/1.1\r\n)", 0), 0u) << *v6_head;
  EXPECT_NE(v6_head->find(R"(\r\nHost: [::1]:)" + v6_port + R"(\r\n)"), std::string::npos) << *v6_head;

  const ConnId v4 = open(request("ws://127.0.0.1:" + v4_port + "/"));
  EXPECT_TRUE(rec_.is_open(v4));
  const auto v4_head = on_v4.next("HEAD");
  ASSERT_TRUE(v4_head) << on_v4.err();
  EXPECT_NE(v4_head->find(R"(\r\nHost: 127.0.0.1:)" + v4_port + R"(\r\n)"), std::string::npos) << *v4_head;

  // Through a proxy that tunnels to itself, so the server's port can be the
  // default one, 80, which nothing here could listen on.
  RecordingServer proxy("127.0.0.1", {"--proxy"});
  auto req = request("ws://[::1]/x");
  req.proxy = config::ProxyUrl{"127.0.0.1", proxy.port(), ""};
  const ConnId tunnelled = open(req);
  EXPECT_TRUE(rec_.is_open(tunnelled));
  const auto connect_head = proxy.next("HEAD");
  ASSERT_TRUE(connect_head) << proxy.err();
  EXPECT_EQ(connect_head->rfind(R"(b'CONNECT [::1]:80 HTTP/1.1\r\n)", 0), 0u) << *connect_head;
  const auto tunnelled_head = proxy.next("HEAD");
  ASSERT_TRUE(tunnelled_head) << proxy.err();
  EXPECT_EQ(tunnelled_head->rfind(R"(b'GET /x HTTP/1.1\r\n)", 0), 0u) << *tunnelled_head;
  EXPECT_NE(tunnelled_head->find(R"(\r\nHost: [::1]\r\n)"), std::string::npos) << *tunnelled_head;
}

TEST_F(TransportTest, HeadersFileIsReadBeforeEveryHandshake) {
  test::TempDir dir;
  test::EchoServer echo;
  auto req = request(echo.url());
  req.headers_file = dir.write("headers", "X-Token: one\n");
  ConnId id = open(req);
  transport_.send_text(id, "headers");
  ASSERT_NE(wait_frame(id, 0), nullptr);
  EXPECT_NE(rec_.frames_of(id)[0]->payload.find(R"("X-Token":"one")"), std::string::npos);
  transport_.abort(id);

  dir.write("headers", "X-Token: two\n");
  id = open(req);
  transport_.send_text(id, "headers");
  ASSERT_NE(wait_frame(id, 0), nullptr);
  EXPECT_NE(rec_.frames_of(id)[0]->payload.find(R"("X-Token":"two")"), std::string::npos);
}

TEST_F(TransportTest, UnreadableHeadersFileFailsWithoutTouchingTheNetwork) {
  auto req = request("ws://127.0.0.1:1/");
  req.headers_file = "/nonexistent/wsheart-headers";
  const ConnId id = transport_.connect(req);
  EXPECT_EQ(rec_.ended.size(), 0u) << "reported from inside connect()";
  EXPECT_EQ(transport_.connection_count(), 1u);
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::Other);
  EXPECT_NE(why.detail.find("/nonexistent/wsheart-headers"), std::string::npos) << why.detail;
  EXPECT_EQ(transport_.connection_count(), 0u);
}

TEST_F(TransportTest, MalformedHeadersFileNeverEchoesItsContents) {
  test::TempDir dir;
  auto req = request("ws://127.0.0.1:1/");
  req.headers_file = dir.write("headers", "X-Ok: fine\nBearer-top-secret-token-without-colon\n");
  const ConnId id = transport_.connect(req);
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::Other);
  EXPECT_NE(why.detail.find("line 2"), std::string::npos) << why.detail;
  EXPECT_EQ(why.detail.find("top-secret"), std::string::npos) << why.detail;
  EXPECT_EQ(logs_.contents().find("top-secret"), std::string::npos);
}

TEST_F(TransportTest, InvalidUrlIsReportedLater) {
  ConnectRequest req;  // a Url that config::parse_ws_url never returns: no host
  req.user_id = "tester";
  const ConnId id = transport_.connect(req);
  EXPECT_EQ(rec_.ended.size(), 0u);
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::Other);
  EXPECT_EQ(why.detail, "invalid url");
}

// ---------------------------------------------------------------------------
// failures while connecting

TEST_F(TransportTest, RefusedConnection) {
  const ConnId id = transport_.connect(request("ws://127.0.0.1:" + std::to_string(unused_port()) + "/"));
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::ConnectFailed) << cause_name(why.cause) << " " << why.detail;
  EXPECT_NE(why.detail.find("refused"), std::string::npos) << why.detail;
  EXPECT_EQ(rec_.opened.size(), 0u);
}

// An unresolvable name is tested end to end in Faults.HostNameDoesNotResolve_Dns,
// where the daemon runs in a mount namespace whose resolv.conf points at
// loopback: resolving it here would send a DNS query off this machine.

TEST_F(TransportTest, UpgradeRefusedWithHttpStatus) {
  for (int status : {401, 503}) {
    test::EchoServer echo({"--refuse-upgrade", std::to_string(status)});
    const ConnId id = transport_.connect(request(echo.url()));
    const Disconnect why = wait_end(id);
    EXPECT_EQ(why.cause, Cause::Http) << cause_name(why.cause) << " " << why.detail;
    EXPECT_EQ(why.code, status);
    EXPECT_FALSE(rec_.is_open(id));
  }
}

TEST_F(TransportTest, NeverUpgradingServerTimesOut) {
  test::EchoServer echo({"--never-upgrade"});
  auto req = request(echo.url());
  req.connect_timeout = 600ms;
  const auto start = Clock::now();
  const ConnId id = transport_.connect(req);
  const Disconnect why = wait_end(id, 5s);
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(why.cause, Cause::Timeout) << cause_name(why.cause) << " " << why.detail;
  EXPECT_GE(elapsed, 550ms);
  EXPECT_LE(elapsed, 600ms + 1500ms);
  EXPECT_EQ(rec_.ended_count(id), 1u);
  run_for(300ms);  // websocketpp's own handshake timer must not add a second report
  EXPECT_EQ(rec_.ended_count(id), 1u);
  EXPECT_EQ(transport_.connection_count(), 0u);
}

TEST_F(TransportTest, BlackholedPathTimesOut) {
  test::EchoServer echo;
  test::Subprocess proxy({test::kSystemPython, test::support_dir() + "/fault_proxy.py", "--target",
                          "127.0.0.1:" + std::to_string(echo.port())});
  const auto port_line = proxy.wait_for_line([](const std::string& l) { return l.rfind("PORT ", 0) == 0; });
  ASSERT_TRUE(port_line) << proxy.err();
  proxy.write_stdin("blackhole\n");
  ASSERT_TRUE(proxy.wait_for_line([](const std::string& l) { return l == "OK blackhole"; }));

  auto req = request("ws://127.0.0.1:" + port_line->substr(5) + "/");
  req.connect_timeout = 500ms;
  const ConnId id = transport_.connect(req);
  const Disconnect why = wait_end(id, 5s);
  EXPECT_EQ(why.cause, Cause::Timeout) << cause_name(why.cause) << " " << why.detail;
  EXPECT_NE(why.detail.find("http upgrade"), std::string::npos) << why.detail;
}

// ---------------------------------------------------------------------------
// endings of open connections

TEST_F(TransportTest, ServerCloseCarriesTheCode) {
  test::EchoServer echo;
  const ConnId id = open(request(echo.url()));
  ASSERT_TRUE(transport_.send_text(id, "close:4001"));
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::ServerClose) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 4001);
  EXPECT_FALSE(transport_.send_text(id, "after close"));
}

TEST_F(TransportTest, ServerClosingRightAfterOpen) {
  test::EchoServer echo({"--close-on-open", "1008"});
  const ConnId id = transport_.connect(request(echo.url()));
  const Disconnect why = wait_end(id);
  EXPECT_TRUE(rec_.is_open(id));
  EXPECT_EQ(why.cause, Cause::ServerClose) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 1008);
}

TEST_F(TransportTest, LocalCloseHandshake) {
  test::EchoServer echo;
  const ConnId id = open(request(echo.url()));
  transport_.close(id, 1000, "bye");
  EXPECT_EQ(rec_.ended.size(), 0u) << "reported from inside close()";
  const Disconnect why = wait_end(id, 5s);
  EXPECT_EQ(why.cause, Cause::LocalClose) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 1000);
  run_for(100ms);
  EXPECT_EQ(rec_.ended_count(id), 1u);
}

TEST_F(TransportTest, CloseAgainstASilentPeerIsBounded) {
  test::EchoServer echo;
  test::Subprocess proxy({test::kSystemPython, test::support_dir() + "/fault_proxy.py", "--target",
                          "127.0.0.1:" + std::to_string(echo.port())});
  const auto port_line = proxy.wait_for_line([](const std::string& l) { return l.rfind("PORT ", 0) == 0; });
  ASSERT_TRUE(port_line) << proxy.err();
  const ConnId id = open(request("ws://127.0.0.1:" + port_line->substr(5) + "/"));
  ASSERT_TRUE(rec_.is_open(id));
  proxy.write_stdin("blackhole\n");
  ASSERT_TRUE(proxy.wait_for_line([](const std::string& l) { return l == "OK blackhole"; }));
  const auto start = Clock::now();
  transport_.close(id, 1001, "going away");
  const Disconnect why = wait_end(id, 6s);
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(why.cause, Cause::LocalClose) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 1001);
  EXPECT_EQ(why.detail, "close handshake timed out");
  EXPECT_GE(elapsed, 1900ms);
  EXPECT_LE(elapsed, 3500ms);
}

TEST_F(TransportTest, CloseWhileConnectingIsReportedAsLocalClose) {
  test::EchoServer echo({"--never-upgrade"});
  const ConnId id = transport_.connect(request(echo.url()));
  run_for(100ms);
  transport_.close(id, 1001, "going away");
  EXPECT_EQ(rec_.ended.size(), 0u);
  const Disconnect why = wait_end(id, 2s);
  EXPECT_EQ(why.cause, Cause::LocalClose);
  run_for(200ms);
  EXPECT_EQ(rec_.ended_count(id), 1u);
}

TEST_F(TransportTest, ResetWithoutCloseFrameIsTcpReset) {
  test::EchoServer echo;
  const ConnId id = open(request(echo.url()));
  ASSERT_TRUE(transport_.send_text(id, "drop"));
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::TcpReset) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 1006);
}

TEST_F(TransportTest, ProxyResetIsTcpReset) {
  test::EchoServer echo;
  test::Subprocess proxy({test::kSystemPython, test::support_dir() + "/fault_proxy.py", "--target",
                          "127.0.0.1:" + std::to_string(echo.port())});
  const auto port_line = proxy.wait_for_line([](const std::string& l) { return l.rfind("PORT ", 0) == 0; });
  ASSERT_TRUE(port_line) << proxy.err();
  const ConnId id = open(request("ws://127.0.0.1:" + port_line->substr(5) + "/"));
  ASSERT_TRUE(rec_.is_open(id));
  proxy.write_stdin("reset\n");
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::TcpReset) << cause_name(why.cause) << " " << why.detail;
}

TEST_F(TransportTest, OversizeMessageIsMessageTooBig) {
  test::EchoServer echo;
  auto req = request(echo.url());
  req.max_message_size = 1000;
  const ConnId id = open(req);
  ASSERT_TRUE(transport_.send_text(id, "big:1000"));
  const Frame* f = wait_frame(id, 0);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->payload.size(), 1000u);
  ASSERT_TRUE(transport_.send_text(id, "big:1001"));
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::MessageTooBig) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 1009);
  EXPECT_EQ(rec_.frames_of(id).size(), 1u);
}

TEST_F(TransportTest, ServerSent1009IsAServerClose) {
  test::EchoServer echo;
  const ConnId id = open(request(echo.url()));
  ASSERT_TRUE(transport_.send_text(id, "close:1009"));
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::ServerClose) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 1009);
}

// ---------------------------------------------------------------------------
// abort

TEST_F(TransportTest, AbortOpenConnectionGivesNoCallback) {
  test::EchoServer echo;
  const ConnId id = open(request(echo.url()));
  ASSERT_TRUE(transport_.send_text(id, "burst:2000:32"));
  transport_.abort(id);
  EXPECT_EQ(transport_.connection_count(), 0u);
  run_for(500ms);
  EXPECT_EQ(rec_.ended_count(id), 0u);
  EXPECT_TRUE(rec_.frames_of(id).empty());
  EXPECT_FALSE(transport_.send_text(id, "x"));
  transport_.close(id, 1000, "");  // unknown by now: no-op
  run_for(100ms);
  EXPECT_EQ(rec_.ended_count(id), 0u);

  // The server saw the connection go.
  const ConnId second = open(request(echo.url()));
  EXPECT_NE(second, id);
}

TEST_F(TransportTest, AbortFromInsideAFrameCallback) {
  test::EchoServer echo;
  const ConnId id = open(request(echo.url()));
  rec_.frame_hook = [&](ConnId fid) { transport_.abort(fid); };
  ASSERT_TRUE(transport_.send_text(id, "burst:500:16"));
  ASSERT_TRUE(run_until([&] { return !rec_.frames_of(id).empty(); }));
  run_for(300ms);
  EXPECT_EQ(rec_.frames_of(id).size(), 1u);
  EXPECT_EQ(rec_.ended_count(id), 0u);
}

TEST_F(TransportTest, AbortWhileConnectingGivesNoCallback) {
  test::EchoServer never({"--never-upgrade"});
  auto req = request(never.url());
  req.connect_timeout = 300ms;
  const ConnId a = transport_.connect(req);
  run_for(100ms);  // a: waiting for the upgrade response
  // b: resolving; c: failure already posted
  const ConnId b = transport_.connect(request("ws://localhost:1/"));  // /etc/hosts: no DNS query
  auto bad = request("ws://127.0.0.1:1/");
  bad.headers_file = "/nonexistent";
  const ConnId c = transport_.connect(bad);
  transport_.abort(a);
  transport_.abort(b);
  transport_.abort(c);
  EXPECT_EQ(transport_.connection_count(), 0u);
  run_for(800ms);
  EXPECT_TRUE(rec_.ended.empty());
  for (const auto& e : rec_.ended)
    ADD_FAILURE() << "conn " << e.id << ": " << cause_name(e.why.cause) << " " << e.why.detail;
  EXPECT_TRUE(rec_.opened.empty());
}

TEST_F(TransportTest, AbortAllForShutdown) {
  test::EchoServer echo;
  test::EchoServer never({"--never-upgrade"});
  const ConnId a = open(request(echo.url()));
  const ConnId b = open(request(echo.url()));
  transport_.connect(request(never.url()));
  EXPECT_EQ(transport_.connection_count(), 3u);
  transport_.abort_all();
  EXPECT_EQ(transport_.connection_count(), 0u);
  run_for(300ms);
  EXPECT_TRUE(rec_.ended.empty());
  EXPECT_FALSE(transport_.send_text(a, "x"));
  EXPECT_FALSE(transport_.send_text(b, "x"));
}

TEST_F(TransportTest, ListenerExceptionsDoNotEscapeTheLoop) {
  test::EchoServer echo;
  const ConnId id = open(request(echo.url()));
  rec_.frame_hook = [](ConnId) { throw std::runtime_error("listener bug"); };
  ASSERT_TRUE(transport_.send_text(id, "echo:one"));
  ASSERT_TRUE(transport_.send_text(id, "echo:two"));
  ASSERT_NO_THROW(run_until([&] { return rec_.frames_of(id).size() >= 2; }));
  EXPECT_EQ(rec_.frames_of(id).size(), 2u);
  EXPECT_NE(logs_.contents().find("<3>transport: listener failed: listener bug"), std::string::npos);
}

TEST_F(TransportTest, ReconnectFromInsideOnDisconnect) {
  test::EchoServer echo;
  ConnId second = 0;
  rec_.disconnect_hook = [&](ConnId) {
    if (second == 0) second = transport_.connect(request(echo.url()));
  };
  const ConnId first = open(request(echo.url()));
  transport_.send_text(first, "close:1001");
  ASSERT_TRUE(run_until([&] { return second != 0 && rec_.is_open(second); }));
  EXPECT_EQ(rec_.ended_count(first), 1u);
  EXPECT_NE(first, second);
}

// ---------------------------------------------------------------------------
// scripted peers

TEST_F(TransportTest, ServerPingIsReportedAndAnsweredWithPong) {
  std::mutex mu;
  std::optional<std::pair<std::uint8_t, std::string>> reply;
  RawServer server([&](asio::ip::tcp::socket& sock) {
    RawServer::send_frame(sock, 0x9, "srv-ping");
    auto frame = RawServer::read_frame(sock);
    std::lock_guard<std::mutex> lock(mu);
    reply = frame;
  });
  const ConnId id = open(request(server.url()));
  const Frame* f = wait_frame(id, 0);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, FrameKind::Ping);
  EXPECT_EQ(f->payload, "srv-ping");
  ASSERT_TRUE(run_until([&] {
    std::lock_guard<std::mutex> lock(mu);
    return reply.has_value();
  }));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(reply->first, 0xA);
  EXPECT_EQ(reply->second, "srv-ping");
}

TEST_F(TransportTest, InvalidUtf8IsOther1007) {
  std::mutex mu;
  std::optional<std::pair<std::uint8_t, std::string>> close_frame;
  RawServer server([&](asio::ip::tcp::socket& sock) {
    RawServer::send_frame(sock, 0x1, "ok");
    RawServer::send_frame(sock, 0x1, std::string("\xc3\x28", 2));
    auto frame = RawServer::read_frame(sock);
    {
      std::lock_guard<std::mutex> lock(mu);
      close_frame = frame;
    }
    if (frame && frame->first == 0x8) RawServer::send_frame(sock, 0x8, frame->second.substr(0, 2));
  });
  const ConnId id = open(request(server.url()));
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::Other) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 1007);
  EXPECT_EQ(why.detail, "invalid utf-8");
  ASSERT_EQ(rec_.frames_of(id).size(), 1u);
  EXPECT_EQ(rec_.frames_of(id)[0]->payload, "ok");
  // The disconnect can be reported before the server's thread has stored
  // what it read: wait for that too.
  const auto got_close = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return close_frame.has_value();
  };
  ASSERT_TRUE(run_until(got_close, 5s)) << "the server read no close frame";
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(close_frame->first, 0x8);
  EXPECT_EQ(close_frame->second.substr(0, 2), std::string("\x03\xef", 2));  // 1007
}

TEST_F(TransportTest, CloseFrameWithoutCodeIs1005) {
  RawServer server([&](asio::ip::tcp::socket& sock) {
    RawServer::send_frame(sock, 0x8, "");
    RawServer::read_frame(sock);  // our acknowledgement
    asio::error_code ec;
    sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  });
  const ConnId id = transport_.connect(request(server.url()));
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::ServerClose) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 1005);
}

TEST_F(TransportTest, EofAfterOpenIsTcpReset) {
  RawServer server([&](asio::ip::tcp::socket& sock) {
    asio::error_code ec;
    sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  });
  const ConnId id = transport_.connect(request(server.url()));
  const Disconnect why = wait_end(id);
  EXPECT_TRUE(rec_.is_open(id));
  EXPECT_EQ(why.cause, Cause::TcpReset) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 1006);
}

// ---------------------------------------------------------------------------
// TLS

class TlsTest : public TransportTest {
 protected:
  // A self-signed certificate for `san` in dir; returns {cert, key}.
  static std::pair<std::string, std::string> make_cert(const test::TempDir& dir, const std::string& name,
                                                       const std::string& san) {
    const std::string cert = dir.path() + "/" + name + ".crt";
    const std::string key = dir.path() + "/" + name + ".key";
    const auto r = test::run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                                      "-subj", "/CN=localhost", "-addext", "subjectAltName=" + san, "-keyout",
                                      key, "-out", cert});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return {cert, key};
  }
};

TEST_F(TlsTest, AcceptedWithCaFile) {
  test::TempDir dir;
  const auto [cert, key] = make_cert(dir, "good", "DNS:localhost,IP:127.0.0.1");
  test::EchoServer echo({"--tls-cert", cert, "--tls-key", key});
  for (const std::string host : {"localhost", "127.0.0.1"}) {
    auto req = request("wss://" + host + ":" + std::to_string(echo.port()) + "/secure");
    req.ca_file = cert;
    req.tcp_user_timeout = 5000ms;
    const ConnId id = open(req);
    ASSERT_TRUE(rec_.is_open(id)) << host;
    ASSERT_TRUE(transport_.send_text(id, "echo:over tls"));
    const Frame* f = wait_frame(id, 0);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->payload, "over tls");
    transport_.close(id, 1000, "");
    const Disconnect why = wait_end(id, 5s);
    EXPECT_EQ(why.cause, Cause::LocalClose) << cause_name(why.cause) << " " << why.detail;
  }
}

// RFC 6066 3: an IP address is never sent as the SNI host name; the
// certificate is still checked against the address. A name still is. The
// Host of the upgrade request brackets an IPv6 address, as over ws://.
TEST_F(TlsTest, NoSniForAnIpAddressAndIpv6HostIsBracketed) {
  test::TempDir dir;
  const auto [cert, key] = make_cert(dir, "loopback", "DNS:localhost,IP:127.0.0.1,IP:::1");
  const std::vector<std::string> tls{"--tls-cert", cert, "--tls-key", key};
  RecordingServer on_v6("::1", tls);
  RecordingServer on_v4("127.0.0.1", tls);
  std::vector<std::string> tls_proxy = tls;
  tls_proxy.push_back("--proxy");
  RecordingServer proxy("127.0.0.1", tls_proxy);  // tunnels to itself: port 443 needs no listener
  struct Case {
    std::string url;
    RecordingServer& server;
    bool through_proxy;
    std::string sni;
    std::string host;
  };
  const std::string v6_port = std::to_string(on_v6.port());
  const std::string v4_port = std::to_string(on_v4.port());
  const Case cases[] = {
      {"wss://[::1]:" + v6_port + "/", on_v6, false, "None", "[::1]:" + v6_port},
      {"wss://127.0.0.1:" + v4_port + "/", on_v4, false, "None", "127.0.0.1:" + v4_port},
      {"wss://localhost:" + v4_port + "/", on_v4, false, "'localhost'", "localhost:" + v4_port},
      {"wss://[::1]/", proxy, true, "None", "[::1]"},
  };
  for (const Case& c : cases) {
    auto req = request(c.url);
    req.ca_file = cert;
    if (c.through_proxy) req.proxy = config::ProxyUrl{"127.0.0.1", proxy.port(), ""};
    const ConnId id = open(req);
    EXPECT_TRUE(rec_.is_open(id)) << c.url;
    if (c.through_proxy) {
      const auto connect_head = c.server.next("HEAD");
      ASSERT_TRUE(connect_head) << c.server.err();
      EXPECT_EQ(connect_head->rfind(R"(b'CONNECT [::1]:443 HTTP/1.1\r\n)", 0), 0u) << *connect_head;
    }
    const auto sni = c.server.next("SNI");
    ASSERT_TRUE(sni) << c.url << ": " << c.server.err();
    EXPECT_EQ(*sni, c.sni) << c.url;
    const auto head = c.server.next("HEAD");
    ASSERT_TRUE(head) << c.url << ": " << c.server.err();
    EXPECT_NE(head->find(R"(\r\nHost: )" + c.host + R"(\r\n)"), std::string::npos) << c.url << ": " << *head;
  }
}

TEST_F(TlsTest, SelfSignedRejectedByTheSystemStore) {
  test::TempDir dir;
  const auto [cert, key] = make_cert(dir, "good", "DNS:localhost,IP:127.0.0.1");
  test::EchoServer echo({"--tls-cert", cert, "--tls-key", key});
  const ConnId id = transport_.connect(request("wss://localhost:" + std::to_string(echo.port()) + "/"));
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::TlsVerify) << cause_name(why.cause) << " " << why.detail;
  EXPECT_NE(why.detail.find("self-signed"), std::string::npos) << why.detail;
  EXPECT_FALSE(rec_.is_open(id));
}

TEST_F(TlsTest, WrongHostNameRejected) {
  test::TempDir dir;
  const auto [cert, key] = make_cert(dir, "other", "DNS:other.example");
  test::EchoServer echo({"--tls-cert", cert, "--tls-key", key});
  auto req = request("wss://localhost:" + std::to_string(echo.port()) + "/");
  req.ca_file = cert;
  const ConnId id = transport_.connect(req);
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::TlsVerify) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.detail, "host name mismatch");
}

TEST_F(TlsTest, VerificationOffAcceptsAnything) {
  test::TempDir dir;
  const auto [cert, key] = make_cert(dir, "other", "DNS:other.example");
  test::EchoServer echo({"--tls-cert", cert, "--tls-key", key});
  auto req = request("wss://localhost:" + std::to_string(echo.port()) + "/");
  req.tls_verify = false;
  const ConnId id = open(req);
  EXPECT_TRUE(rec_.is_open(id));
  EXPECT_NE(logs_.contents().find("<4>transport: tester: tls_verify is off"), std::string::npos);
}

TEST_F(TlsTest, UnreadableCaFileIsReported) {
  auto req = request("wss://localhost:1/");
  req.ca_file = "/nonexistent/ca.pem";
  const ConnId id = transport_.connect(req);
  EXPECT_EQ(rec_.ended.size(), 0u);
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::Other);
  EXPECT_NE(why.detail.find("/nonexistent/ca.pem"), std::string::npos) << why.detail;
}

TEST_F(TlsTest, TlsToAPlainServerIsATlsError) {
  // A plain HTTP server: answers the ClientHello with a 400 and closes.
  asio::ip::tcp::acceptor acceptor(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::ip::tcp::socket peer(io_);
  const std::string reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  acceptor.async_accept(peer, [&](const asio::error_code& ec) {
    if (ec) return;
    asio::error_code ignored;
    asio::write(peer, asio::buffer(reply), ignored);
    peer.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  });
  auto req = request("wss://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/");
  req.tls_verify = false;
  const ConnId id = transport_.connect(req);
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::TlsError) << cause_name(why.cause) << " " << why.detail;
}

// ---------------------------------------------------------------------------
// ws:// and wss:// alike: the same behaviour over plain TCP and over TLS
// (wsheart-echo with a certificate the request trusts through ca_file).

class SchemeTest : public TlsTest, public ::testing::WithParamInterface<std::string> {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<test::TempDir>();
    std::tie(cert_, key_) = make_cert(*dir_, "scheme", "DNS:localhost,IP:127.0.0.1");
  }
  static void TearDownTestSuite() { dir_.reset(); }

  bool secure() const { return GetParam() == "wss"; }

  test::EchoServer server(std::vector<std::string> args = {}) const {
    if (secure()) args.insert(args.end(), {"--tls-cert", cert_, "--tls-key", key_});
    return test::EchoServer(args);
  }

  // GetParam()://[userinfo@]127.0.0.1:port/path, trusting the test certificate.
  ConnectRequest request_to(std::uint16_t port, const std::string& path = "/", const std::string& userinfo = "") {
    auto req = request(GetParam() + "://" + userinfo + "127.0.0.1:" + std::to_string(port) + path);
    req.ca_file = cert_;
    return req;
  }

  static inline std::unique_ptr<test::TempDir> dir_;
  static inline std::string cert_;
  static inline std::string key_;
};

INSTANTIATE_TEST_SUITE_P(Both, SchemeTest, ::testing::Values("ws", "wss"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) { return param_info.param; });

TEST_P(SchemeTest, EchoesTextBinaryAndPath) {
  auto echo = server();
  const ConnId id = open(request_to(echo.port(), "/chat?x=1"));
  ASSERT_TRUE(rec_.is_open(id));
  ASSERT_TRUE(transport_.send_text(id, "echo:hello"));
  ASSERT_TRUE(transport_.send_text(id, "binary:300"));
  ASSERT_TRUE(transport_.send_text(id, "path"));
  ASSERT_NE(wait_frame(id, 2), nullptr);
  const auto frames = rec_.frames_of(id);
  EXPECT_EQ(frames[0]->kind, FrameKind::Text);
  EXPECT_EQ(frames[0]->payload, "hello");
  EXPECT_EQ(frames[1]->kind, FrameKind::Binary);
  EXPECT_EQ(frames[1]->payload.size(), 300u);
  EXPECT_EQ(frames[2]->payload, "/chat?x=1");
}

TEST_P(SchemeTest, PingGetsPong) {
  auto echo = server();
  const ConnId id = open(request_to(echo.port()));
  ASSERT_TRUE(transport_.send_ping(id, "p-7"));
  const Frame* f = wait_frame(id, 0);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, FrameKind::Pong);
  EXPECT_EQ(f->payload, "p-7");
}

TEST_P(SchemeTest, HeadersAndUserinfoReachTheServer) {
  auto echo = server();
  auto req = request_to(echo.port(), "/", "agent:p%40ss-77@");
  req.headers = {{"X-Plain", "v"}};
  const ConnId id = open(req);
  ASSERT_TRUE(transport_.send_text(id, "headers"));
  const Frame* f = wait_frame(id, 0);
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->payload.find(R"("X-Plain":"v")"), std::string::npos) << f->payload;
  EXPECT_NE(f->payload.find(R"("Authorization":"Basic YWdlbnQ6cEBzcy03Nw==")"), std::string::npos) << f->payload;
}

TEST_P(SchemeTest, ServerCloseCarriesTheCode) {
  auto echo = server();
  const ConnId id = open(request_to(echo.port()));
  ASSERT_TRUE(transport_.send_text(id, "close:4001"));
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::ServerClose) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 4001);
}

TEST_P(SchemeTest, LocalCloseHandshake) {
  auto echo = server();
  const ConnId id = open(request_to(echo.port()));
  transport_.close(id, 1000, "bye");
  const Disconnect why = wait_end(id, 5s);
  EXPECT_EQ(why.cause, Cause::LocalClose) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 1000);
}

TEST_P(SchemeTest, ResetWithoutCloseFrameIsTcpReset) {
  auto echo = server();
  const ConnId id = open(request_to(echo.port()));
  ASSERT_TRUE(transport_.send_text(id, "drop"));
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::TcpReset) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 1006);
}

TEST_P(SchemeTest, OversizeMessageIsMessageTooBig) {
  auto echo = server();
  auto req = request_to(echo.port());
  req.max_message_size = 1000;
  const ConnId id = open(req);
  ASSERT_TRUE(transport_.send_text(id, "big:1001"));
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::MessageTooBig) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 1009);
}

TEST_P(SchemeTest, UpgradeRefusedWithHttpStatus) {
  auto echo = server({"--refuse-upgrade", "503"});
  const ConnId id = transport_.connect(request_to(echo.port()));
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::Http) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 503);
}

// --never-upgrade accepts TCP and then says nothing (not even TLS): the
// timeout names the stage that waited.
TEST_P(SchemeTest, SilentServerTimesOutNamingTheStage) {
  test::EchoServer silent({"--never-upgrade"});
  auto req = request_to(silent.port());
  req.connect_timeout = 600ms;
  const Disconnect why = wait_end(transport_.connect(req), 5s);
  EXPECT_EQ(why.cause, Cause::Timeout) << cause_name(why.cause) << " " << why.detail;
  const std::string stage = secure() ? "tls handshake" : "http upgrade";
  EXPECT_NE(why.detail.find("during " + stage), std::string::npos) << why.detail;
}

// Nothing listening: the server is down, which is not a TLS problem.
TEST_P(SchemeTest, RefusedConnectionIsConnectFailed) {
  const ConnId id = transport_.connect(request_to(unused_port()));
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::ConnectFailed) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.detail, "Connection refused");
  EXPECT_EQ(rec_.opened.size(), 0u);
}

// ---------------------------------------------------------------------------
// hygiene and interop

TEST(TransportHygiene, NothingReachesStdoutOrStderrBelowDebug) {
  asio::io_context io;
  Recorder rec;
  Logger log(LogLevel::Info);
  Transport transport(io, rec, log);
  test::EchoServer refusing({"--refuse-upgrade", "403"});
  test::EchoServer echo;
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const ConnId a = transport.connect([&] {
    ConnectRequest r;
    r.url = parse_url(refusing.url());
    return r;
  }());
  const ConnId b = transport.connect([&] {
    ConnectRequest r;
    r.url = parse_url(echo.url());
    return r;
  }());
  bool sent = false;
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline && !(rec.ended_count(a) == 1 && rec.ended_count(b) == 1)) {
    io.run_for(5ms);
    if (io.stopped()) io.restart();
    if (!sent && rec.is_open(b)) sent = transport.send_text(b, "drop");
  }
  const std::string out = testing::internal::GetCapturedStdout();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(rec.ended_count(a), 1u);
  EXPECT_EQ(rec.ended_count(b), 1u);
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "");
}

class InteropTest : public TransportTest {
 protected:
  std::string start_python() {
    const std::string server = test::support_dir() + "/py_ws_server.py";
    py_.emplace(std::vector<std::string>{test::kSystemPython, server, "--port", "0"});
    const auto port_line = py_->wait_for_line([](const std::string& l) { return l.rfind("PORT ", 0) == 0; });
    if (!port_line) {
      ADD_FAILURE() << "py_ws_server.py did not start: " << py_->err();
      return {};
    }
    return "ws://127.0.0.1:" + port_line->substr(5) + "/interop";
  }
  std::optional<test::Subprocess> py_;
};

TEST_F(InteropTest, EchoPingBinaryAndCloseWithPythonWebsockets) {
  const std::string url = start_python();
  ASSERT_FALSE(url.empty());
  const ConnId id = open(request(url));
  ASSERT_TRUE(rec_.is_open(id));
  ASSERT_TRUE(transport_.send_text(id, "echo:interop \xe2\x9c\x93"));
  const Frame* f = wait_frame(id, 0);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, FrameKind::Text);
  EXPECT_EQ(f->payload, "interop \xe2\x9c\x93");

  ASSERT_TRUE(transport_.send_text(id, "binary:1000"));
  f = wait_frame(id, 1);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, FrameKind::Binary);
  ASSERT_EQ(f->payload.size(), 1000u);
  EXPECT_EQ(static_cast<unsigned char>(f->payload[999]), 999u & 0xffu);

  ASSERT_TRUE(transport_.send_ping(id, "py"));
  f = wait_frame(id, 2);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, FrameKind::Pong);
  EXPECT_EQ(f->payload, "py");

  transport_.close(id, 1000, "done");
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::LocalClose) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 1000);
}

TEST_F(InteropTest, PythonServerCloseCode) {
  const std::string url = start_python();
  ASSERT_FALSE(url.empty());
  const ConnId id = open(request(url));
  ASSERT_TRUE(transport_.send_text(id, "close:4002"));
  const Disconnect why = wait_end(id);
  EXPECT_EQ(why.cause, Cause::ServerClose) << cause_name(why.cause) << " " << why.detail;
  EXPECT_EQ(why.code, 4002);
  EXPECT_EQ(why.detail, "requested");
}

}  // namespace
}  // namespace wsheart::transport
