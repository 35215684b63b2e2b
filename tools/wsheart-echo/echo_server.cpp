// wsheart-echo server side. This is the only translation unit that
// instantiates websocketpp (ws:// and wss:// servers): each instantiation
// costs ~30 s and ~850 MB to compile, so keep it that way.
#include "options.hpp"

#include <websocketpp/config/asio.hpp>
#include <websocketpp/server.hpp>

#include <time.h>

#include <array>
#include <charconv>
#include <csignal>
#include <set>
#include <cstdio>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace wsheart::echo {
namespace {

using websocketpp::connection_hdl;
using OpCode = websocketpp::frame::opcode::value;

constexpr std::size_t kMaxMessageSize = 200u * 1024u * 1024u;  // 200 MiB, for big:N
constexpr std::size_t kMaxGenerated = 1024u * 1024u * 1024u;   // cap for big:/binary:/burst sizes
// burst: keep at most this much queued in websocketpp's send buffer; when it
// is full, retry after kBurstRetry (websocketpp has no "write drained" hook).
constexpr std::size_t kBurstHighWater = 512u * 1024u;
constexpr auto kBurstRetry = std::chrono::microseconds(200);
constexpr auto kShutdownGrace = std::chrono::seconds(1);

// Connection-event log on stderr (one line per event); errors always print.
class Log {
 public:
  explicit Log(bool quiet) : quiet_(quiet) {}

  template <class... Args>
  void event(const Args&... args) const {
    if (!quiet_) write(args...);
  }
  template <class... Args>
  void error(const Args&... args) const {
    write(args...);
  }

 private:
  template <class... Args>
  static void write(const Args&... args) {
    std::ostringstream line;
    line << "wsheart-echo: ";
    (line << ... << args);
    line << '\n';
    std::cerr << line.str() << std::flush;
  }
  bool quiet_;
};

std::uint64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (byte < 0x20) {
          std::array<char, 8> buf{};
          std::snprintf(buf.data(), buf.size(), "\\u%04x", static_cast<unsigned>(byte));
          out += buf.data();
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

// Abortive close: SO_LINGER 0 then close() makes the kernel send RST.
template <class Socket>
void abort_socket(Socket& socket) {
  asio::error_code ec;
  socket.set_option(asio::socket_base::linger(true, 0), ec);
  socket.close(ec);
}

// What run() needs from either server flavour.
class Listener {
 public:
  virtual ~Listener() = default;
  // Binds and listens; returns the bound port or sets `error`.
  virtual std::optional<std::uint16_t> listen(std::string& error) = 0;
  // Stop accepting, close every connection (gracefully where possible).
  virtual void shutdown() = 0;
  // Most upgrades that were in flight at once (accepted TCP, not yet open or failed).
  virtual std::size_t peak_handshakes() const { return 0; }
  virtual bool idle() const = 0;
  // SIGUSR1 (true): every open connection goes silent at once (as `silence`)
  // and new upgrades are answered 503 until SIGUSR2 (false) lifts it.
  // Returns the number of connections silenced.
  virtual std::size_t freeze(bool /*on*/) { return 0; }
  // Called when the last connection is gone after shutdown().
  std::function<void()> on_idle;
};

// ---------------------------------------------------------------------------
// --never-upgrade: a plain TCP acceptor that reads and discards the request.

class SilentTcpServer final : public Listener {
 public:
  SilentTcpServer(asio::io_context& io, const Options& options, Log log)
      : io_(io), options_(options), log_(log), acceptor_(io) {}

  std::optional<std::uint16_t> listen(std::string& error) override {
    asio::error_code ec;
    asio::ip::tcp::resolver resolver(io_);
    auto results = resolver.resolve(options_.host, std::to_string(options_.port), ec);
    if (ec || results.empty()) {
      error = "cannot resolve " + options_.host + ": " + ec.message();
      return std::nullopt;
    }
    const asio::ip::tcp::endpoint endpoint = *results.begin();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      error = "cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " + ec.message();
      return std::nullopt;
    }
    const auto port = acceptor_.local_endpoint(ec).port();
    accept();
    return port;
  }

  void shutdown() override {
    stopping_ = true;
    asio::error_code ec;
    acceptor_.close(ec);
    for (auto& [id, conn] : conns_) conn->socket.close(ec);
    maybe_idle();
  }

  bool idle() const override { return conns_.empty(); }

 private:
  struct Conn {
    explicit Conn(asio::io_context& io, std::uint64_t conn_id) : socket(io), id(conn_id) {}
    asio::ip::tcp::socket socket;
    std::uint64_t id;
    std::array<char, 4096> buffer{};
  };

  void accept() {
    auto conn = std::make_shared<Conn>(io_, next_id_ + 1);
    acceptor_.async_accept(conn->socket, [this, conn](const asio::error_code& ec) {
      if (ec) {
        if (!stopping_) log_.error("accept failed: ", ec.message());
        return;
      }
      ++next_id_;
      asio::error_code ep_ec;
      const auto remote = conn->socket.remote_endpoint(ep_ec);
      if (options_.max_connections != 0 && conns_.size() >= options_.max_connections) {
        log_.event("reject #", conn->id, " remote=", remote, " (max-connections)");
        abort_socket(conn->socket);
      } else {
        log_.event("open #", conn->id, " remote=", remote, " (never-upgrade: holding TCP, no HTTP reply)");
        conns_.emplace(conn->id, conn);
        read(conn);
      }
      accept();
    });
  }

  void read(const std::shared_ptr<Conn>& conn) {
    conn->socket.async_read_some(asio::buffer(conn->buffer), [this, conn](const asio::error_code& ec, std::size_t) {
      if (!ec) {
        read(conn);  // discard
        return;
      }
      log_.event("close #", conn->id, " (", ec == asio::error::eof ? "peer closed" : ec.message(), ")");
      asio::error_code close_ec;
      conn->socket.close(close_ec);
      conns_.erase(conn->id);
      maybe_idle();
    });
  }

  void maybe_idle() {
    if (stopping_ && conns_.empty() && on_idle) on_idle();
  }

  asio::io_context& io_;
  const Options& options_;
  Log log_;
  asio::ip::tcp::acceptor acceptor_;
  std::map<std::uint64_t, std::shared_ptr<Conn>> conns_;
  std::uint64_t next_id_ = 0;
  bool stopping_ = false;
};

// ---------------------------------------------------------------------------
// The WebSocket server, for websocketpp::config::asio and ::asio_tls.

template <class Config>
class WsServer final : public Listener {
 public:
  using Endpoint = websocketpp::server<Config>;
  using MessagePtr = typename Endpoint::message_ptr;
  using ConnectionPtr = typename Endpoint::connection_ptr;
  static constexpr bool kTls = std::is_same_v<Config, websocketpp::config::asio_tls>;

  WsServer(asio::io_context& io, const Options& options, Log log, std::shared_ptr<asio::ssl::context> tls)
      : io_(io), options_(options), log_(log), notify_timer_(io) {
    // websocketpp logs to stdout by default and set_*_channels is additive:
    // clear everything, keep only fatal errors (on stderr).
    endpoint_.clear_access_channels(websocketpp::log::alevel::all);
    endpoint_.clear_error_channels(websocketpp::log::elevel::all);
    endpoint_.get_alog().set_ostream(&std::cerr);
    endpoint_.get_elog().set_ostream(&std::cerr);
    if (!options_.quiet) endpoint_.set_error_channels(websocketpp::log::elevel::fatal);

    endpoint_.init_asio(&io_);
    endpoint_.set_reuse_addr(true);
    endpoint_.set_max_message_size(kMaxMessageSize);
    endpoint_.set_max_http_body_size(64 * 1024);

    if constexpr (kTls) {
      endpoint_.set_tls_init_handler([tls](connection_hdl) { return tls; });
    } else {
      (void)tls;
    }
    // Handshakes in flight: from the accepted TCP connection to open or fail.
    endpoint_.set_tcp_pre_init_handler([this](connection_hdl hdl) {
      handshaking_.insert(hdl);
      peak_handshakes_ = std::max(peak_handshakes_, handshaking_.size());
    });
    endpoint_.set_validate_handler([this](connection_hdl hdl) { return on_validate(hdl); });
    endpoint_.set_open_handler([this](connection_hdl hdl) { on_open(hdl); });
    endpoint_.set_close_handler([this](connection_hdl hdl) { on_close(hdl); });
    endpoint_.set_fail_handler([this](connection_hdl hdl) { on_fail(hdl); });
    endpoint_.set_message_handler([this](connection_hdl hdl, MessagePtr msg) { on_message(hdl, msg); });
    // Returning false suppresses the automatic pong (silence mode only).
    endpoint_.set_ping_handler([this](connection_hdl hdl, std::string) { return !is_silenced(hdl); });
  }

  std::optional<std::uint16_t> listen(std::string& error) override {
    websocketpp::lib::error_code ec;
    endpoint_.listen(options_.host, std::to_string(options_.port), ec);
    if (ec) {
      error = "cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " + ec.message();
      return std::nullopt;
    }
    asio::error_code local_ec;
    const auto local = endpoint_.get_local_endpoint(local_ec);
    if (local_ec) {
      error = "cannot read the bound port: " + local_ec.message();
      return std::nullopt;
    }
    endpoint_.start_accept(ec);
    if (ec) {
      error = "cannot accept: " + ec.message();
      return std::nullopt;
    }
    if (options_.notify_every.count() > 0) arm_notify();
    log_.event("listening on ", local, kTls ? " (wss)" : " (ws)");
    return local.port();
  }

  void shutdown() override {
    stopping_ = true;
    websocketpp::lib::error_code ec;
    endpoint_.stop_listening(ec);
    notify_timer_.cancel();
    std::vector<connection_hdl> hdls;
    for (auto& [hdl, conn] : conns_) {
      if (conn.retry) conn.retry->cancel();
      conn.bursts.clear();
      stop_pace(conn);
      hdls.push_back(hdl);
    }
    for (const auto& hdl : hdls) {
      auto it = conns_.find(hdl);
      if (it == conns_.end()) continue;
      if (it->second.silenced) {
        // Reading is paused: a close handshake could never complete, and no
        // handler will report the abort either.
        drop(hdl);
        forget(it);
      } else {
        endpoint_.close(hdl, websocketpp::close::status::going_away, "server shutdown", ec);
        if (ec) drop(hdl);
      }
    }
    maybe_idle();
  }

  bool idle() const override { return conns_.empty(); }

  std::size_t freeze(bool on) override {
    frozen_ = on;
    if (!on) return 0;
    std::vector<connection_hdl> hdls;
    for (auto& [hdl, conn] : conns_) {
      if (!conn.silenced) hdls.push_back(hdl);
    }
    for (const auto& hdl : hdls) silence(hdl);
    return hdls.size();
  }

 private:
  struct Burst {
    std::uint64_t count = 0;
    std::size_t size = 0;
    std::uint64_t next = 0;
  };
  // pace:N:RATE:SIZE: message i is due at start + i / RATE.
  struct Pace {
    std::uint64_t count = 0;
    double rate = 0;
    std::size_t size = 0;
    std::uint64_t next = 0;
    std::chrono::steady_clock::time_point start;
  };
  struct Conn {
    // Owning reference: websocketpp connections live only as long as some
    // async operation holds them; a paused (silenced) connection has none.
    ConnectionPtr con;
    std::uint64_t id = 0;
    std::string path;
    bool silenced = false;
    std::uint64_t notifications = 0;
    std::deque<Burst> bursts;
    std::unique_ptr<asio::steady_timer> retry;  // burst continuation
    std::optional<Pace> pace;
    std::unique_ptr<asio::steady_timer> pace_timer;
  };
  using ConnMap = std::map<connection_hdl, Conn, std::owner_less<connection_hdl>>;

  ConnectionPtr connection(connection_hdl hdl) {
    websocketpp::lib::error_code ec;
    auto con = endpoint_.get_con_from_hdl(hdl, ec);
    return ec ? nullptr : con;
  }

  bool is_silenced(connection_hdl hdl) const {
    auto it = conns_.find(hdl);
    return it != conns_.end() && it->second.silenced;
  }

  bool on_validate(connection_hdl hdl) {
    auto con = connection(hdl);
    if (!con) return false;
    if (options_.refuse_upgrade_status != 0) {
      con->set_status(static_cast<websocketpp::http::status_code::value>(options_.refuse_upgrade_status));
      log_.event("reject path=", con->get_resource(), " remote=", con->get_remote_endpoint(),
                 " status=", options_.refuse_upgrade_status, " (refuse-upgrade)");
      return false;
    }
    if (frozen_) {
      con->set_status(websocketpp::http::status_code::service_unavailable);
      log_.event("reject path=", con->get_resource(), " remote=", con->get_remote_endpoint(), " status=503 (frozen)");
      return false;
    }
    if (options_.max_connections != 0 && conns_.size() >= options_.max_connections) {
      con->set_status(websocketpp::http::status_code::service_unavailable);
      log_.event("reject path=", con->get_resource(), " remote=", con->get_remote_endpoint(),
                 " status=503 (max-connections ", options_.max_connections, ")");
      return false;
    }
    return true;
  }

  std::size_t peak_handshakes() const override { return peak_handshakes_; }

  void on_open(connection_hdl hdl) {
    handshaking_.erase(hdl);
    auto con = connection(hdl);
    if (!con) return;
    Conn conn;
    conn.con = con;
    conn.id = ++next_id_;
    conn.path = con->get_resource();
    const auto id = conn.id;
    conns_.emplace(hdl, std::move(conn));
    log_.event("open #", id, " path=", con->get_resource(), " remote=", con->get_remote_endpoint());
    if (options_.close_on_open) {
      websocketpp::lib::error_code ec;
      con->close(*options_.close_on_open, "close-on-open", ec);
      if (ec) log_.error("#", id, " close-on-open ", *options_.close_on_open, " failed: ", ec.message());
    } else if (options_.stall_after_upgrade || stopping_) {
      silence(hdl);
    }
  }

  void on_close(connection_hdl hdl) {
    auto con = connection(hdl);
    auto it = conns_.find(hdl);
    if (con && it != conns_.end()) {
      log_.event("close #", it->second.id, " remote_code=", con->get_remote_close_code(), " remote_reason=",
                 json_string(con->get_remote_close_reason()), " local_code=", con->get_local_close_code(),
                 " (", con->get_ec().message(), ")");
    }
    forget(it);
  }

  void on_fail(connection_hdl hdl) {
    handshaking_.erase(hdl);
    auto con = connection(hdl);
    auto it = conns_.find(hdl);
    if (con && con->get_ec() != websocketpp::error::make_error_code(websocketpp::error::rejected) &&
        !(stopping_ && it == conns_.end())) {
      std::string detail = con->get_ec().message();
      if (con->get_transport_ec() && con->get_transport_ec() != con->get_ec()) {
        detail += " / " + con->get_transport_ec().message();
      }
      log_.event("fail", it != conns_.end() ? " #" + std::to_string(it->second.id) : std::string(),
                 " remote=", con->get_remote_endpoint(), " (", detail, ")");
    }
    forget(it);
  }

  void forget(typename ConnMap::iterator it) {
    if (it == conns_.end()) return;
    if (it->second.retry) it->second.retry->cancel();
    stop_pace(it->second);
    conns_.erase(it);
    maybe_idle();
  }

  void maybe_idle() {
    if (stopping_ && conns_.empty() && on_idle) on_idle();
  }

  void on_message(connection_hdl hdl, const MessagePtr& msg) {
    auto it = conns_.find(hdl);
    if (it == conns_.end() || it->second.silenced) return;
    if (msg->get_opcode() == websocketpp::frame::opcode::binary) {
      send(hdl, msg->get_payload(), websocketpp::frame::opcode::binary);
      return;
    }
    on_text(hdl, it->second, msg->get_payload());
  }

  void on_text(connection_hdl hdl, Conn& conn, const std::string& text) {
    const std::string_view view(text);
    if (text == options_.heartbeat_payload) {
      if (options_.heartbeat_reply_enabled) send(hdl, options_.heartbeat_reply);
    } else if (starts_with(view, "echo:")) {
      send(hdl, text.substr(5));
    } else if (starts_with(view, "burst:")) {
      const auto rest = view.substr(6);
      const auto colon = rest.find(':');
      const auto count = parse_number<std::uint64_t>(rest.substr(0, colon));
      const auto size =
          colon == std::string_view::npos ? std::nullopt : parse_number<std::size_t>(rest.substr(colon + 1));
      if (!count || !size || *size > kMaxGenerated) {
        log_.event("#", conn.id, " ignoring malformed ", json_string(text));
        return;
      }
      conn.bursts.push_back(Burst{*count, *size, 0});
      if (conn.bursts.size() == 1) pump(hdl);
    } else if (starts_with(view, "burst-all:") || starts_with(view, "pace-all:")) {
      // The same command on every open, non-silenced connection (one trigger
      // for a many-user benchmark).
      const std::string each = text.substr(0, text.find('-')) + text.substr(text.find(':'));
      std::vector<connection_hdl> hdls;
      for (auto& [other, c] : conns_) {
        if (!c.silenced) hdls.push_back(other);
      }
      for (const auto& other : hdls) {
        auto found = conns_.find(other);
        if (found != conns_.end()) on_text(other, found->second, each);
      }
    } else if (starts_with(view, "pace:")) {
      // pace:N:RATE:SIZE
      const auto rest = view.substr(5);
      const auto c1 = rest.find(':');
      const auto c2 = c1 == std::string_view::npos ? c1 : rest.find(':', c1 + 1);
      const auto count = parse_number<std::uint64_t>(rest.substr(0, c1));
      const auto rate = c2 == std::string_view::npos ? std::nullopt
                                                     : parse_number<std::uint64_t>(rest.substr(c1 + 1, c2 - c1 - 1));
      const auto size = c2 == std::string_view::npos ? std::nullopt : parse_number<std::size_t>(rest.substr(c2 + 1));
      if (!count || !rate || *rate == 0 || !size || *size > kMaxGenerated) {
        log_.event("#", conn.id, " ignoring malformed ", json_string(text));
        return;
      }
      conn.pace = Pace{*count, static_cast<double>(*rate), *size, 0, std::chrono::steady_clock::now()};
      pace(hdl);
    } else if (starts_with(view, "binary:")) {
      const auto size = parse_number<std::size_t>(view.substr(7));
      if (!size || *size > kMaxGenerated) return;
      std::string payload(*size, '\0');
      for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i & 0xffu);
      send(hdl, payload, websocketpp::frame::opcode::binary);
    } else if (starts_with(view, "big:")) {
      const auto size = parse_number<std::size_t>(view.substr(4));
      if (!size || *size > kMaxGenerated) return;
      send(hdl, std::string(*size, 'y'));
    } else if (starts_with(view, "close:")) {
      const auto code = parse_number<std::uint16_t>(view.substr(6));
      if (!code) return;
      websocketpp::lib::error_code ec;
      endpoint_.close(hdl, *code, "requested", ec);
      if (ec) log_.error("#", conn.id, " close ", *code, " failed: ", ec.message());
    } else if (text == "silence") {
      silence(hdl);
    } else if (text == "headers") {
      send(hdl, headers_json(hdl));
    } else if (text == "path") {
      send(hdl, conn.path);
    } else if (text == "drop") {
      log_.event("#", conn.id, " drop (RST)");
      drop(hdl);
    }
    // Anything else: no reply.
  }

  std::string headers_json(connection_hdl hdl) {
    auto con = connection(hdl);
    if (!con) return "{}";
    std::string out = "{";
    bool first = true;
    for (const auto& [name, value] : con->get_request().get_headers()) {
      if (!first) out += ',';
      first = false;
      out += json_string(name) + ":" + json_string(value);
    }
    return out + "}";
  }

  void send(connection_hdl hdl, const std::string& payload, OpCode op = websocketpp::frame::opcode::text) {
    websocketpp::lib::error_code ec;
    endpoint_.send(hdl, payload, op, ec);
    if (ec && !stopping_) log_.event("send failed: ", ec.message());
  }

  // This connection goes quiet: no replies, no pongs, no close-handshake
  // replies (reading is paused), but the socket stays open.
  void silence(connection_hdl hdl) {
    auto it = conns_.find(hdl);
    if (it == conns_.end()) return;
    it->second.silenced = true;
    it->second.bursts.clear();
    if (it->second.retry) it->second.retry->cancel();
    stop_pace(it->second);
    websocketpp::lib::error_code ec;
    endpoint_.pause_reading(hdl, ec);
    log_.event("#", it->second.id, " silenced");
  }

  void drop(connection_hdl hdl) {
    if (auto con = connection(hdl)) abort_socket(con->get_raw_socket());
  }

  static std::string stamped(std::uint64_t index, std::size_t size) {
    std::string payload = "seq=" + std::to_string(index) + " t=" + std::to_string(monotonic_ns()) + " ";
    if (payload.size() < size) payload.resize(size, 'x');
    return payload;
  }

  void stop_pace(Conn& conn) {
    conn.pace.reset();
    if (conn.pace_timer) conn.pace_timer->cancel();
  }

  // Sends every paced message that is due (catching up after a late wake-up),
  // then sleeps until the next one is.
  void pace(connection_hdl hdl) {
    auto it = conns_.find(hdl);
    auto con = connection(hdl);
    if (it == conns_.end() || !con || stopping_ || !it->second.pace) return;
    Conn& conn = it->second;
    Pace& p = *conn.pace;
    const auto due = [&p](std::uint64_t i) {
      return p.start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(static_cast<double>(i) / p.rate));
    };
    const auto now = std::chrono::steady_clock::now();
    while (p.next < p.count && due(p.next) <= now) {
      if (con->get_state() != websocketpp::session::state::open || conn.silenced) {
        stop_pace(conn);
        return;
      }
      const auto ec = con->send(stamped(p.next, p.size), websocketpp::frame::opcode::text);
      if (ec) {
        log_.event("#", conn.id, " pace stopped: ", ec.message());
        stop_pace(conn);
        return;
      }
      ++p.next;
    }
    if (p.next >= p.count) {
      conn.pace.reset();
      return;
    }
    if (!conn.pace_timer) conn.pace_timer = std::make_unique<asio::steady_timer>(io_);
    conn.pace_timer->expires_at(due(p.next));
    conn.pace_timer->async_wait([this, hdl](const asio::error_code& ec) {
      if (!ec) pace(hdl);
    });
  }

  // Sends queued burst messages until websocketpp's send buffer reaches the
  // high-water mark, then retries shortly (bounded memory for any N).
  void pump(connection_hdl hdl) {
    auto it = conns_.find(hdl);
    auto con = connection(hdl);
    if (it == conns_.end() || !con || stopping_) return;
    Conn& conn = it->second;
    while (!conn.bursts.empty()) {
      if (con->get_state() != websocketpp::session::state::open || conn.silenced) {
        conn.bursts.clear();
        return;
      }
      Burst& burst = conn.bursts.front();
      while (burst.next < burst.count) {
        if (con->get_buffered_amount() >= kBurstHighWater) {
          if (!conn.retry) conn.retry = std::make_unique<asio::steady_timer>(io_);
          conn.retry->expires_after(kBurstRetry);
          conn.retry->async_wait([this, hdl](const asio::error_code& ec) {
            if (!ec) pump(hdl);
          });
          return;
        }
        const auto ec = con->send(stamped(burst.next, burst.size), websocketpp::frame::opcode::text);
        if (ec) {
          log_.event("#", conn.id, " burst stopped: ", ec.message());
          conn.bursts.clear();
          return;
        }
        ++burst.next;
      }
      conn.bursts.pop_front();
    }
  }

  void arm_notify() {
    notify_timer_.expires_after(options_.notify_every);
    notify_timer_.async_wait([this](const asio::error_code& ec) {
      if (ec || stopping_) return;
      for (auto& [hdl, conn] : conns_) {
        if (conn.silenced) continue;
        auto con = connection(hdl);
        if (!con || con->get_state() != websocketpp::session::state::open) continue;
        ++conn.notifications;
        send(hdl, "notification " + std::to_string(conn.notifications) + " for " + conn.path);
      }
      arm_notify();
    });
  }

  asio::io_context& io_;
  const Options& options_;
  Log log_;
  Endpoint endpoint_;
  asio::steady_timer notify_timer_;
  ConnMap conns_;
  std::set<connection_hdl, std::owner_less<connection_hdl>> handshaking_;
  std::size_t peak_handshakes_ = 0;
  std::uint64_t next_id_ = 0;
  bool stopping_ = false;
  bool frozen_ = false;
};

std::shared_ptr<asio::ssl::context> make_tls_context(const Options& options) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tlsv12_server);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::single_dh_use);
  context->use_certificate_chain_file(options.tls_cert);
  context->use_private_key_file(options.tls_key, asio::ssl::context::pem);
  if (!options.tls_client_ca.empty()) {
    // Mutual TLS: a client without a certificate signed by these CAs fails the handshake.
    context->load_verify_file(options.tls_client_ca);
    context->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  }
  return context;
}

}  // namespace

int run(const Options& options) {
  asio::io_context io;
  const Log log(options.quiet);

  std::unique_ptr<Listener> server;
  try {
    if (options.never_upgrade) {
      server = std::make_unique<SilentTcpServer>(io, options, log);
    } else if (options.tls()) {
      server = std::make_unique<WsServer<websocketpp::config::asio_tls>>(io, options, log, make_tls_context(options));
    } else {
      server = std::make_unique<WsServer<websocketpp::config::asio>>(io, options, log, nullptr);
    }
  } catch (const std::exception& e) {
    log.error("cannot start: ", e.what());
    return 1;
  }

  std::string error;
  const auto port = server->listen(error);
  if (!port) {
    log.error(error);
    return 1;
  }
  std::cout << "PORT " << *port << std::endl;

  // After a signal: stop as soon as every connection is gone, at the latest
  // after kShutdownGrace (silent peers, half-done handshakes).
  asio::steady_timer grace(io);
  server->on_idle = [&io] { io.stop(); };
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const asio::error_code& ec, int signal_number) {
    if (ec) return;
    log.event("signal ", signal_number, ": shutting down");
    server->shutdown();
    if (server->idle()) {
      io.stop();
      return;
    }
    grace.expires_after(kShutdownGrace);
    grace.async_wait([&io](const asio::error_code& wait_ec) {
      if (!wait_ec) io.stop();
    });
  });

  // Benchmarks (bench/detection): SIGUSR1 silences every connection at once
  // and refuses new upgrades (503); SIGUSR2 accepts upgrades again. The marker
  // line carries CLOCK_MONOTONIC so a script can time detection from it.
  asio::signal_set freeze_signals(io, SIGUSR1, SIGUSR2);
  std::function<void()> watch_freeze = [&] {
    freeze_signals.async_wait([&](const asio::error_code& ec, int signal_number) {
      if (ec) return;
      const bool on = signal_number == SIGUSR1;
      const std::size_t n = server->freeze(on);
      if (on) {
        log.error("frozen ", n, " connection(s) at mono_ns=", monotonic_ns());
      } else {
        log.error("thawed at mono_ns=", monotonic_ns());
      }
      watch_freeze();
    });
  };
  watch_freeze();

  try {
    io.run();
  } catch (const std::exception& e) {
    log.error("fatal: ", e.what());
    return 1;
  }
  if (options.report_handshakes) log.error("peak handshakes ", server->peak_handshakes());
  return 0;
}

}  // namespace wsheart::echo
