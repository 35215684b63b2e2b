// HTTP proxies: the proxy URL, curl's environment-variable rules, and
// no_proxy matching. PURE: the environment is passed in.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "url.hpp"

namespace wsheart::config {

// An http:// proxy (HTTP CONNECT). Only http:// (or no scheme, as curl):
// https://, socks4/4a/5/5h:// proxies are rejected, never used as a silent
// direct connection.
struct ProxyUrl {
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 1080;  // curl's default proxy port
  // "user:password" from http://user:password@host/, percent-decoded. A secret.
  std::string userinfo;
  bool operator==(const ProxyUrl& o) const { return host == o.host && port == o.port && userinfo == o.userinfo; }
};

std::optional<ProxyUrl> parse_proxy_url(std::string_view text, std::string* error = nullptr);
// "http://host:port", credentials never included (shown on the bus and in logs).
std::string proxy_display(const ProxyUrl& proxy);

// curl's NO_PROXY: entries separated by commas (and spaces); "*" alone
// matches everything; a host name matches an entry equal to it or ending in
// "." + entry (a leading dot in the entry is ignored); an IP address matches
// an entry that is the same address, compared as an address (0:0::1 is ::1,
// with or without brackets), or a CIDR entry holding it (10.0.0.0/8,
// fd00::/8), never by text; "entry:port" ("[v6]:port") matches that port
// only. Case-insensitive.
bool no_proxy_matches(std::string_view list, std::string_view host, std::uint16_t port);

// The environment, injected: nullopt (or "") = unset.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
EnvLookup process_environment();

struct ProxyChoice {
  std::optional<ProxyUrl> proxy;  // nullopt: connect directly
  std::string source;  // "proxy" (the config key) or the variable it came from; "" when direct
  std::string error;   // set: the setting or the variable is unusable (a config error)
};

// `setting` is the proxy key: "env", "none" or an http:// URL. With "env"
// (curl's rules): wss uses wss_proxy, https_proxy, HTTPS_PROXY, all_proxy,
// ALL_PROXY; ws uses ws_proxy, http_proxy (lowercase only, as curl: CGI
// sets HTTP_PROXY from a request header), all_proxy, ALL_PROXY; the first
// set one wins. `no_proxy` (the config key) overrides no_proxy/NO_PROXY of
// the environment.
ProxyChoice choose_proxy(std::string_view setting, std::string_view no_proxy, const Url& target, const EnvLookup& env);

}  // namespace wsheart::config
