// parse_ws_url, percent_encode and redact_url.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "url.hpp"

namespace wsheart::config {
namespace {

struct GoodUrl {
  const char* text;
  bool secure;
  const char* host;
  std::uint16_t port;
  const char* resource;
  bool has_userinfo;
};

TEST(ParseWsUrl, AcceptsWsAndWss) {
  const std::vector<GoodUrl> cases = {
      {"ws://example.com", false, "example.com", 80, "/", false},
      {"wss://example.com", true, "example.com", 443, "/", false},
      {"wss://crm.example.com/wsCrm?jspCode=alice", true, "crm.example.com", 443, "/wsCrm?jspCode=alice", false},
      {"ws://127.0.0.1:18080/ws?user=bob", false, "127.0.0.1", 18080, "/ws?user=bob", false},
      {"WSS://Example.COM:8443/a/b", true, "Example.COM", 8443, "/a/b", false},
      {"ws://[::1]:9000/ws", false, "::1", 9000, "/ws", false},
      {"wss://[2001:db8::1]/", true, "2001:db8::1", 443, "/", false},
      {"ws://[::ffff:192.0.2.1]", false, "::ffff:192.0.2.1", 80, "/", false},
      {"ws://user:secret@host/x", false, "host", 80, "/x", true},
      {"ws://host?x=1", false, "host", 80, "/?x=1", false},
      {"ws://host:1/%41", false, "host", 1, "/%41", false},
      {"ws://host:65535/", false, "host", 65535, "/", false},
  };
  for (const GoodUrl& c : cases) {
    std::string error;
    const auto url = parse_ws_url(c.text, &error);
    ASSERT_TRUE(url.has_value()) << c.text << ": " << error;
    EXPECT_EQ(url->secure, c.secure) << c.text;
    EXPECT_EQ(url->host, c.host) << c.text;
    EXPECT_EQ(url->port, c.port) << c.text;
    EXPECT_EQ(url->resource, c.resource) << c.text;
    EXPECT_EQ(url->has_userinfo, c.has_userinfo) << c.text;
  }
}

TEST(ParseWsUrl, RejectsWithAReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "URL has no scheme (expected ws:// or wss://)"},
      {"example.com/ws", "URL has no scheme (expected ws:// or wss://)"},
      {"http://example.com/", "unsupported scheme 'http' (only ws:// and wss://)"},
      {"https://example.com/", "unsupported scheme 'https' (only ws:// and wss://)"},
      {"ws://", "URL has no host"},
      {"ws:///path", "URL has no host"},
      {"ws://user@/path", "URL has no host"},
      {"ws://host:0/", "port out of range (1-65535)"},
      {"ws://host:65536/", "port out of range (1-65535)"},
      {"ws://host:123456/", "port out of range (1-65535)"},
      {"ws://host:8o/", "port is not a number"},
      // A password typed without its '@host' must not be echoed as a "port".
      {"ws://user:pass/x", "port is not a number"},
      {"ws://host:/", "empty port"},
      {"ws://host/a b", "URL contains a space (percent-encode it as %20)"},
      {"ws://host/a\tb", "URL contains a control character"},
      {std::string("ws://host/a\0b", 13), "URL contains a control character"},
      {"ws://host/\xc3\xa9", "URL contains a non-ASCII character (percent-encode it)"},
      {"ws://host/{id}", "URL contains '{', which must be percent-encoded"},
      {"ws://host/a\"b", "URL contains '\"', which must be percent-encoded"},
      {"ws://host/%zz", "URL contains a '%' that does not start a %XX escape"},
      {"ws://host/%4", "URL contains a '%' that does not start a %XX escape"},
      {"ws://host/#top", "a WebSocket URL cannot have a #fragment"},
      {"ws://[::1/", "unterminated IPv6 address (missing ']')"},
      {"ws://[not-v6]/", "'not-v6' is not a valid IPv6 address"},
      {"ws://[::1]x/", "unexpected text after the IPv6 address"},
      {"ws://ho[st/", "invalid host name 'ho[st'"},
  };
  for (const auto& [text, reason] : cases) {
    std::string error;
    EXPECT_FALSE(parse_ws_url(text, &error).has_value()) << text;
    EXPECT_EQ(error, reason) << text;
  }
}

TEST(PercentEncode, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percent_encode("alice"), "alice");
  EXPECT_EQ(percent_encode("A-Z_a.z~09"), "A-Z_a.z~09");
  EXPECT_EQ(percent_encode("a b/c"), "a%20b%2Fc");
  EXPECT_EQ(percent_encode("x?y=1&z#"), "x%3Fy%3D1%26z%23");
  EXPECT_EQ(percent_encode("\xc3\xa9"), "%C3%A9");
  EXPECT_EQ(percent_encode("100%"), "100%25");
  EXPECT_EQ(percent_encode(std::string("\0\xff", 2)), "%00%FF");
  EXPECT_EQ(percent_encode(""), "");
}

TEST(RedactUrl, RemovesUserinfoAndSecretQueryValues) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"wss://crm.example.com/wsCrm?jspCode=alice", "wss://crm.example.com/wsCrm?jspCode=alice"},
      {"wss://user:pw@host/x", "wss://***@host/x"},
      {"wss://a@b@host:8443/x", "wss://***@host:8443/x"},
      {"wss://host/x?token=abc&user=bob", "wss://host/x?token=***&user=bob"},
      {"wss://host/?API_KEY=1;Password=2", "wss://host/?API_KEY=***;Password=***"},
      {"wss://host/?access_token=a&apikey=b&api_key=c", "wss://host/?access_token=***&apikey=***&api_key=***"},
      {"wss://host/?sig=a&signature=b&session=c&jwt=d", "wss://host/?sig=***&signature=***&session=***&jwt=***"},
      {"wss://host/?secret=a&auth=b&credential=c&passwd=d", "wss://host/?secret=***&auth=***&credential=***&passwd=***"},
      {"wss://host/?x=1&token=&y=2", "wss://host/?x=1&token=***&y=2"},
      {"wss://host/?token", "wss://host/?token"},
      {"wss://host/p?token=a#frag", "wss://host/p?token=***#frag"},
      {"wss://host/p#?token=a", "wss://host/p#?token=a"},  // a fragment is not a query
      {"ws://u:p@[::1]:9/?key=v", "ws://***@[::1]:9/?key=***"},
      {"user:pw@host/x?token=t", "***@host/x?token=***"},  // no scheme: still redacted
  };
  for (const auto& [url, expected] : cases) EXPECT_EQ(redact_url(url), expected) << url;
}

TEST(RedactUrl, NeverThrowsAndIsIdempotentOnGarbage) {
  for (const std::string garbage : {"", "@", "?", "#", "://", "?=&&==", "://@?#", "ws://", "\xff\xfe@?k=v",
                                    "ws://[::1", "?token=a&&token=b"}) {
    std::string once;
    EXPECT_NO_THROW(once = redact_url(garbage)) << garbage;
    EXPECT_EQ(redact_url(once), once) << garbage;
  }
  // Random strings over the characters the redactor cares about.
  const std::string alphabet = "ws:/?&;=@#[]tokenKEYpass x\xff";
  std::mt19937 random(12345);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> length(0, 40);
  for (int round = 0; round < 5000; ++round) {
    std::string text;
    for (int i = length(random); i > 0; --i) text += alphabet[pick(random)];
    std::string once;
    ASSERT_NO_THROW(once = redact_url(text)) << text;
    EXPECT_EQ(redact_url(once), once) << text;
  }
}

TEST(RedactUrl, SecretValuesNeverSurvive) {
  const std::string url = "wss://alice:hunter2@host/x?jspCode=a&token=hunter3&Session=hunter4";
  const std::string redacted = redact_url(url);
  EXPECT_EQ(redacted.find("hunter"), std::string::npos) << redacted;
  EXPECT_NE(redacted.find("jspCode=a"), std::string::npos) << redacted;
}

// Found by tests/fuzz/fuzz_url: a server decodes "%74oken" to "token", so the
// redactor must decode query keys before it looks for secret stems.
TEST(RedactUrl, PercentEncodedSecretKeysAreRedactedToo) {
  EXPECT_EQ(redact_url("wss://h/?%74oken=s3cret&x=1"), "wss://h/?%74oken=***&x=1");
  EXPECT_EQ(redact_url("wss://h/?api%5Fkey=s3cret"), "wss://h/?api%5Fkey=***");
  EXPECT_EQ(redact_url("wss://h/?%50%41%53%53=s3cret"), "wss://h/?%50%41%53%53=***");
  EXPECT_EQ(redact_url("wss://h/?%7=a&%=b"), "wss://h/?%7=a&%=b");  // not escapes: left alone
}

}  // namespace
}  // namespace wsheart::config
