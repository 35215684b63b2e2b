// Proxy credentials for HTTP CONNECT (Basic): from the proxy URL's userinfo
// or from proxy_auth_file, re-read before every handshake. No websocketpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wsheart::transport {

// Secrets: never logged, never put into an error message.
struct ProxyCredentials {
  std::string user;
  std::string password;
};

// "user:password" (split at the first ':'; a missing ':' means an empty
// password, as curl). No CR, LF, NUL or other control character: they
// would end up in a request header.
std::optional<ProxyCredentials> parse_proxy_credentials(std::string_view userinfo);

// The first non-blank, non-'#' line of `path` (at most 4 KiB, trailing CR/LF
// and blanks removed) as credentials. On failure returns a message that names
// the file but never echoes its contents.
std::optional<std::string> read_proxy_auth_file(const std::string& path, ProxyCredentials& out);

}  // namespace wsheart::transport
