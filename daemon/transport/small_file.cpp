#include "transport/small_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wsheart::transport {

std::optional<std::string> read_small_file(const std::string& path, std::size_t limit, std::string_view what,
                                           std::string& content) {
  const std::string name(what);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot read " + name + " " + path + ": " + std::strerror(errno);
  content.clear();
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return "cannot read " + name + " " + path + ": " + std::strerror(err);
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > limit) {
      ::close(fd);
      return name + " " + path + " is larger than " + std::to_string(limit / 1024) + " KiB";
    }
  }
  ::close(fd);
  return std::nullopt;
}

std::string_view trim_blanks(std::string_view s) {
  const auto is_blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace wsheart::transport
