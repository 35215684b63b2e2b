// The one translation unit that instantiates websocketpp clients (ws:// and
// wss://). Everything runs on the caller's io_context, on one thread.
//
// Invariants (see docs/transport.md):
// - Every attempt is a fresh websocketpp connection object; the map entry for
//   a ConnId is the only thing that makes its events reach the Listener. An
//   entry is erased *before* on_disconnect is called, and abort() erases it
//   without a callback, so every handler that finds no live entry is inert.
// - No listener call ever happens from inside connect()/close()/send_*():
//   failures detected synchronously are posted to the io_context.
// - Header values and URLs may hold secrets: neither is ever logged.

#include "transport/transport.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

#include <asio/ip/address.hpp>
#include <asio/post.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/config/core_client.hpp>
#include <websocketpp/transport/asio/endpoint.hpp>
#include <websocketpp/transport/asio/security/none.hpp>
#include <websocketpp/transport/asio/security/tls.hpp>
#include <websocketpp/version.hpp>

#include "encoding.hpp"
#include "transport/headers_file.hpp"
#include "transport/proxy_auth.hpp"
#include "transport/tls_context.hpp"

namespace wsheart::transport {

namespace {

using supervisor::Disconnect;
using supervisor::FrameKind;
using Cause = Disconnect::Cause;
namespace wslog = websocketpp::log;

// ---------------------------------------------------------------------------
// websocketpp configuration

// A websocketpp logger policy that forwards to our Logger (debug level only)
// instead of writing to std::cout/std::cerr. Nothing is enabled until the
// Transport enables it; access logs never are (they carry URLs and headers).
template <typename Concurrency, typename Names>
class ForwardLogger {
 public:
  explicit ForwardLogger(wslog::channel_type_hint::value /*hint*/ = wslog::channel_type_hint::access)
      : static_channels_(0xffffffff) {}
  ForwardLogger(wslog::level channels, wslog::channel_type_hint::value /*hint*/)
      : static_channels_(channels) {}

  void set_sink(const Logger* sink) { sink_ = sink; }

  void set_channels(wslog::level channels) {
    if (channels == Names::none) {
      clear_channels(Names::all);
      return;
    }
    dynamic_channels_ |= (channels & static_channels_);
  }
  void clear_channels(wslog::level channels) { dynamic_channels_ &= ~channels; }

  void write(wslog::level channel, std::string const& msg) { write(channel, msg.c_str()); }
  void write(wslog::level channel, char const* msg) {
    if (sink_ == nullptr || !dynamic_test(channel)) return;
    sink_->debug("websocketpp ", Names::channel_name(channel), ": ", msg);
  }

  bool static_test(wslog::level channel) const { return (channel & static_channels_) != 0; }
  bool dynamic_test(wslog::level channel) const { return (channel & dynamic_channels_) != 0; }

 private:
  wslog::level static_channels_;
  wslog::level dynamic_channels_ = 0;
  const Logger* sink_ = nullptr;
};

// websocketpp's own dns/connect/TLS timers are pushed out of the way: one
// steady_timer per attempt (ConnectRequest::connect_timeout) covers it all.
// They still exist as a backstop for absurdly long connect_timeouts.
constexpr long kBackstopTimeoutMs = 120000;
constexpr long kCloseHandshakeTimeoutMs = 2000;
constexpr long kSocketShutdownTimeoutMs = 1000;

template <typename SocketType>
struct ClientConfig : public websocketpp::config::core_client {
  typedef ClientConfig type;
  typedef websocketpp::config::core_client base;

  // One thread: no strands, no mutexes.
  typedef websocketpp::concurrency::none concurrency_type;
  static const bool enable_multithreading = false;

  typedef base::request_type request_type;
  typedef base::response_type response_type;
  typedef base::message_type message_type;
  typedef base::con_msg_manager_type con_msg_manager_type;
  typedef base::endpoint_msg_manager_type endpoint_msg_manager_type;

  typedef ForwardLogger<concurrency_type, wslog::elevel> elog_type;
  typedef ForwardLogger<concurrency_type, wslog::alevel> alog_type;
  typedef websocketpp::random::random_device::int_generator<uint32_t, concurrency_type> rng_type;

  // Compile-time channels: no access logging at all (no per-frame cost),
  // errors only.
  static const wslog::level elog_level = wslog::elevel::rerror | wslog::elevel::fatal;
  static const wslog::level alog_level = wslog::alevel::none;

  static const long timeout_open_handshake = 10000;  // per connection: connect_timeout
  static const long timeout_close_handshake = kCloseHandshakeTimeoutMs;
  static const long timeout_pong = 5000;

  struct transport_config : public base::transport_config {
    typedef type::concurrency_type concurrency_type;
    typedef type::elog_type elog_type;
    typedef type::alog_type alog_type;
    typedef type::request_type request_type;
    typedef type::response_type response_type;
    typedef SocketType socket_type;

    static const bool enable_multithreading = false;
    static const long timeout_socket_pre_init = kBackstopTimeoutMs;
    static const long timeout_proxy = kBackstopTimeoutMs;
    static const long timeout_socket_post_init = kBackstopTimeoutMs;  // TLS handshake
    static const long timeout_dns_resolve = kBackstopTimeoutMs;
    static const long timeout_connect = kBackstopTimeoutMs;
    static const long timeout_socket_shutdown = kSocketShutdownTimeoutMs;
  };
  typedef websocketpp::transport::asio::endpoint<transport_config> transport_type;
};

using PlainConfig = ClientConfig<websocketpp::transport::asio::basic_socket::endpoint>;
using TlsConfig = ClientConfig<websocketpp::transport::asio::tls_socket::endpoint>;
using PlainClient = websocketpp::client<PlainConfig>;
using TlsClient = websocketpp::client<TlsConfig>;
using SslContextPtr = std::shared_ptr<asio::ssl::context>;

// ---------------------------------------------------------------------------
// The CONNECT request and the proxy's answer to it
//
// websocketpp 0.8.2 keeps both private: on a non-200 reply it writes the
// status to its info log only and fails the connection with
// error::proxy_failed, so "407 Proxy Authentication Required" and "502 Bad
// Gateway" look the same. The explicit instantiations below name the
// connection's private m_proxy_data (access is not checked in an explicit
// instantiation). It lives until CONNECT succeeds, which also tells "still
// talking to the proxy" from "tunnel up, TLS or upgrade under way":
// websocketpp has no event between them.
static_assert(websocketpp::major_version == 0 && websocketpp::minor_version == 8 &&
                  websocketpp::patch_version == 2,
              "re-check the m_proxy_data access, bracket_connect_authority, with_bracketed_host and "
              "clear_sni below against this websocketpp version");

template <typename Tag, auto Member>
struct PrivateMember {
  friend auto member_pointer(Tag) { return Member; }
};
struct PlainProxyData {
  friend auto member_pointer(PlainProxyData);
};
struct TlsProxyData {
  friend auto member_pointer(TlsProxyData);
};
template struct PrivateMember<
    PlainProxyData, &websocketpp::transport::asio::connection<PlainConfig::transport_config>::m_proxy_data>;
template struct PrivateMember<
    TlsProxyData, &websocketpp::transport::asio::connection<TlsConfig::transport_config>::m_proxy_data>;

// The pending CONNECT's request/reply, or null (no proxy, or CONNECT done).
auto* pending_connect(const PlainClient::connection_ptr& con) { return ((*con).*member_pointer(PlainProxyData{})).get(); }
auto* pending_connect(const TlsClient::connection_ptr& con) { return ((*con).*member_pointer(TlsProxyData{})).get(); }

// The host of a URI authority (RFC 3986 3.2.2): an IPv6 address in brackets.
std::string authority_host(const std::string& host) {
  const bool ipv6 = host.find(':') != std::string::npos;  // a name or IPv4 address has none
  return ipv6 ? "[" + host + "]" : host;
}

// "host:port" (RFC 9110 9.3.6 authority-form).
std::string authority_form(const std::string& host, std::uint16_t port) {
  return authority_host(host) + ":" + std::to_string(port);
}

// websocketpp 0.8.2 fills CONNECT's request-target and Host from
// uri::get_authority(), which leaves an IPv6 host bare ("CONNECT ::1:9000"),
// and a proxy may split that at the wrong colon. The uri's host must stay
// bare (websocketpp also resolves it, and takes TLS SNI from it), so the prepared
// request is corrected instead: client.connect() prepares it synchronously and
// writes it only once TCP to the proxy is up, from a later handler.
template <typename ConPtr>
void bracket_connect_authority(const ConPtr& con, const config::Url& target) {
  auto* pending = pending_connect(con);
  if (pending == nullptr) return;  // no proxy
  const std::string authority = authority_form(target.host, target.port);
  pending->req.set_uri(authority);
  pending->req.replace_header("Host", authority);
}

// The proxy's reason phrase is untrusted text on its way to logs and the bus.
std::string printable_phrase(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (out.size() >= 80) break;
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

// ---------------------------------------------------------------------------
// The upgrade request's Host, and TLS SNI

// websocketpp 0.8.2's hybi13 processor sets the upgrade request's Host from
// the connection's uri (uri::get_host_port()), which leaves an IPv6 host bare
// ("Host: ::1:9000"). That uri's host must be bare while websocketpp resolves
// it and builds CONNECT from it, so the tcp_post_init handler, which runs
// after TCP, the tunnel and TLS and right before the request is built, gives
// the connection this copy instead. After that point websocketpp reads the
// uri only for the request (Host, and the resource as the request-target) and
// its log lines; the TLS socket keeps its own pointer to the original.
websocketpp::uri_ptr with_bracketed_host(const websocketpp::uri& uri) {
  return std::make_shared<websocketpp::uri>(uri.get_secure(), authority_host(uri.get_host()), uri.get_port(),
                                            uri.get_resource());
}

bool is_ip_address(const std::string& host) {
  asio::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// websocketpp 0.8.2's TLS socket sends the uri's host as SNI, set in its
// pre_init, an IP address too, which RFC 6066 3 forbids. The tcp_pre_init
// handler runs after that and before the ClientHello is written, and clears it
// (a null name removes the extension). The certificate is still checked
// against the address (tls_context.cpp).
void clear_sni(const TlsClient::connection_ptr& con) {
  SSL* ssl = con->get_socket().native_handle();
  // SSL_set_tlsext_host_name(ssl, nullptr), without the macro's C cast.
  if (ssl != nullptr) ::SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, nullptr);
}
void clear_sni(const PlainClient::connection_ptr&) {}

// ---------------------------------------------------------------------------
// Helpers

enum class Stage : std::uint8_t { Connecting, Proxy, Tls, Upgrade, Open };

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::Connecting: return "dns/tcp connect";
    case Stage::Proxy: return "proxy CONNECT";
    case Stage::Tls: return "tls handshake";
    case Stage::Upgrade: return "http upgrade";
    case Stage::Open: return "open";
  }
  return "?";
}

// True when `reason` is one of websocketpp's processor error messages, i.e.
// websocketpp itself started the close because the peer broke the protocol.
// (When the peer starts a close, our acknowledgement echoes the peer's reason.)
bool is_protocol_error_reason(const std::string& reason) {
  if (reason.empty()) return false;
  namespace perr = websocketpp::processor::error;
  for (int v = perr::general; v <= perr::short_key3; ++v) {
    if (perr::make_error_code(static_cast<perr::processor_errors>(v)).message() == reason) return true;
  }
  return false;
}

bool is_dns_error(const std::error_code& ec) {
  return ec.category() == asio::error::get_netdb_category() ||
         ec.category() == asio::error::get_addrinfo_category();
}

bool is_reset_or_eof(const std::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == websocketpp::transport::error::eof ||
         ec == websocketpp::transport::error::tls_short_read;
}

namespace wsock = websocketpp::transport::asio::socket;

bool is_timeout(const std::error_code& ec) {
  return ec == websocketpp::error::open_handshake_timeout || ec == websocketpp::transport::error::timeout ||
         ec == wsock::make_error_code(wsock::error::tls_handshake_timeout);
}

}  // namespace

// ---------------------------------------------------------------------------

class Transport::Impl {
 public:
  Impl(asio::io_context& io, Listener& listener, const Logger& log)
      : io_(io), listener_(listener), log_(log), alive_(std::make_shared<char>(0)) {
    init_endpoint(plain_);
    init_endpoint(tls_);
    tls_.set_tls_init_handler([this](websocketpp::connection_hdl) { return std::move(pending_tls_context_); });
  }

  ~Impl() {
    alive_.reset();
    abort_all();
  }

  ConnId connect(const ConnectRequest& req);
  bool send_text(ConnId id, std::string_view text);
  bool send_ping(ConnId id, std::string_view payload);
  void close(ConnId id, std::uint16_t code, std::string_view reason);
  void abort(ConnId id);
  void abort_all();
  std::size_t connection_count() const { return entries_.size(); }
  bool absorb(const std::exception& e);

 private:
  struct Entry {
    explicit Entry(asio::io_context& io) : timer(io) {}
    websocketpp::connection_hdl hdl;  // empty while no websocketpp connection exists
    bool tls = false;
    Stage stage = Stage::Connecting;
    bool dead = false;          // a posted on_disconnect is pending; websocketpp events are ignored
    bool closing_by_us = false;  // close() started a close handshake
    std::uint16_t close_code = 0;
    std::string user_id;
    std::string verify_failure;  // first TLS verification failure seen by the verify callback
    std::string proxy;           // the proxy in use (no credentials), "" = direct
    std::chrono::milliseconds connect_timeout{0};
    asio::steady_timer timer;  // the whole attempt: dns + tcp + tls + upgrade
  };

  template <typename Client>
  void init_endpoint(Client& client) {
    client.clear_access_channels(wslog::alevel::all);
    client.clear_error_channels(wslog::elevel::all);
    if (log_.enabled(LogLevel::Debug)) {
      client.get_elog().set_sink(&log_);
      client.set_error_channels(wslog::elevel::rerror | wslog::elevel::fatal);
    }
    websocketpp::lib::error_code ec;
    client.init_asio(&io_, ec);
    if (ec) log_.err("transport: cannot initialise websocketpp: ", ec.message());
    client.set_user_agent("wsheartd");
  }

  // Live entry (not dead) or nullptr.
  Entry* live(ConnId id) {
    const auto it = entries_.find(id);
    if (it == entries_.end() || it->second.dead) return nullptr;
    return &it->second;
  }

  template <typename Client>
  void start(Client& client, ConnId id, Entry& entry, const websocketpp::uri_ptr& uri,
             const ConnectRequest& req, const std::vector<config::Header>& headers,
             const std::optional<ProxyCredentials>& proxy_credentials);
  SslContextPtr make_tls_context(ConnId id, const ConnectRequest& req, std::string& error);
  void fail_later(ConnId id, Disconnect why);
  void finish(ConnId id, Disconnect why);
  void on_connect_timeout(ConnId id);

  template <typename Client>
  void on_tcp_connected(Client& client, ConnId id, websocketpp::connection_hdl hdl,
                        std::chrono::milliseconds user_timeout, bool host_is_ip_address);
  template <typename Client>
  void on_ended(Client& client, ConnId id, websocketpp::connection_hdl hdl, bool failed);
  template <typename ConPtr>
  Disconnect classify_failure(const Entry& entry, const ConPtr& con);
  template <typename ConPtr>
  std::optional<Disconnect> classify_proxy_failure(const Entry& entry, const ConPtr& con);
  void leave_proxy_stage_if_tunnelled(Entry& entry);
  void fail_abandoned_proxy_attempts();
  template <typename ConPtr>
  Disconnect classify_close(const Entry& entry, const ConPtr& con);
  std::string tls_verify_detail(const Entry& entry, TlsClient::connection_ptr const& con);
  std::string tls_verify_detail(const Entry&, PlainClient::connection_ptr const&) { return {}; }

  // Calls f(con) with the live websocketpp connection of `entry`, if any.
  template <typename F>
  void with_connection(const Entry& entry, F&& f) {
    websocketpp::lib::error_code ec;
    if (entry.hdl.expired()) return;
    if (entry.tls) {
      if (auto con = tls_.get_con_from_hdl(entry.hdl, ec)) f(con);
    } else {
      if (auto con = plain_.get_con_from_hdl(entry.hdl, ec)) f(con);
    }
  }
  void kill(const Entry& entry, bool close_frame);

  // Listener calls run inside asio/websocketpp handlers: an exception must
  // not unwind through them (it would leave websocketpp's state half-updated
  // and escape io_context::run()).
  template <typename F>
  void notify(F&& f) noexcept {
    try {
      f();
    } catch (const std::exception& e) {
      log_.err("transport: listener failed: ", e.what());
    } catch (...) {
      log_.err("transport: listener failed");
    }
  }

  asio::io_context& io_;
  Listener& listener_;
  const Logger& log_;
  std::shared_ptr<char> alive_;  // posted work checks this (weakly) before touching *this
  PlainClient plain_;
  TlsClient tls_;
  SslContextPtr pending_tls_context_;  // handed to websocketpp's tls_init handler inside get_connection
  std::unordered_map<ConnId, Entry> entries_;
  ConnId next_id_ = 0;
};

// ---------------------------------------------------------------------------
// connect

ConnId Transport::Impl::connect(const ConnectRequest& req) {
  const ConnId id = ++next_id_;
  Entry& entry = entries_.try_emplace(id, io_).first->second;
  entry.user_id = req.user_id;
  entry.connect_timeout = req.connect_timeout;

  std::vector<config::Header> headers;
  headers.reserve(req.headers.size() + 1);
  for (const auto& h : req.headers) {
    if (!is_valid_header(h)) {
      const bool name_ok = encoding::is_http_token(h.name);
      fail_later(id, Disconnect{Cause::Other, 0, "invalid header \"" + (name_ok ? h.name : std::string("?")) + "\""});
      return id;
    }
    headers.push_back(h);
  }
  if (!req.headers_file.empty()) {
    if (auto error = read_headers_file(req.headers_file, headers)) {
      fail_later(id, Disconnect{Cause::Other, 0, std::move(*error)});
      return id;
    }
  }

  // Userinfo goes out as HTTP Basic credentials (as browsers and curl send
  // it), unless the headers already carry an Authorization.
  if (req.url.has_userinfo) {
    const bool has_authorization = std::any_of(headers.begin(), headers.end(), [](const config::Header& h) {
      return encoding::ascii_lowercase(h.name) == "authorization";
    });
    if (!has_authorization) headers.push_back(config::Header{"Authorization", config::basic_authorization(req.url.userinfo)});
  }
  // Basic credentials for the proxy alone (the CONNECT request); the
  // server's Authorization above goes inside the tunnel.
  std::optional<ProxyCredentials> proxy_credentials;
  if (req.proxy) {
    if (!req.proxy_auth_file.empty()) {
      ProxyCredentials from_file;
      if (auto error = read_proxy_auth_file(req.proxy_auth_file, from_file)) {
        fail_later(id, Disconnect{Cause::Other, 0, std::move(*error)});
        return id;
      }
      proxy_credentials = std::move(from_file);
    } else if (!req.proxy->userinfo.empty()) {
      proxy_credentials = parse_proxy_credentials(req.proxy->userinfo);
      if (!proxy_credentials) {
        fail_later(id, Disconnect{Cause::Other, 0, "proxy URL has invalid credentials"});
        return id;
      }
    }
    entry.proxy = config::proxy_display(*req.proxy);
  }
  if (req.url.host.empty() || req.url.port == 0) {  // not from config::parse_ws_url
    fail_later(id, Disconnect{Cause::Other, 0, "invalid url"});
    return id;
  }
  const auto uri = std::make_shared<websocketpp::uri>(req.url.secure, req.url.host, req.url.port, req.url.resource);

  try {
    if (uri->get_secure()) {
      entry.tls = true;
      std::string error;
      pending_tls_context_ = make_tls_context(id, req, error);
      if (!pending_tls_context_) {
        fail_later(id, Disconnect{Cause::Other, 0, std::move(error)});
        return id;
      }
      start(tls_, id, entry, uri, req, headers, proxy_credentials);
      pending_tls_context_.reset();
    } else {
      start(plain_, id, entry, uri, req, headers, proxy_credentials);
    }
  } catch (const std::exception& e) {
    pending_tls_context_.reset();
    entry.hdl.reset();
    fail_later(id, Disconnect{Cause::Other, 0, std::string("cannot start connection: ") + e.what()});
  }
  return id;
}

template <typename Client>
void Transport::Impl::start(Client& client, ConnId id, Entry& entry, const websocketpp::uri_ptr& uri,
                            const ConnectRequest& req, const std::vector<config::Header>& headers,
                            const std::optional<ProxyCredentials>& proxy_credentials) {
  websocketpp::lib::error_code ec;
  auto con = client.get_connection(uri, ec);
  if (ec || !con) {
    fail_later(id, Disconnect{Cause::Other, 0, "cannot create connection: " + ec.message()});
    return;
  }

  const long timeout_ms = std::max<long>(1, req.connect_timeout.count());
  if (!entry.proxy.empty()) {
    // websocketpp connects to the proxy, sends CONNECT host:port (with
    // Proxy-Authorization), then runs TLS and the upgrade through the tunnel
    // exactly as it would directly. Our attempt timer fires first; the proxy
    // timer is a backstop.
    con->set_proxy(entry.proxy, ec);
    if (!ec && proxy_credentials) con->set_proxy_basic_auth(proxy_credentials->user, proxy_credentials->password, ec);
    if (!ec) con->set_proxy_timeout(timeout_ms, ec);
    if (ec) {
      fail_later(id, Disconnect{Cause::Other, 0, "cannot use proxy " + entry.proxy + ": " + ec.message()});
      return;
    }
  }
  con->set_open_handshake_timeout(timeout_ms);
  con->set_close_handshake_timeout(kCloseHandshakeTimeoutMs);
  con->set_max_message_size(req.max_message_size);
  for (const auto& h : headers) {
    try {
      con->append_header(h.name, h.value);
    } catch (const std::exception&) {
      fail_later(id, Disconnect{Cause::Other, 0, "invalid header \"" + h.name + "\""});
      return;
    }
  }

  const auto user_timeout = req.tcp_user_timeout;
  const bool host_is_ip_address = is_ip_address(req.url.host);
  con->set_tcp_pre_init_handler(
      [this, &client, id, user_timeout, host_is_ip_address](websocketpp::connection_hdl hdl) {
        on_tcp_connected(client, id, std::move(hdl), user_timeout, host_is_ip_address);
      });
  con->set_tcp_post_init_handler(
      [this, &client, id, request_uri = with_bracketed_host(*uri)](websocketpp::connection_hdl hdl) {
        if (Entry* e = live(id)) e->stage = Stage::Upgrade;
        websocketpp::lib::error_code ignored;
        if (auto c = client.get_con_from_hdl(hdl, ignored)) c->set_uri(request_uri);  // for Host
      });
  con->set_open_handler([this, id](websocketpp::connection_hdl) {
    Entry* e = live(id);
    if (e == nullptr) return;
    e->stage = Stage::Open;
    e->timer.cancel();
    notify([&] { listener_.on_open(id); });
  });
  con->set_fail_handler([this, &client, id](websocketpp::connection_hdl hdl) { on_ended(client, id, std::move(hdl), true); });
  con->set_close_handler([this, &client, id](websocketpp::connection_hdl hdl) { on_ended(client, id, std::move(hdl), false); });
  con->set_message_handler([this, id](websocketpp::connection_hdl, typename Client::message_ptr msg) {
    if (live(id) == nullptr) return;
    const auto kind =
        msg->get_opcode() == websocketpp::frame::opcode::text ? FrameKind::Text : FrameKind::Binary;
    notify([&] { listener_.on_frame(id, kind, std::move(msg->get_raw_payload())); });
  });
  con->set_ping_handler([this, id](websocketpp::connection_hdl, std::string payload) {
    if (live(id) == nullptr) return false;
    notify([&] { listener_.on_frame(id, FrameKind::Ping, std::move(payload)); });
    return true;  // websocketpp answers with a pong
  });
  con->set_pong_handler([this, id](websocketpp::connection_hdl, std::string payload) {
    if (live(id) == nullptr) return;
    notify([&] { listener_.on_frame(id, FrameKind::Pong, std::move(payload)); });
  });

  entry.hdl = con->get_handle();
  entry.timer.expires_after(req.connect_timeout);
  entry.timer.async_wait([this, id](const asio::error_code& timer_ec) {
    if (timer_ec) return;  // cancelled: do not touch *this (it may be gone)
    on_connect_timeout(id);
  });

  log_.log_for(LogLevel::Debug, user_fields(req.user_id), "transport: ", req.user_id, ": connecting to ",
               uri->get_host(), ":", uri->get_port(), uri->get_secure() ? " (tls)" : "",
               entry.proxy.empty() ? "" : " via proxy ", entry.proxy, " conn ", id);
  client.connect(con);
  bracket_connect_authority(con, req.url);  // after connect(), which prepares the CONNECT request
}

SslContextPtr Transport::Impl::make_tls_context(ConnId id, const ConnectRequest& req, std::string& error) {
  if (!req.tls_verify) {
    log_.log_for(LogLevel::Warning, user_fields(req.user_id), "transport: ", req.user_id,
                 ": tls_verify is off: the server certificate is not checked",
                 req.pin_sha256.empty() ? "" : " (its public key pin still is)");
  }
  const TlsSettings settings{req.tls_verify, req.ca_file, req.client_cert, req.client_key, req.pin_sha256};
  // The first refusal names the failure better than the handshake error does.
  auto record = [this, id, alive = std::weak_ptr<char>(alive_)](std::string reason) {
    if (alive.expired()) return;
    Entry* e = live(id);
    if (e != nullptr && e->verify_failure.empty()) e->verify_failure = std::move(reason);
  };
  return transport::make_tls_context(settings, req.url.host, std::move(record), error);
}

// ---------------------------------------------------------------------------
// events

template <typename Client>
void Transport::Impl::on_tcp_connected(Client& client, ConnId id, websocketpp::connection_hdl hdl,
                                       std::chrono::milliseconds user_timeout, bool host_is_ip_address) {
  websocketpp::lib::error_code ec;
  auto con = client.get_con_from_hdl(hdl, ec);
  if (!con) return;
  if (host_is_ip_address) clear_sni(con);
  auto& socket = con->get_raw_socket();
  Entry* e = live(id);
  if (e == nullptr) {
    // Aborted (or timed out) while resolving: the attempt went on regardless.
    // Close the socket; websocketpp then fails the connection into the void.
    asio::error_code ignored;
    socket.close(ignored);
    return;
  }
  e->stage = !e->proxy.empty() ? Stage::Proxy : (e->tls ? Stage::Tls : Stage::Upgrade);

  asio::error_code aec;
  socket.set_option(asio::ip::tcp::no_delay(true), aec);
  socket.set_option(asio::socket_base::keep_alive(true), aec);
  const int fd = socket.native_handle();
  if (user_timeout.count() > 0 && fd >= 0) {
    const auto ms = user_timeout.count();
    const int user_ms = static_cast<int>(std::min<decltype(ms)>(ms, 0x7fffffff));
    // Keepalive probes that give up within the user timeout.
    const int idle = std::max(1, user_ms / 3000);
    const int intvl = std::max(1, user_ms / 9000);
    const int cnt = 3;
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof user_ms);
  }
}

template <typename Client>
void Transport::Impl::on_ended(Client& client, ConnId id, websocketpp::connection_hdl hdl, bool failed) {
  Entry* e = live(id);
  if (e == nullptr) return;
  websocketpp::lib::error_code ec;
  auto con = client.get_con_from_hdl(hdl, ec);
  leave_proxy_stage_if_tunnelled(*e);
  Disconnect why;
  if (!con) {
    why = Disconnect{Cause::Other, 0, "connection vanished"};
  } else if (failed) {
    why = classify_failure(*e, con);
  } else {
    why = classify_close(*e, con);
  }
  finish(id, std::move(why));
}

std::string Transport::Impl::tls_verify_detail(const Entry& entry, TlsClient::connection_ptr const& con) {
  if (!entry.verify_failure.empty()) return entry.verify_failure;
  SSL* ssl = con->get_socket().native_handle();
  if (ssl == nullptr) return {};
  const long result = ::SSL_get_verify_result(ssl);
  if (result == X509_V_OK) return {};
  return ::X509_verify_cert_error_string(result);
}

void Transport::Impl::leave_proxy_stage_if_tunnelled(Entry& entry) {
  if (entry.stage != Stage::Proxy) return;
  with_connection(entry, [&entry](const auto& con) {
    if (pending_connect(con) == nullptr) entry.stage = entry.tls ? Stage::Tls : Stage::Upgrade;
  });
}

// Failures while reaching or talking to the proxy; nullopt: not the proxy's.
template <typename ConPtr>
std::optional<Disconnect> Transport::Impl::classify_proxy_failure(const Entry& entry, const ConPtr& con) {
  if (entry.proxy.empty()) return std::nullopt;
  const std::error_code ec = con->get_ec();
  const std::error_code tec = con->get_transport_ec();
  const auto* pending = pending_connect(con);
  namespace aerr = websocketpp::transport::asio::error;
  if (ec == aerr::make_error_code(aerr::proxy_failed) && pending != nullptr) {
    const auto status = static_cast<int>(pending->res.get_status_code());
    return Disconnect{Cause::ProxyFailed, static_cast<std::uint16_t>(status),
                      "proxy answered " + std::to_string(status) + " " +
                          printable_phrase(pending->res.get_status_msg())};
  }
  if (ec == aerr::make_error_code(aerr::proxy_invalid)) {
    return Disconnect{Cause::Other, 0, "invalid proxy " + entry.proxy};
  }
  if (entry.stage != Stage::Proxy) return std::nullopt;
  if (is_timeout(ec) || is_timeout(tec)) {
    return Disconnect{Cause::ProxyTimeout, 0, "no answer to CONNECT from " + entry.proxy};
  }
  if (ec == aerr::make_error_code(aerr::general)) {  // read up to the blank line, but no complete header
    return Disconnect{Cause::ProxyFailed, 0, "malformed answer to CONNECT from " + entry.proxy};
  }
  // websocketpp reports a read or write error with the proxy as pass_through.
  return Disconnect{Cause::ProxyFailed, 0, "proxy " + entry.proxy + " closed the connection before answering CONNECT"};
}

template <typename ConPtr>
Disconnect Transport::Impl::classify_failure(const Entry& entry, const ConPtr& con) {
  const std::error_code ec = con->get_ec();
  const std::error_code tec = con->get_transport_ec();
  const std::string where = std::string(" during ") + std::string(stage_name(entry.stage));
  if (auto proxy = classify_proxy_failure(entry, con)) return std::move(*proxy);
  // Before the tunnel, a DNS or TCP failure is the proxy's: say so.
  const std::string via = entry.proxy.empty() ? std::string() : "proxy " + entry.proxy + ": ";

  int status = static_cast<int>(con->get_response_code());
  if (status == 0) status = static_cast<int>(con->get_response().get_status_code());
  if (status != 0 && status != 101) {
    return Disconnect{Cause::Http, static_cast<std::uint16_t>(status),
                      "HTTP " + std::to_string(status) + " " + con->get_response_msg()};
  }
  if (is_timeout(ec) || is_timeout(tec)) {
    return Disconnect{Cause::Timeout, 0, (entry.stage == Stage::Connecting ? via : std::string()) + "timeout" + where};
  }
  if (is_dns_error(ec) || is_dns_error(tec)) {
    return Disconnect{Cause::Dns, 0, via + (is_dns_error(ec) ? ec : tec).message()};
  }
  const auto is_ssl = [](const std::error_code& e) { return e.category() == asio::error::get_ssl_category(); };
  if (entry.stage == Stage::Connecting) {
    // No byte of TLS was exchanged: an SSL code here comes from websocketpp
    // shutting down the never-connected TLS stream, not from the server.
    const std::error_code& cause = tec && !is_ssl(tec) ? tec : ec;
    return Disconnect{Cause::ConnectFailed, 0, via + cause.message()};
  }
  if (ec == wsock::make_error_code(wsock::error::tls_handshake_failed) || is_ssl(ec) || is_ssl(tec)) {
    std::string verify = tls_verify_detail(entry, con);
    if (!verify.empty()) return Disconnect{Cause::TlsVerify, 0, std::move(verify)};
    return Disconnect{Cause::TlsError, 0, "TLS handshake failed"};
  }
  const std::error_code& sys = tec ? tec : ec;
  if (is_reset_or_eof(ec) || is_reset_or_eof(tec)) {
    return Disconnect{Cause::TcpReset, 1006, sys.message() + where};
  }
  return Disconnect{Cause::Other, 0, (ec ? ec.message() : std::string("failed")) + where};
}

template <typename ConPtr>
Disconnect Transport::Impl::classify_close(const Entry& entry, const ConPtr& con) {
  namespace status = websocketpp::close::status;
  const std::error_code ec = con->get_ec();
  const std::error_code tec = con->get_transport_ec();
  const auto local = con->get_local_close_code();
  const auto remote = con->get_remote_close_code();

  if (entry.closing_by_us) {
    std::string detail;
    if (ec == websocketpp::error::close_handshake_timeout) detail = "close handshake timed out";
    return Disconnect{Cause::LocalClose, entry.close_code, std::move(detail)};
  }
  if (local != status::abnormal_close && is_protocol_error_reason(con->get_local_close_reason())) {
    // websocketpp closed because the peer broke a rule.
    if (local == status::message_too_big) {
      return Disconnect{Cause::MessageTooBig, local, "message over max_message_size"};
    }
    if (local == status::invalid_payload) {
      return Disconnect{Cause::Other, local, "invalid utf-8"};
    }
    return Disconnect{Cause::Other, local, "protocol error: " + con->get_local_close_reason()};
  }
  if (remote != status::abnormal_close && remote != status::blank) {
    return Disconnect{Cause::ServerClose, remote, con->get_remote_close_reason()};
  }
  const std::error_code& sys = tec ? tec : ec;
  return Disconnect{Cause::TcpReset, status::abnormal_close,
                    sys ? sys.message() : std::string("connection closed without a close frame")};
}

// The connection whose CONNECT answer threw is left without a handler: once
// the cancelled proxy timer (queued before the throw) has run, nothing holds
// it and its handle expires. Live connections are always held by a pending
// read or timer.
void Transport::Impl::fail_abandoned_proxy_attempts() {
  std::vector<ConnId> abandoned;
  for (const auto& [id, entry] : entries_) {
    if (!entry.dead && entry.stage == Stage::Proxy && entry.hdl.expired()) abandoned.push_back(id);
  }
  for (ConnId id : abandoned) {
    const std::string proxy = entries_.at(id).proxy;
    finish(id, Disconnect{Cause::ProxyFailed, 0, "malformed answer to CONNECT from " + proxy});
  }
}

bool Transport::Impl::absorb(const std::exception& e) {
  if (dynamic_cast<const websocketpp::http::exception*>(&e) == nullptr) return false;
  log_.debug("transport: malformed answer to CONNECT: ", e.what());
  asio::post(io_, [this, alive = std::weak_ptr<char>(alive_)] {
    if (!alive.expired()) fail_abandoned_proxy_attempts();
  });
  return true;
}

void Transport::Impl::on_connect_timeout(ConnId id) {
  Entry* e = live(id);
  if (e == nullptr || e->stage == Stage::Open) return;
  if (e->stage == Stage::Proxy && e->hdl.expired()) {  // absorb()'s sweep came too early
    fail_abandoned_proxy_attempts();
    return;
  }
  leave_proxy_stage_if_tunnelled(*e);
  const std::string limit = " (" + std::to_string(e->connect_timeout.count()) + " ms)";
  Disconnect why = e->stage == Stage::Proxy
                       ? Disconnect{Cause::ProxyTimeout, 0, "no answer to CONNECT from " + e->proxy + limit}
                       : Disconnect{Cause::Timeout, 0,
                                    (e->stage == Stage::Connecting && !e->proxy.empty() ? "proxy " + e->proxy + ": " : std::string()) +
                                        "connect timeout" + limit + " during " + std::string(stage_name(e->stage))};
  kill(*e, false);
  finish(id, std::move(why));
}

void Transport::Impl::finish(ConnId id, Disconnect why) {
  const auto it = entries_.find(id);
  if (it == entries_.end()) return;
  log_.log_for(LogLevel::Debug, user_fields(it->second.user_id), "transport: ", it->second.user_id, ": conn ", id,
               " ended: cause ", static_cast<int>(why.cause), " code ", why.code, why.detail.empty() ? "" : " (",
               why.detail, why.detail.empty() ? "" : ")");
  entries_.erase(it);  // before the callback: nothing else is reported for this id
  notify([&] { listener_.on_disconnect(id, why); });
}

void Transport::Impl::fail_later(ConnId id, Disconnect why) {
  const auto it = entries_.find(id);
  if (it == entries_.end()) return;
  it->second.dead = true;
  it->second.timer.cancel();
  asio::post(io_, [this, alive = std::weak_ptr<char>(alive_), id, why = std::move(why)]() mutable {
    if (alive.expired()) return;
    finish(id, std::move(why));
  });
}

// ---------------------------------------------------------------------------
// commands

void Transport::Impl::kill(const Entry& entry, bool close_frame) {
  with_connection(entry, [this, close_frame](const auto& con) {
    if (close_frame && con->get_state() == websocketpp::session::state::open) {
      websocketpp::lib::error_code ec;
      con->close(websocketpp::close::status::going_away, "", ec);
      if (!ec) {
        // websocketpp writes the frame from a handler it just posted; close
        // the socket right after it (FIFO on our single thread).
        asio::post(io_, [con]() {
          asio::error_code ignored;
          con->get_raw_socket().close(ignored);
        });
        return;
      }
    }
    asio::error_code ignored;
    con->get_raw_socket().close(ignored);
  });
}

bool Transport::Impl::send_text(ConnId id, std::string_view text) {
  Entry* e = live(id);
  if (e == nullptr || e->stage != Stage::Open) return false;
  bool ok = false;
  with_connection(*e, [&](const auto& con) {
    ok = !con->send(text.data(), text.size(), websocketpp::frame::opcode::text);
  });
  return ok;
}

bool Transport::Impl::send_ping(ConnId id, std::string_view payload) {
  Entry* e = live(id);
  if (e == nullptr || e->stage != Stage::Open) return false;
  bool ok = false;
  with_connection(*e, [&](const auto& con) {
    websocketpp::lib::error_code ec;
    con->ping(std::string(payload), ec);
    ok = !ec;
  });
  return ok;
}

void Transport::Impl::close(ConnId id, std::uint16_t code, std::string_view reason) {
  Entry* e = live(id);
  if (e == nullptr) return;
  if (e->closing_by_us) return;  // already closing: on_disconnect follows
  namespace status = websocketpp::close::status;
  if (status::invalid(code) || status::reserved(code)) code = status::normal;

  bool started = false;
  bool closing_anyway = false;
  if (e->stage == Stage::Open) {
    with_connection(*e, [&](const auto& con) {
      websocketpp::lib::error_code ec;
      con->close(code, std::string(reason), ec);
      started = !ec;
      closing_anyway = con->get_state() == websocketpp::session::state::closing;
    });
  }
  e->closing_by_us = true;
  e->close_code = code;
  if (started || closing_anyway) return;  // the close handler reports it
  // Not open (still connecting) or the close could not be started: drop the
  // attempt now and report the close from the loop.
  kill(*e, false);
  fail_later(id, Disconnect{Cause::LocalClose, code, "closed before the connection opened"});
}

void Transport::Impl::abort(ConnId id) {
  const auto it = entries_.find(id);
  if (it == entries_.end()) return;
  kill(it->second, true);
  entries_.erase(it);
}

void Transport::Impl::abort_all() {
  for (auto& [id, entry] : entries_) kill(entry, true);
  entries_.clear();
}

// ---------------------------------------------------------------------------

Transport::Transport(asio::io_context& io, Listener& listener, const Logger& log)
    : impl_(std::make_unique<Impl>(io, listener, log)) {}
Transport::~Transport() = default;

ConnId Transport::connect(const ConnectRequest& request) { return impl_->connect(request); }
bool Transport::send_text(ConnId id, std::string_view text) { return impl_->send_text(id, text); }
bool Transport::send_ping(ConnId id, std::string_view payload) { return impl_->send_ping(id, payload); }
void Transport::close(ConnId id, std::uint16_t code, std::string_view reason) { impl_->close(id, code, reason); }
void Transport::abort(ConnId id) { impl_->abort(id); }
void Transport::abort_all() { impl_->abort_all(); }
std::size_t Transport::connection_count() const { return impl_->connection_count(); }
bool Transport::absorb(const std::exception& e) { return impl_->absorb(e); }

}  // namespace wsheart::transport
