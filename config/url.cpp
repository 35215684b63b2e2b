// ws:// and wss:// URLs: a strict parser for config validation and a lenient,
// never-failing redactor for anything that may reach a log or the bus.
#include "url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "encoding.hpp"

namespace wsheart::config {
namespace {

void set_error(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_unreserved(char c) { return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~'; }
bool is_sub_delim(char c) { return std::strchr("!$&'()*+,;=", c) != nullptr && c != '\0'; }

using encoding::ascii_lowercase;

// Characters RFC 3986 allows anywhere in a URI (besides '%' escapes).
bool is_uri_char(char c) {
  return is_unreserved(c) || is_sub_delim(c) || std::strchr(":/?#[]@", c) != nullptr;
}

// Every '%' must start a %XX escape.
bool percent_escapes_valid(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') continue;
    if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2])) return false;
    i += 2;
  }
  return true;
}

bool is_reg_name(std::string_view host) {
  for (char c : host) {
    if (!is_unreserved(c) && !is_sub_delim(c) && c != '%') return false;
  }
  return percent_escapes_valid(host);
}

// Query keys whose values are credentials. Substring match, so "access_token",
// "apikey", "passwd" and friends are covered by the short stems.
constexpr std::array<std::string_view, 10> kSecretKeyStems{
    "token", "key", "pass", "secret", "auth", "sig", "session", "credential", "jwt", "pwd"};

// Servers percent-decode query keys ("%74oken" is "token"), so the check
// must too: it decodes %XX escapes before comparing.
bool looks_secret(std::string_view key) {
  const std::string lower = ascii_lowercase(percent_decode(key));
  for (std::string_view stem : kSecretKeyStems) {
    if (lower.find(stem) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

std::optional<Url> parse_ws_url(std::string_view text, std::string* error) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) {
      set_error(error, byte == 0x20 ? "URL contains a space (percent-encode it as %20)"
                                    : "URL contains a control character");
      return std::nullopt;
    }
    if (byte >= 0x80) {
      set_error(error, "URL contains a non-ASCII character (percent-encode it)");
      return std::nullopt;
    }
    if (!is_uri_char(c) && c != '%') {
      set_error(error, std::string("URL contains '") + c + "', which must be percent-encoded");
      return std::nullopt;
    }
  }
  if (!percent_escapes_valid(text)) {
    set_error(error, "URL contains a '%' that does not start a %XX escape");
    return std::nullopt;
  }

  const std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    set_error(error, "URL has no scheme (expected ws:// or wss://)");
    return std::nullopt;
  }
  const std::string scheme = ascii_lowercase(text.substr(0, scheme_end));
  Url url;
  if (scheme == "ws") {
    url.secure = false;
  } else if (scheme == "wss") {
    url.secure = true;
  } else {
    set_error(error, "unsupported scheme '" + std::string(text.substr(0, scheme_end)) +
                         "' (only ws:// and wss://)");
    return std::nullopt;
  }

  std::string_view rest = text.substr(scheme_end + 3);
  const std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view resource = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);

  // RFC 6455 3: "Fragment identifiers ... MUST NOT be used on these URIs".
  if (resource.find('#') != std::string_view::npos) {
    set_error(error, "a WebSocket URL cannot have a #fragment");
    return std::nullopt;
  }

  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    url.has_userinfo = true;
    url.userinfo = percent_decode(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }

  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      set_error(error, "unterminated IPv6 address (missing ']')");
      return std::nullopt;
    }
    const std::string literal(authority.substr(1, close - 1));
    std::array<unsigned char, 16> address{};
    if (inet_pton(AF_INET6, literal.c_str(), address.data()) != 1) {
      set_error(error, "'" + literal + "' is not a valid IPv6 address");
      return std::nullopt;
    }
    url.host = literal;
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        set_error(error, "unexpected text after the IPv6 address");
        return std::nullopt;
      }
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (url.host.find('[') != std::string::npos || url.host.find(']') != std::string::npos ||
        !is_reg_name(url.host)) {
      set_error(error, "invalid host name '" + url.host + "'");
      return std::nullopt;
    }
  }
  if (url.host.empty()) {
    set_error(error, "URL has no host");
    return std::nullopt;
  }

  url.port = url.secure ? 443 : 80;
  if (has_port) {
    if (port_text.empty() || port_text.size() > 5) {
      set_error(error, port_text.empty() ? "empty port" : "port out of range (1-65535)");
      return std::nullopt;
    }
    unsigned value = 0;
    for (char c : port_text) {
      if (!is_digit(c)) {
        // Not echoed: "ws://user:PASSWORD/" (the '@host' forgotten) puts a password here.
        set_error(error, "port is not a number");
        return std::nullopt;
      }
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) {
      set_error(error, "port out of range (1-65535)");
      return std::nullopt;
    }
    url.port = static_cast<std::uint16_t>(value);
  }

  if (resource.empty()) {
    url.resource = "/";
  } else if (resource.front() == '?') {
    url.resource = "/" + std::string(resource);
  } else {
    url.resource = std::string(resource);
  }
  return url;
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHexDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (is_unreserved(c)) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHexDigits[byte >> 4];
      out += kHexDigits[byte & 0x0f];
    }
  }
  return out;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && is_hex(text[i + 1]) && is_hex(text[i + 2])) {
      const auto nibble = [](char c) { return is_digit(c) ? c - '0' : encoding::ascii_lower(c) - 'a' + 10; };
      out += static_cast<char>(nibble(text[i + 1]) * 16 + nibble(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string basic_authorization(std::string_view userinfo) { return "Basic " + encoding::base64_encode(userinfo); }

std::string redact_url(std::string_view url) {
  // Lenient on purpose: this runs on whatever a user configured or a peer
  // sent, valid or not, and must only ever remove information.
  std::string out;
  out.reserve(url.size());

  const std::size_t scheme_mark = url.find("://");
  const std::size_t authority_start = scheme_mark == std::string_view::npos ? 0 : scheme_mark + 3;
  const std::size_t authority_end = std::min(url.find_first_of("/?#", authority_start), url.size());
  const std::string_view authority = url.substr(authority_start, authority_end - authority_start);
  out.append(url.substr(0, authority_start));
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    out.append("***@");
    out.append(authority.substr(at + 1));
  } else {
    out.append(authority);
  }

  const std::size_t query_start = std::min(url.find('?', authority_end), url.size());
  const std::size_t fragment_start = std::min(url.find('#', authority_end), url.size());
  if (query_start >= fragment_start) {  // no query before the fragment
    out.append(url.substr(authority_end));
    return out;
  }
  out.append(url.substr(authority_end, query_start + 1 - authority_end));  // path and '?'
  std::string_view query = url.substr(query_start + 1, fragment_start - query_start - 1);
  while (true) {
    const std::size_t separator = query.find_first_of("&;");
    const std::string_view pair = query.substr(0, separator);
    const std::size_t equals = pair.find('=');
    if (equals != std::string_view::npos && looks_secret(pair.substr(0, equals))) {
      out.append(pair.substr(0, equals + 1));
      out.append("***");
    } else {
      out.append(pair);
    }
    if (separator == std::string_view::npos) break;
    out += query[separator];
    query.remove_prefix(separator + 1);
  }
  out.append(url.substr(fragment_start));
  return out;
}

}  // namespace wsheart::config
