// UTF-8 helpers for terminal output: decoding, display width, escaping of
// control characters, ellipsizing. Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "encoding.hpp"

namespace wsheart::cli {

using encoding::decode_utf8;
using encoding::Utf8Char;

// Columns a terminal uses for `text`: wide (East Asian, emoji) code points
// count 2, combining marks 0, everything else 1. Invalid bytes count 1.
std::size_t display_width(std::string_view text);

// Makes text from the network or a config safe to print on one terminal
// line: C0 controls, DEL and C1 controls become \n, \r, \t or \xHH / \u00HH;
// invalid UTF-8 bytes become \xHH. Everything else, including backslash, is
// kept as it is.
std::string escape_for_terminal(std::string_view text);

// Cuts `text` to at most `width` columns, ending in "…" when cut.
std::string ellipsize(std::string_view text, std::size_t width);

}  // namespace wsheart::cli
