#include "transport/proxy_auth.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace wsheart::transport {

namespace {

// A credential file is one line; anything much larger is not one.
constexpr std::size_t kMaxProxyAuthFile = 4096;

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

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
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot read proxy_auth_file " + path + ": " + std::strerror(errno);
  std::string content;
  char buf[1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return "cannot read proxy_auth_file " + path + ": " + std::strerror(err);
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > kMaxProxyAuthFile) {
      ::close(fd);
      return "proxy_auth_file " + path + " is larger than 4 KiB";
    }
  }
  ::close(fd);

  std::string_view rest(content);
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view line = trim(rest.substr(0, nl));
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
