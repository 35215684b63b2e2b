// Duration ("250ms", "5s", "2m", "1h") and size ("64KiB", "1MiB", bytes) parsing.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsheart::config {

// nullopt on any malformed input; `error` (if given) gets a human reason.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* error = nullptr);
std::optional<std::uint64_t> parse_size(std::string_view text, std::string* error = nullptr);

std::string format_duration(std::chrono::milliseconds d);  // "1.5s", "250ms", "2m"

}  // namespace wsheart::config
