// Text helpers for diagnostics: every message stays one printable line.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include <toml++/toml.h>

namespace wsheart::config {

// Control characters escaped (\n, \t, \xHH) so a value cannot break the
// one-problem-per-line format.
std::string printable(std::string_view text);
std::string quoted(std::string_view text);  // "\"" + printable(text) + "\""
std::string format_number(double value);    // locale-independent
std::string format_mode(mode_t mode);       // "0644": permission bits as chmod takes them
std::string format_position(toml::source_position at);  // "LINE:COL"
std::size_t edit_distance(std::string_view a, std::string_view b);
bool has_control_character(std::string_view text);
std::string replace_all(std::string text, std::string_view needle, std::string_view replacement);

}  // namespace wsheart::config
