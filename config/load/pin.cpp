#include "pin.hpp"

#include "encoding.hpp"

namespace wsheart::config {

std::optional<std::string> parse_pin(std::string_view text, std::string& why) {
  constexpr std::string_view kPrefix = "sha256//";
  if (text.substr(0, kPrefix.size()) == kPrefix) text.remove_prefix(kPrefix.size());
  const auto bytes = encoding::base64_decode(text);
  if (!bytes) {
    why = "not base64";
    return std::nullopt;
  }
  if (bytes->size() != 32) {
    why = "expected the base64 of a 32-byte SHA-256 digest, got " + std::to_string(bytes->size()) + " bytes";
    return std::nullopt;
  }
  return encoding::base64_encode(*bytes);
}

}  // namespace wsheart::config
