#include "transport/proxy_auth.hpp"

#include <algorithm>

#include "transport/small_file.hpp"

namespace wsheart::transport {

namespace {

// A credential file is one line; anything much larger is not one.
constexpr std::size_t kMaxProxyAuthFile = 4096;

}  // namespace

std::optional<ProxyCredentials> parse_proxy_credentials(std::string_view userinfo) {
  const bool has_control = std::any_of(userinfo.begin(), userinfo.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
  if (userinfo.empty() || has_control) return std::nullopt;
  const std::size_t colon = userinfo.find(':');
  ProxyCredentials credentials;
  credentials.user = std::string(userinfo.substr(0, colon));
  if (colon != std::string_view::npos) credentials.password = std::string(userinfo.substr(colon + 1));
  if (credentials.user.empty()) return std::nullopt;
  return credentials;
}

std::optional<std::string> read_proxy_auth_file(const std::string& path, ProxyCredentials& out) {
  std::string content;
  if (auto error = read_small_file(path, kMaxProxyAuthFile, "proxy_auth_file", content)) return error;

  std::string_view rest(content);
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view line = trim_blanks(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    auto credentials = parse_proxy_credentials(line);
    if (!credentials) return "proxy_auth_file " + path + ": expected one line \"user:password\"";
    out = std::move(*credentials);
    return std::nullopt;
  }
  return "proxy_auth_file " + path + " is empty (expected \"user:password\")";
}

}  // namespace wsheart::transport
