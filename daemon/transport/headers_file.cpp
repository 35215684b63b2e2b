#include "transport/headers_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "encoding.hpp"

namespace wsheart::transport {

namespace {

constexpr std::size_t kMaxHeadersFile = 64 * 1024;

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

bool is_header_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool is_valid_header(const config::Header& header) {
  return encoding::is_http_token(header.name) && is_header_value(header.value);
}

std::optional<std::string> read_headers_file(const std::string& path, std::vector<config::Header>& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot read headers_file " + path + ": " + std::strerror(errno);
  std::string content;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return "cannot read headers_file " + path + ": " + std::strerror(err);
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > kMaxHeadersFile) {
      ::close(fd);
      return "headers_file " + path + " is larger than 64 KiB";
    }
  }
  ::close(fd);

  std::size_t line_no = 0;
  std::string_view rest(content);
  while (!rest.empty()) {
    ++line_no;
    const auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    const auto colon = line.find(':');
    const std::string_view name = colon == std::string_view::npos ? std::string_view{} : trim(line.substr(0, colon));
    const std::string_view value = colon == std::string_view::npos ? std::string_view{} : trim(line.substr(colon + 1));
    if (!encoding::is_http_token(name) || !is_header_value(value)) {
      return "headers_file " + path + " line " + std::to_string(line_no) + ": expected \"Name: value\"";
    }
    out.push_back(config::Header{std::string(name), std::string(value)});
  }
  return std::nullopt;
}

}  // namespace wsheart::transport
