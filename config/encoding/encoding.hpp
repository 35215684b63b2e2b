// Byte-level encodings and character classes shared by config, transport and
// CLI: base64, UTF-8, HTTP tokens, ASCII case. No dependencies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsheart::encoding {

// RFC 4648 base64 with padding.
std::string base64_encode(std::string_view bytes);
// Strict: the standard alphabet, '=' only at the end (at most two), and a
// length that is a multiple of four whenever there is padding. nullopt otherwise.
std::optional<std::string> base64_decode(std::string_view text);

struct Utf8Char {
  std::uint32_t code = 0;
  std::size_t length = 1;  // bytes consumed (1 for an invalid byte)
  bool valid = false;
};
// Decodes the UTF-8 sequence starting at text[pos] (pos < text.size()).
// Overlong forms, surrogates and code points above U+10FFFF are invalid.
Utf8Char decode_utf8(std::string_view text, std::size_t pos);
bool is_valid_utf8(std::string_view text);

// RFC 9110 token (e.g. an HTTP header name): one or more tchar.
bool is_http_token(std::string_view text);

char ascii_lower(char c);
std::string ascii_lowercase(std::string_view text);

}  // namespace wsheart::encoding
