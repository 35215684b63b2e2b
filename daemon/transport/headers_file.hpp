// HTTP upgrade headers from configuration: the headers_file format and the
// checks every header passes before it reaches the wire. No websocketpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"

namespace wsheart::transport {

// A header value that cannot split the request: no CR, LF or NUL.
bool is_header_value(std::string_view value);
bool is_valid_header(const config::Header& header);  // token name, is_header_value

// Appends the "Name: value" lines of `path` to `out` (blank lines and lines
// starting with '#' are skipped; at most 64 KiB). On failure returns a
// message that names the file (and a line number) but never echoes its
// contents: they are secrets.
std::optional<std::string> read_headers_file(const std::string& path, std::vector<config::Header>& out);

}  // namespace wsheart::transport
