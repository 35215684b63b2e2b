// Public key pins (pin_sha256).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wsheart::config {

// "sha256//" + base64 (curl's --pinnedpubkey form) or the bare base64 of a
// SHA-256 digest; returned as canonical base64 (padded, 44 characters).
// nullopt with `why` set otherwise.
std::optional<std::string> parse_pin(std::string_view text, std::string& why);

}  // namespace wsheart::config
