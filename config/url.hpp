// WebSocket URL helpers shared by config, daemon, bus and CLI.
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
};

// ws:// or wss:// only. nullopt with `error` set on anything else.
std::optional<Url> parse_ws_url(std::string_view text, std::string* error = nullptr);

// RFC 3986 unreserved characters stay; every other byte becomes %XX.
std::string percent_encode(std::string_view text);

// Credentials out: userinfo -> "***@", values of query keys that look secret
// (token, key, password, passwd, pass, secret, auth, sig, signature, session,
// credential, jwt, apikey, api_key, access_token ...; case-insensitive,
// substring match) -> "***". Safe for logs, the bus and CLI output.
std::string redact_url(std::string_view url);

}  // namespace wsheart::config
