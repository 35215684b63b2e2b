// Bytes -> config::load_string: a config or diagnostics, never a crash, and
// every promise the loader makes about an accepted config holds.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "config.hpp"
#include "fuzz_check.hpp"
#include "url.hpp"

using namespace wsheart::config;

namespace {

bool in_duration_range(Duration d) { return d >= Duration(10) && d <= Duration(24LL * 3600 * 1000); }

std::string render(const LoadResult& r) {
  std::string out = r.ok() ? "ok\n" : "invalid\n";
  for (const auto& d : r.diagnostics) out += d.to_string() + "\n";
  return out;
}

// toml++ 3.3.0 (Debian 12) reaches TOML_UNREACHABLE (undefined behaviour)
// in is_non_ascii_horizontal_whitespace() wherever it looks for whitespace
// and finds a non-whitespace code point in U+00A1..U+0499, U+2C5E..U+3057 or
// U+FB26..U+FEFE: the bit mask of its search chunks 0, 11 and 63 is wrong
// (found by this target). In Debian's optimised shared library such a
// character is treated as "not whitespace" (a syntax error, exit 78): see
// docs/reliability.md. Inputs holding one are skipped so the search goes on.
bool has_toml_unreachable_codepoint(std::string_view text) {
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    const auto b1 = static_cast<unsigned char>(text[i + 1]);
    unsigned cp = 0;
    if ((b0 & 0xE0) == 0xC0 && (b1 & 0xC0) == 0x80) {
      cp = ((b0 & 0x1Fu) << 6) | (b1 & 0x3Fu);
    } else if ((b0 & 0xF0) == 0xE0 && (b1 & 0xC0) == 0x80 && i + 2 < text.size() &&
               (static_cast<unsigned char>(text[i + 2]) & 0xC0) == 0x80) {
      cp = ((b0 & 0x0Fu) << 12) | ((b1 & 0x3Fu) << 6) | (static_cast<unsigned char>(text[i + 2]) & 0x3Fu);
    } else {
      continue;
    }
    if ((cp >= 0xA1 && cp <= 0x499) || (cp >= 0x2C5E && cp <= 0x3057) || (cp >= 0xFB26 && cp <= 0xFEFE)) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Relative headers_file paths resolve against $CREDENTIALS_DIRECTORY: keep
  // the outcome independent of the environment the fuzzer runs in.
  unsetenv("CREDENTIALS_DIRECTORY");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;  // bigger inputs only slow the search down
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (has_toml_unreachable_codepoint(text)) return 0;
  const std::string path = "/fuzz/config.toml";
  const LoadResult result = load_string(text, path);

  std::size_t lines = 1;
  for (char c : text) lines += c == '\n' ? 1 : 0;

  bool has_error = false;
  for (const Diagnostic& d : result.diagnostics) {
    has_error = has_error || d.severity == Severity::Error;
    FUZZ_CHECK(!d.message.empty(), "empty diagnostic message");
    FUZZ_CHECK(d.path == path, "diagnostic path %s", d.path.c_str());
    FUZZ_CHECK(d.line <= lines + 1, "line %u beyond the input's %zu lines", d.line, lines);
    FUZZ_CHECK((d.line == 0) == (d.column == 0), "line %u column %u", d.line, d.column);
    const std::string printed = d.to_string();
    FUZZ_CHECK(printed.rfind(path + ":", 0) == 0, "diagnostic not PATH:LINE:COL: %s", printed.c_str());
  }
  // A config is returned iff there is no error.
  FUZZ_CHECK(result.ok() == !has_error, "ok=%d but has_error=%d", result.ok(), has_error);

  // Deterministic: same bytes, same answer (catches reads of uninitialised state).
  FUZZ_CHECK(render(load_string(text, path)) == render(result), "second load differs");

  if (!result.ok()) return 0;
  const Config& config = *result.config;
  FUZZ_CHECK(config.daemon.max_handshakes >= 1 && config.daemon.max_handshakes <= 10000, "max_handshakes %u",
             config.daemon.max_handshakes);
  std::set<std::string> ids;
  for (const UserConfig& u : config.users) {
    FUZZ_CHECK(!u.id.empty() && u.id.size() <= 255, "id of %zu bytes", u.id.size());
    for (char c : u.id) {
      const auto byte = static_cast<unsigned char>(c);
      FUZZ_CHECK(byte >= 0x20 && byte != 0x7f, "control character in id");
    }
    FUZZ_CHECK(ids.insert(u.id).second, "duplicate id accepted");
    std::string error;
    FUZZ_CHECK(parse_ws_url(u.url, &error).has_value(), "accepted url does not parse: %s", error.c_str());
    FUZZ_CHECK(u.url.find("{id}") == std::string::npos, "{id} not substituted");
    FUZZ_CHECK(in_duration_range(u.heartbeat_interval), "heartbeat_interval");
    FUZZ_CHECK(in_duration_range(u.heartbeat_timeout), "heartbeat_timeout");
    FUZZ_CHECK(in_duration_range(u.connect_timeout), "connect_timeout");
    FUZZ_CHECK(in_duration_range(u.reconnect_initial), "reconnect_initial");
    FUZZ_CHECK(in_duration_range(u.reconnect_max), "reconnect_max");
    FUZZ_CHECK(in_duration_range(u.stable_after), "stable_after");
    FUZZ_CHECK(in_duration_range(u.fatal_backoff), "fatal_backoff");
    FUZZ_CHECK(u.reconnect_max >= u.reconnect_initial, "reconnect_max < reconnect_initial");
    FUZZ_CHECK(u.reconnect_multiplier >= 1.0 && u.reconnect_multiplier <= 100.0, "multiplier %f",
               u.reconnect_multiplier);
    FUZZ_CHECK(u.max_message_size >= 1 && u.max_message_size <= (1ULL << 30), "max_message_size %llu",
               static_cast<unsigned long long>(u.max_message_size));
    FUZZ_CHECK(u.send_queue_limit <= 1000000, "send_queue_limit %zu", u.send_queue_limit);
    FUZZ_CHECK(u.history <= 100000, "history %zu", u.history);
    std::set<std::string> names;
    for (const Header& h : u.headers) {
      FUZZ_CHECK(!h.name.empty(), "empty header name");
      std::string lower;
      for (char c : h.name) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      FUZZ_CHECK(names.insert(lower).second, "duplicate header %s", h.name.c_str());
      FUZZ_CHECK(lower != "host" && lower != "upgrade" && lower != "connection" && lower != "sec-websocket-key" &&
                     lower != "sec-websocket-version",
                 "reserved header %s accepted", h.name.c_str());
      for (char c : h.value) {
        const auto byte = static_cast<unsigned char>(c);
        FUZZ_CHECK(byte >= 0x20 && byte != 0x7f, "control character in a header value");
      }
    }
    FUZZ_CHECK(u == u, "UserConfig not equal to itself");
  }
  return 0;
}
