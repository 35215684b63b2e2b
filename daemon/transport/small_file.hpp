// Reading the small text files a handshake needs (headers_file,
// proxy_auth_file): whole, bounded, before each handshake.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace wsheart::transport {

// Reads `path` into `content`, at most `limit` bytes. Returns an error text
// naming `what` (the config key) and the path, or nullopt.
std::optional<std::string> read_small_file(const std::string& path, std::size_t limit, std::string_view what,
                                           std::string& content);

// `s` without leading and trailing blanks (space, tab, CR).
std::string_view trim_blanks(std::string_view s);

}  // namespace wsheart::transport
