#include "text.hpp"

namespace wsheart::cli {

namespace {

// Zero-width: combining marks, zero width space/joiners, variation selectors.
bool is_zero_width(std::uint32_t c) {
  return (c >= 0x0300 && c <= 0x036F) || (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x1DC0 && c <= 0x1DFF) ||
         (c >= 0x200B && c <= 0x200F) || (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE00 && c <= 0xFE0F) ||
         (c >= 0xFE20 && c <= 0xFE2F) || c == 0x2060 || c == 0xFEFF;
}

// East Asian Wide/Fullwidth and emoji blocks (the common ranges).
bool is_wide(std::uint32_t c) {
  return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) || (c >= 0x3041 && c <= 0x33FF) ||
         (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
         (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
         (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD);
}

std::size_t char_width(const Utf8Char& ch) {
  if (!ch.valid) return 1;
  if (is_zero_width(ch.code)) return 0;
  return is_wide(ch.code) ? 2 : 1;
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size();) {
    const Utf8Char ch = decode_utf8(text, i);
    width += char_width(ch);
    i += ch.length;
  }
  return width;
}

std::string escape_for_terminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const Utf8Char ch = decode_utf8(text, i);
    if (!ch.valid) {
      const auto byte = static_cast<unsigned char>(text[i]);
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xFU];
    } else if (ch.code < 0x20 || ch.code == 0x7F) {
      switch (ch.code) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          out += "\\x";
          out += kHex[ch.code >> 4];
          out += kHex[ch.code & 0xFU];
      }
    } else if (ch.code >= 0x80 && ch.code < 0xA0) {
      out += "\\u00";
      out += kHex[ch.code >> 4];
      out += kHex[ch.code & 0xFU];
    } else {
      out.append(text.substr(i, ch.length));
    }
    i += ch.length;
  }
  return out;
}

std::string ellipsize(std::string_view text, std::size_t width) {
  if (display_width(text) <= width) return std::string(text);
  if (width == 0) return {};
  std::string out;
  std::size_t used = 0;
  for (std::size_t i = 0; i < text.size();) {
    const Utf8Char ch = decode_utf8(text, i);
    const std::size_t w = char_width(ch);
    if (used + w > width - 1) break;
    out.append(text.substr(i, ch.length));
    used += w;
    i += ch.length;
  }
  out += "\xE2\x80\xA6";  // …
  return out;
}

}  // namespace wsheart::cli
