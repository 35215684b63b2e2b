#include "transport/headers_file.hpp"

#include <algorithm>

#include "encoding.hpp"
#include "transport/small_file.hpp"

namespace wsheart::transport {

namespace {

constexpr std::size_t kMaxHeadersFile = 64 * 1024;

}  // namespace

bool is_header_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool is_valid_header(const config::Header& header) {
  return encoding::is_http_token(header.name) && is_header_value(header.value);
}

std::optional<std::string> read_headers_file(const std::string& path, std::vector<config::Header>& out) {
  std::string content;
  if (auto error = read_small_file(path, kMaxHeadersFile, "headers_file", content)) return error;

  std::size_t line_no = 0;
  std::string_view rest(content);
  while (!rest.empty()) {
    ++line_no;
    const auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    line = trim_blanks(line);
    if (line.empty() || line.front() == '#') continue;
    const auto colon = line.find(':');
    const std::string_view name = colon == std::string_view::npos ? std::string_view{} : trim_blanks(line.substr(0, colon));
    const std::string_view value = colon == std::string_view::npos ? std::string_view{} : trim_blanks(line.substr(colon + 1));
    if (!encoding::is_http_token(name) || !is_header_value(value)) {
      return "headers_file " + path + " line " + std::to_string(line_no) + ": expected \"Name: value\"";
    }
    out.push_back(config::Header{std::string(name), std::string(value)});
  }
  return std::nullopt;
}

}  // namespace wsheart::transport
