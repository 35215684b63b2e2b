#include "encoding.hpp"

#include <algorithm>

namespace wsheart::encoding {

namespace {

constexpr std::string_view kBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool is_continuation(unsigned char byte) { return (byte & 0xC0U) == 0x80U; }

bool is_tchar(char c) {
  const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  return alnum || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t group = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) group |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 2]);
    out += kBase64Alphabet[(group >> 18) & 63];
    out += kBase64Alphabet[(group >> 12) & 63];
    out += i + 1 < bytes.size() ? kBase64Alphabet[(group >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kBase64Alphabet[group & 63] : '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string bytes;
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t padding = 0;
  for (char c : text) {
    if (c == '=') {
      ++padding;
      continue;
    }
    const auto index = kBase64Alphabet.find(c);
    if (padding != 0 || index == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(index);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += static_cast<char>((buffer >> bits) & 0xffu);
    }
  }
  if (padding > 2 || (text.size() % 4 != 0 && padding != 0)) return std::nullopt;
  return bytes;
}

Utf8Char decode_utf8(std::string_view text, std::size_t pos) {
  Utf8Char out;
  const auto lead = static_cast<unsigned char>(text[pos]);
  if (lead < 0x80) return {lead, 1, true};
  std::size_t need = 0;
  std::uint32_t code = 0;
  std::uint32_t min = 0;
  if ((lead & 0xE0U) == 0xC0U) {
    need = 1;
    code = lead & 0x1FU;
    min = 0x80;
  } else if ((lead & 0xF0U) == 0xE0U) {
    need = 2;
    code = lead & 0x0FU;
    min = 0x800;
  } else if ((lead & 0xF8U) == 0xF0U) {
    need = 3;
    code = lead & 0x07U;
    min = 0x10000;
  } else {
    return out;  // stray continuation byte or invalid lead
  }
  if (pos + need >= text.size()) return out;  // truncated sequence
  for (std::size_t k = 1; k <= need; ++k) {
    const auto byte = static_cast<unsigned char>(text[pos + k]);
    if (!is_continuation(byte)) return out;
    code = (code << 6) | (byte & 0x3FU);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return out;
  return {code, need + 1, true};
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const Utf8Char ch = decode_utf8(text, i);
    if (!ch.valid) return false;
    i += ch.length;
  }
  return true;
}

bool is_http_token(std::string_view text) { return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar); }

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ascii_lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

}  // namespace wsheart::encoding
