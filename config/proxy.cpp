#include "proxy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>

namespace wsheart::config {

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void set_error(std::string* error, std::string text) {
  if (error != nullptr) *error = std::move(text);
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// An IP literal as bytes (4 or 16); nullopt for a name.
std::optional<std::array<unsigned char, 16>> ip_bytes(const std::string& text, int& family) {
  std::array<unsigned char, 16> bytes{};
  if (::inet_pton(AF_INET, text.c_str(), bytes.data()) == 1) {
    family = AF_INET;
    return bytes;
  }
  if (::inet_pton(AF_INET6, text.c_str(), bytes.data()) == 1) {
    family = AF_INET6;
    return bytes;
  }
  return std::nullopt;
}

bool cidr_matches(const std::string& entry, const std::string& host) {
  const std::size_t slash = entry.find('/');
  int net_family = 0;
  int host_family = 0;
  const auto net = ip_bytes(entry.substr(0, slash), net_family);
  const auto addr = ip_bytes(host, host_family);
  if (!net || !addr || net_family != host_family) return false;
  const int max_bits = net_family == AF_INET ? 32 : 128;
  const std::string bits_text = entry.substr(slash + 1);
  if (bits_text.empty() || bits_text.size() > 3 || bits_text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const int bits = std::atoi(bits_text.c_str());
  if (bits > max_bits) return false;
  for (int i = 0; i < bits; ++i) {
    const auto index = static_cast<std::size_t>(i / 8);
    const auto mask = static_cast<unsigned char>(0x80U >> (i % 8));
    if (((*net)[index] & mask) != ((*addr)[index] & mask)) return false;
  }
  return true;
}

}  // namespace

std::optional<ProxyUrl> parse_proxy_url(std::string_view text, std::string* error) {
  std::string_view rest = text;
  const std::size_t scheme_end = text.find("://");
  if (scheme_end != std::string_view::npos) {
    const std::string scheme = lowercase(text.substr(0, scheme_end));
    if (scheme == "https" || scheme.rfind("socks", 0) == 0) {
      set_error(error, scheme + ":// proxies are not supported (only http:// proxies, through HTTP CONNECT)");
      return std::nullopt;
    }
    if (scheme != "http") {
      set_error(error, "unsupported proxy scheme '" + std::string(text.substr(0, scheme_end)) + "' (only http://)");
      return std::nullopt;
    }
    rest = text.substr(scheme_end + 3);
  }
  for (char c : rest) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) {
      set_error(error, "proxy URL contains a space, control or non-ASCII character");
      return std::nullopt;
    }
  }
  const std::size_t path = rest.find('/');
  if (path != std::string_view::npos && rest.substr(path) != "/") {
    set_error(error, "a proxy URL has no path (expected http://host:port)");
    return std::nullopt;
  }
  std::string_view authority = rest.substr(0, path);
  ProxyUrl proxy;
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    proxy.userinfo = percent_decode(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      set_error(error, "proxy URL has an unterminated IPv6 address");
      return std::nullopt;
    }
    proxy.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        set_error(error, "proxy URL has text after the IPv6 address");
        return std::nullopt;
      }
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
      authority = authority.substr(0, colon);
    }
    proxy.host = lowercase(authority);
  }
  if (proxy.host.empty()) {
    set_error(error, "proxy URL has no host");
    return std::nullopt;
  }
  if (has_port) {
    const auto port = parse_port(port_text);
    if (!port) {
      set_error(error, "proxy port must be 1-65535");
      return std::nullopt;
    }
    proxy.port = *port;
  }
  return proxy;
}

std::string proxy_display(const ProxyUrl& proxy) {
  const bool v6 = proxy.host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + proxy.host + "]" : proxy.host) + ":" + std::to_string(proxy.port);
}

bool no_proxy_matches(std::string_view list, std::string_view host_in, std::uint16_t port) {
  std::string host = lowercase(host_in);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int host_family = 0;
  const auto host_address = ip_bytes(host, host_family);
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find_first_of(", \t", start);
    if (end == std::string_view::npos) end = list.size();
    std::string entry = lowercase(list.substr(start, end - start));
    start = end + 1;
    if (entry.empty()) continue;
    if (entry == "*") return true;
    // entry:port, [v6]:port; a bare IPv6 address has several colons and no port.
    std::optional<std::uint16_t> entry_port;
    if (entry.front() == '[') {
      const std::size_t close = entry.find(']');
      if (close == std::string::npos) continue;
      if (close + 1 < entry.size() && entry[close + 1] == ':') {
        entry_port = parse_port(std::string_view(entry).substr(close + 2));
        if (!entry_port) continue;
      }
      entry = entry.substr(1, close - 1) + entry.substr(entry.find('/', close) == std::string::npos
                                                            ? entry.size()
                                                            : entry.find('/', close));
    } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
      const std::size_t colon = entry.find(':');
      entry_port = parse_port(std::string_view(entry).substr(colon + 1));
      if (!entry_port) continue;
      entry = entry.substr(0, colon);
    }
    if (entry_port && *entry_port != port) continue;
    while (!entry.empty() && entry.front() == '.') entry.erase(0, 1);
    if (entry.empty()) continue;
    if (entry.find('/') != std::string::npos) {
      if (cidr_matches(entry, host)) return true;
      continue;
    }
    if (host_address) {
      // As curl: an address matches the same address however it is spelt
      // (0:0::1 is ::1), and its text is no name ("1" is no suffix of 10.0.0.1).
      int entry_family = 0;
      const auto entry_address = ip_bytes(entry, entry_family);
      if (entry_address && entry_family == host_family && *entry_address == *host_address) return true;
      continue;
    }
    if (host == entry) return true;
    if (host.size() > entry.size() && host.compare(host.size() - entry.size(), entry.size(), entry) == 0 &&
        host[host.size() - entry.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

EnvLookup process_environment() {
  return [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

ProxyChoice choose_proxy(std::string_view setting, std::string_view no_proxy, const Url& target, const EnvLookup& env) {
  ProxyChoice choice;
  if (setting == "none") return choice;
  std::string text;
  if (setting == "env") {
    static constexpr std::array<const char*, 5> kSecure{"wss_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                                        "ALL_PROXY"};
    static constexpr std::array<const char*, 4> kPlain{"ws_proxy", "http_proxy", "all_proxy", "ALL_PROXY"};
    auto pick = [&](const auto& names) {
      for (const char* name : names) {
        auto value = env(name);
        if (value && !value->empty()) {
          choice.source = name;
          text = *value;
          return;
        }
      }
    };
    if (target.secure) {
      pick(kSecure);
    } else {
      pick(kPlain);
    }
    if (text.empty()) return choice;
  } else {
    choice.source = "proxy";
    text = std::string(setting);
  }
  std::string error;
  auto proxy = parse_proxy_url(text, &error);
  if (!proxy) {
    choice.error = choice.source == "proxy" ? error : choice.source + ": " + error;
    return choice;
  }
  std::string exceptions(no_proxy);
  if (exceptions.empty() && setting == "env") {
    for (const char* name : {"no_proxy", "NO_PROXY"}) {
      auto value = env(name);
      if (value && !value->empty()) {
        exceptions = *value;
        break;
      }
    }
  }
  if (no_proxy_matches(exceptions, target.host, target.port)) {
    choice.source.clear();
    return choice;
  }
  choice.proxy = std::move(*proxy);
  return choice;
}

}  // namespace wsheart::config
