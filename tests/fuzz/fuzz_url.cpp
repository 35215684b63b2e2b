// parse_ws_url, redact_url, percent_encode and percent_decode.
//
// The redaction invariant is checked by substitution: every credential the
// documentation promises to hide (the userinfo, and the value of every query
// key that contains a secret stem, compared case-insensitively after
// percent-decoding as a server would) is replaced in the input by a unique
// marker that cannot occur otherwise; the redacted output must contain none
// of the markers. Where the query and userinfo are is decided by this file's
// own reading of the URL (docs/config.md), not by the code under test.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "url.hpp"

using namespace wsheart::config;

namespace {

constexpr std::string_view kStems[] = {"token", "key", "pass", "secret", "auth", "sig", "session", "credential", "jwt", "pwd"};

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool secret_key(std::string_view key) {
  std::string k = percent_decode(key);
  for (char& c : k) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return std::any_of(std::begin(kStems), std::end(kStems), [&](std::string_view stem) { return k.find(stem) != std::string::npos; });
}

struct Span {
  std::size_t begin;
  std::size_t end;
};

// Byte ranges of the input that are credentials.
std::vector<Span> secret_spans(std::string_view url) {
  std::vector<Span> spans;
  const std::size_t mark = url.find("://");
  const std::size_t authority_start = mark == std::string_view::npos ? 0 : mark + 3;
  const std::size_t authority_end = std::min(url.find_first_of("/?#", authority_start), url.size());
  const std::string_view authority = url.substr(authority_start, authority_end - authority_start);
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos && at > 0) spans.push_back({authority_start, authority_start + at});
  const std::size_t query = std::min(url.find('?', authority_end), url.size());
  const std::size_t fragment = std::min(url.find('#', authority_end), url.size());
  if (query >= fragment) return spans;
  std::size_t pos = query + 1;
  while (pos <= fragment) {
    std::size_t sep = url.find_first_of("&;", pos);
    if (sep == std::string_view::npos || sep > fragment) sep = fragment;
    const std::string_view pair = url.substr(pos, sep - pos);
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && eq + 1 < pair.size() && secret_key(pair.substr(0, eq))) {
      spans.push_back({pos + eq + 1, sep});
    }
    pos = sep + 1;
  }
  return spans;
}

void check_redaction(const std::string& url) {
  const std::string redacted = redact_url(url);
  FUZZ_CHECK(redact_url(redacted) == redacted, "redact_url not idempotent on '%s'", url.c_str());

  // Substitute markers ("\x01<n>\x02"; the input holds no \x01) for the secrets.
  const std::vector<Span> spans = secret_spans(url);
  if (spans.empty()) return;
  std::string marked;
  std::vector<std::string> markers;
  std::size_t pos = 0;
  for (const Span& s : spans) {
    marked.append(url, pos, s.begin - pos);
    markers.push_back("\x01" + std::to_string(markers.size()) + "\x02");
    marked += markers.back();
    pos = s.end;
  }
  marked.append(url, pos, std::string::npos);
  // The substitution must not change where the parts are.
  FUZZ_CHECK(secret_spans(marked).size() == spans.size(), "marker changed the structure of '%s'", url.c_str());
  const std::string out = redact_url(marked);
  for (const std::string& m : markers) {
    FUZZ_CHECK(out.find(m) == std::string::npos, "a credential survives redaction:\n  input    '%s'\n  redacted '%s'",
               url.c_str(), redact_url(url).c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 2048) return 0;
  std::string url(reinterpret_cast<const char*>(data), size);
  std::replace(url.begin(), url.end(), '\x01', 'a');

  // percent_encode: only unreserved characters and %XX, and it decodes back.
  const std::string encoded = percent_encode(url);
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    FUZZ_CHECK(unreserved || (c == '%' && i + 2 < encoded.size() && is_hex(encoded[i + 1]) && is_hex(encoded[i + 2])),
               "percent_encode produced '%c'", c);
  }
  FUZZ_CHECK(percent_decode(encoded) == url, "percent_encode does not round-trip");

  check_redaction(url);

  std::string error;
  const auto parsed = parse_ws_url(url, &error);
  if (!parsed) {
    FUZZ_CHECK(!error.empty(), "rejected without a reason: '%s'", url.c_str());
    return 0;
  }
  FUZZ_CHECK(!parsed->host.empty(), "empty host accepted: '%s'", url.c_str());
  FUZZ_CHECK(parsed->port != 0, "port 0 accepted: '%s'", url.c_str());
  FUZZ_CHECK(!parsed->resource.empty() && parsed->resource[0] == '/', "resource '%s'", parsed->resource.c_str());
  FUZZ_CHECK(parsed->resource.find('#') == std::string::npos, "fragment accepted: '%s'", url.c_str());
  for (char c : url) {
    const auto byte = static_cast<unsigned char>(c);
    FUZZ_CHECK(byte > 0x20 && byte < 0x7f, "byte 0x%02x accepted in '%s'", byte, url.c_str());
  }
  // What the bus and the logs show is still a valid URL for the same endpoint.
  const std::string shown = redact_url(url);
  const auto reparsed = parse_ws_url(shown, &error);
  FUZZ_CHECK(reparsed.has_value(), "redacted URL '%s' of '%s' does not parse: %s", shown.c_str(), url.c_str(),
             error.c_str());
  FUZZ_CHECK(reparsed->secure == parsed->secure && reparsed->host == parsed->host && reparsed->port == parsed->port &&
                 reparsed->has_userinfo == parsed->has_userinfo,
             "redaction changed the endpoint of '%s' -> '%s'", url.c_str(), shown.c_str());
  return 0;
}
