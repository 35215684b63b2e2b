// WebSocket URLs: parsed once here (at load), handed to the transport as parts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsheart::config {

struct Url {
  bool secure = false;  // wss
  std::string host;     // without brackets for IPv6
  std::uint16_t port = 0;
  std::string resource;  // path + query, at least "/"
  bool has_userinfo = false;
  // "user:password" of ws://user:password@host/, percent-decoded. A secret:
  // never log it. Sent as HTTP Basic credentials (basic_authorization).
  std::string userinfo;
};

// ws:// or wss:// only. nullopt with `error` set on anything else.
std::optional<Url> parse_ws_url(std::string_view text, std::string* error = nullptr);

// RFC 3986 unreserved characters stay; every other byte becomes %XX.
std::string percent_encode(std::string_view text);
// Every %XX escape becomes its byte; anything else (a stray '%') is kept.
std::string percent_decode(std::string_view text);

// The Authorization header value for a URL's userinfo, "Basic " +
// base64(userinfo), as browsers and curl send it.
std::string basic_authorization(std::string_view userinfo);

// Credentials out: userinfo -> "***@", values of query keys that look secret
// (token, key, password, passwd, pass, secret, auth, sig, signature, session,
// credential, jwt, apikey, api_key, access_token ...; case-insensitive,
// substring match) -> "***". Safe for logs, the bus and CLI output.
std::string redact_url(std::string_view url);

}  // namespace wsheart::config
