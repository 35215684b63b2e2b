// Proxy selection as curl does it, table-driven, with an injected environment.
#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <string>

#include "proxy.hpp"

namespace wsheart::config {
namespace {

using Env = std::map<std::string, std::string>;

EnvLookup lookup(const Env& env) {
  return [env](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

Url target(const std::string& text) { return *parse_ws_url(text); }

struct Selection {
  const char* name;
  std::string url;
  std::string setting;
  std::string no_proxy;
  Env env;
  std::string expected;  // "direct", "http://host:port from SOURCE", or "error: ..."
};
void PrintTo(const Selection& s, std::ostream* out) { *out << s.name; }

std::string describe(const ProxyChoice& c) {
  if (!c.error.empty()) return "error: " + c.error;
  if (!c.proxy) return "direct";
  return proxy_display(*c.proxy) + " from " + c.source;
}

class ProxySelection : public ::testing::TestWithParam<Selection> {};

TEST_P(ProxySelection, FollowsCurl) {
  const auto& s = GetParam();
  EXPECT_EQ(describe(choose_proxy(s.setting, s.no_proxy, target(s.url), lookup(s.env))), s.expected);
}

const Env kAll{{"wss_proxy", "http://wss:1"},    {"https_proxy", "http://https:2"}, {"HTTPS_PROXY", "http://HTTPS:3"},
               {"all_proxy", "http://all:4"},    {"ALL_PROXY", "http://ALL:5"},     {"ws_proxy", "http://ws:6"},
               {"http_proxy", "http://http:7"}, {"HTTP_PROXY", "http://HTTP:8"}};

Env without(Env env, std::initializer_list<const char*> names) {
  for (const char* n : names) env.erase(n);
  return env;
}

INSTANTIATE_TEST_SUITE_P(Table, ProxySelection, ::testing::Values(
    Selection{"NoEnvIsDirect", "wss://h/", "env", "", {}, "direct"},
    Selection{"NoneIgnoresEnv", "wss://h/", "none", "", kAll, "direct"},
    Selection{"WssPrefersWssProxy", "wss://h/", "env", "", kAll, "http://wss:1 from wss_proxy"},
    Selection{"WssThenHttpsProxy", "wss://h/", "env", "", without(kAll, {"wss_proxy"}), "http://https:2 from https_proxy"},
    Selection{"WssThenUppercaseHttps", "wss://h/", "env", "", without(kAll, {"wss_proxy", "https_proxy"}),
              "http://https:3 from HTTPS_PROXY"},
    Selection{"WssThenAllProxy", "wss://h/", "env", "", without(kAll, {"wss_proxy", "https_proxy", "HTTPS_PROXY"}),
              "http://all:4 from all_proxy"},
    Selection{"WssThenUppercaseAll", "wss://h/", "env", "",
              without(kAll, {"wss_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy"}), "http://all:5 from ALL_PROXY"},
    Selection{"WssNeverUsesHttpProxy", "wss://h/", "env", "", Env{{"http_proxy", "http://http:7"}, {"ws_proxy", "http://ws:6"}},
              "direct"},
    Selection{"WsPrefersWsProxy", "ws://h/", "env", "", kAll, "http://ws:6 from ws_proxy"},
    Selection{"WsThenLowercaseHttpProxy", "ws://h/", "env", "", without(kAll, {"ws_proxy"}), "http://http:7 from http_proxy"},
    Selection{"WsNeverUppercaseHttpProxy", "ws://h/", "env", "", without(kAll, {"ws_proxy", "http_proxy"}),
              "http://all:4 from all_proxy"},
    Selection{"WsNeverUsesHttpsProxy", "ws://h/", "env", "", Env{{"https_proxy", "http://https:2"}}, "direct"},
    Selection{"EmptyVariableIsUnset", "ws://h/", "env", "", Env{{"ws_proxy", ""}, {"http_proxy", "http://p:7"}},
              "http://p:7 from http_proxy"},
    Selection{"NoSchemeIsHttpDefaultPort1080", "ws://h/", "env", "", Env{{"http_proxy", "proxy.corp"}},
              "http://proxy.corp:1080 from http_proxy"},
    Selection{"ConfiguredProxy", "wss://h/", "http://p.corp:3128", "", kAll, "http://p.corp:3128 from proxy"},
    Selection{"CredentialsNeverShown", "wss://h/", "http://u%40x:s3cret@p:3128/", "", {}, "http://p:3128 from proxy"},
    Selection{"Socks5FromEnvRejected", "wss://h/", "env", "", Env{{"all_proxy", "socks5://s:1080"}},
              "error: all_proxy: socks5:// proxies are not supported (only http:// proxies, through HTTP CONNECT)"},
    Selection{"HttpsProxyRejected", "wss://h/", "https://p:443", "", {},
              "error: https:// proxies are not supported (only http:// proxies, through HTTP CONNECT)"},
    Selection{"Socks5hRejected", "ws://h/", "socks5h://p", "", {},
              "error: socks5h:// proxies are not supported (only http:// proxies, through HTTP CONNECT)"},
    Selection{"BadPort", "ws://h/", "http://p:0", "", {}, "error: proxy port must be 1-65535"},
    Selection{"PathRejected", "ws://h/", "http://p:8080/x", "", {}, "error: a proxy URL has no path (expected http://host:port)"},
    Selection{"EnvNoProxyExempts", "wss://api.corp.example/", "env", "", Env{{"https_proxy", "http://p:1"}, {"no_proxy", "corp.example"}},
              "direct"},
    Selection{"UppercaseNoProxyToo", "wss://api.corp.example/", "env", "", Env{{"https_proxy", "http://p:1"}, {"NO_PROXY", ".corp.example"}},
              "direct"},
    Selection{"ConfigNoProxyOverridesEnv", "wss://api.corp.example/", "env", "other.example",
              Env{{"https_proxy", "http://p:1"}, {"no_proxy", "corp.example"}}, "http://p:1 from https_proxy"},
    Selection{"ConfigNoProxyWithConfiguredProxy", "ws://127.0.0.1:9000/", "http://p:1", "127.0.0.0/8", {}, "direct"},
    Selection{"NoProxyIpv6ByAddress", "ws://[::1]:9000/", "http://p:1", "0:0::1", {}, "direct"}));

struct NoProxyCase {
  const char* list;
  const char* host;
  std::uint16_t port;
  bool matches;
};

TEST(NoProxy, CurlRules) {
  const NoProxyCase cases[] = {
      {"", "h", 80, false},
      {"*", "anything.example", 443, true},
      {"example.com", "example.com", 443, true},
      {"example.com", "api.example.com", 443, true},
      {"example.com", "badexample.com", 443, false},
      {".example.com", "example.com", 443, true},
      {".example.com", "api.example.com", 443, true},
      {"EXAMPLE.com", "Api.Example.COM", 443, true},
      {"a.test, b.test", "x.b.test", 80, true},
      {"a.test b.test", "b.test", 80, true},
      {"a.test,,", "c.test", 80, false},
      {"10.0.0.0/8", "10.1.2.3", 80, true},
      {"10.0.0.0/8", "11.1.2.3", 80, false},
      {"192.168.1.0/24", "192.168.1.77", 80, true},
      {"192.168.1.0/24", "192.168.2.77", 80, false},
      {"10.0.0.0/8", "ten.example", 80, false},
      {"fd00::/8", "fd12::1", 80, true},
      {"fd00::/8", "fe80::1", 80, false},
      {"::1", "::1", 80, true},
      {"::1", "[::1]", 80, true},
      {"[::1]:8080", "::1", 8080, true},
      {"[::1]:8080", "::1", 8081, false},
      {"example.com:8443", "api.example.com", 8443, true},
      {"example.com:8443", "api.example.com", 443, false},
      {"127.0.0.1", "127.0.0.1", 1, true},
      {"127.0.0.1", "127.0.0.10", 1, false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(no_proxy_matches(c.list, c.host, c.port), c.matches) << "'" << c.list << "' vs " << c.host << ":" << c.port;
  }
}

// An IP address matches by address, as curl compares them: any spelling of
// the same address, and never as a name (no suffix match on its text).
TEST(NoProxy, IpAddressesCompareAsAddresses) {
  const NoProxyCase cases[] = {
      {"0:0::1", "::1", 80, true},
      {"0:0:0:0:0:0:0:1", "::1", 80, true},
      {"[0:0::1]", "::1", 80, true},
      {"::1", "0:0::1", 80, true},
      {"::1", "[0:0::1]", 80, true},
      {"[0::1]:8080", "::1", 8080, true},
      {"[0::1]:8080", "::1", 8081, false},
      {"FD00:0::1", "fd00::1", 80, true},
      {"::2", "::1", 80, false},
      {"::", "::1", 80, false},
      {"::ffff:127.0.0.1", "127.0.0.1", 80, false},  // another family, as in curl
      {"127.0.0.1", "::ffff:127.0.0.1", 80, false},
      {"0.0.1", "10.0.0.1", 80, false},  // text suffix of an address: not a match
      {"1", "10.0.0.1", 80, false},
      {"0.1", "127.0.0.1", 80, false},
      {"::1", "fd00::1", 80, false},
      {"127.0.0.1", "127.0.0.1", 80, true},
      {"example.com", "10.0.0.1", 80, false},
      {"10.0.0.1", "host.10.0.0.1", 80, true},  // a name still matches by suffix
  };
  for (const auto& c : cases) {
    EXPECT_EQ(no_proxy_matches(c.list, c.host, c.port), c.matches) << "'" << c.list << "' vs " << c.host << ":" << c.port;
  }
}

TEST(ProxyUrlParse, HostPortCredentialsIpv6) {
  auto p = parse_proxy_url("http://user:p%40ss@[::1]:3128/");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "::1");
  EXPECT_EQ(p->port, 3128);
  EXPECT_EQ(p->userinfo, "user:p@ss");
  EXPECT_EQ(proxy_display(*p), "http://[::1]:3128");
  std::string error;
  EXPECT_FALSE(parse_proxy_url("http://", &error));
  EXPECT_EQ(error, "proxy URL has no host");
  EXPECT_FALSE(parse_proxy_url("ftp://p:21", &error));
  EXPECT_EQ(error, "unsupported proxy scheme 'ftp' (only http://)");
}

}  // namespace
}  // namespace wsheart::config
