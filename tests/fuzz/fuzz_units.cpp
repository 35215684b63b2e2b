// parse_duration / parse_size against an independent exact oracle, plus
// format_duration round trips. Input: first byte picks the parser, the rest
// is the text.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "units.hpp"

using namespace wsheart::config;

namespace {

__extension__ typedef unsigned __int128 u128;

bool digit(char c) { return c >= '0' && c <= '9'; }
bool letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// "12" or "12.5": whole part and fraction digits (trailing zeros dropped).
// false if there is no number at the front.
bool read_number(std::string_view& s, u128& whole, std::string& fraction, bool& whole_overflow) {
  std::size_t i = 0;
  if (i >= s.size() || !digit(s[i])) return false;
  whole = 0;
  whole_overflow = false;
  for (; i < s.size() && digit(s[i]); ++i) {
    whole = whole * 10 + static_cast<unsigned>(s[i] - '0');
    if (whole > ~std::uint64_t{0}) whole_overflow = true;
    if (whole_overflow) whole = u128(1) << 100;  // stays "too large", never wraps
  }
  fraction.clear();
  if (i < s.size() && s[i] == '.') {
    const std::size_t start = ++i;
    while (i < s.size() && digit(s[i])) ++i;
    if (i == start) return false;
    fraction = std::string(s.substr(start, i - start));
    while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  }
  s.remove_prefix(i);
  return true;
}

enum class Verdict { Value, Invalid, TooLarge };

// number * unit exactly; whole numbers only. The implementation documents a
// cap of 12 significant fraction digits (units.cpp); beyond it the value is
// rejected even in the rare cases where it would be whole (e.g. "0.0001220703125TiB").
Verdict scale(u128 whole, const std::string& fraction, std::uint64_t unit, u128& out) {
  if (fraction.size() > 12) return Verdict::Invalid;
  u128 den = 1;
  u128 num = 0;
  for (char c : fraction) {
    num = num * 10 + static_cast<unsigned>(c - '0');
    den *= 10;
  }
  const u128 frac_part = num * unit;
  if (frac_part % den != 0) return Verdict::Invalid;
  out = whole * unit + frac_part / den;
  return Verdict::Value;
}

struct Oracle {
  Verdict verdict = Verdict::Invalid;
  u128 value = 0;
};

Oracle duration_oracle(std::string_view s) {
  static const std::pair<std::string_view, std::uint64_t> units[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
  Oracle o;
  if (s.empty()) return o;
  std::size_t next = 0;
  u128 total = 0;
  bool too_large = false;
  while (!s.empty()) {
    u128 whole = 0;
    std::string fraction;
    bool overflow = false;
    if (!read_number(s, whole, fraction, overflow)) return o;
    std::size_t n = 0;
    while (n < s.size() && letter(s[n])) ++n;
    const std::string_view name = s.substr(0, n);
    s.remove_prefix(n);
    std::size_t index = 4;
    for (std::size_t i = 0; i < 4; ++i) {
      if (units[i].first == name) index = i;
    }
    if (overflow) return Oracle{Verdict::TooLarge, 0};  // reported before the unit is looked at
    if (index == 4 || index < next) return o;
    next = index + 1;
    u128 part = 0;
    const Verdict v = scale(whole, fraction, units[index].second, part);
    if (v != Verdict::Value) {
      // A too-large whole part wins over a non-whole fraction.
      if (whole * units[index].second > static_cast<u128>(INT64_MAX)) return Oracle{Verdict::TooLarge, 0};
      return o;
    }
    if (part > static_cast<u128>(INT64_MAX)) return Oracle{Verdict::TooLarge, 0};
    total += part;
    if (total > static_cast<u128>(INT64_MAX)) too_large = true;
    if (too_large) return Oracle{Verdict::TooLarge, 0};
  }
  return Oracle{Verdict::Value, total};
}

Oracle size_oracle(std::string_view s) {
  static const std::pair<std::string_view, std::uint64_t> units[] = {
      {"", 1},           {"B", 1},           {"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30},
      {"TiB", 1ULL << 40}, {"KB", 1000},      {"kB", 1000},        {"MB", 1000000},     {"GB", 1000000000},
      {"TB", 1000000000000ULL}};
  Oracle o;
  u128 whole = 0;
  std::string fraction;
  bool overflow = false;
  if (!read_number(s, whole, fraction, overflow)) return o;
  if (overflow) return Oracle{Verdict::TooLarge, 0};
  std::uint64_t unit = 0;
  for (const auto& [name, bytes] : units) {
    if (name == s) unit = bytes;
  }
  if (unit == 0) return o;
  u128 value = 0;
  if (whole * unit > ~std::uint64_t{0}) return Oracle{Verdict::TooLarge, 0};
  if (scale(whole, fraction, unit, value) != Verdict::Value) return o;
  if (value > ~std::uint64_t{0}) return Oracle{Verdict::TooLarge, 0};
  return Oracle{Verdict::Value, value};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 256) return 0;
  const bool size_parser = (data[0] & 1) != 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string error;
  if (!size_parser) {
    const auto got = parse_duration(text, &error);
    const Oracle want = duration_oracle(text);
    if (want.verdict == Verdict::Value) {
      FUZZ_CHECK(got.has_value(), "'%s' is %llu ms but was rejected: %s", text.c_str(),
                 static_cast<unsigned long long>(want.value), error.c_str());
      FUZZ_CHECK(static_cast<u128>(got->count()) == want.value, "'%s': got %lld ms, want %llu", text.c_str(),
                 static_cast<long long>(got->count()), static_cast<unsigned long long>(want.value));
      // What format_duration prints parses back to the same value.
      const std::string printed = format_duration(*got);
      const auto again = parse_duration(printed);
      FUZZ_CHECK(again && *again == *got, "format_duration(%lld) = '%s' does not parse back",
                 static_cast<long long>(got->count()), printed.c_str());
    } else {
      FUZZ_CHECK(!got.has_value(), "'%s' accepted as %lld ms", text.c_str(), static_cast<long long>(got->count()));
      FUZZ_CHECK(!error.empty(), "'%s' rejected without a reason", text.c_str());
    }
  } else {
    const auto got = parse_size(text, &error);
    const Oracle want = size_oracle(text);
    if (want.verdict == Verdict::Value) {
      FUZZ_CHECK(got.has_value(), "'%s' is %llu bytes but was rejected: %s", text.c_str(),
                 static_cast<unsigned long long>(want.value), error.c_str());
      FUZZ_CHECK(static_cast<u128>(*got) == want.value, "'%s': got %llu, want %llu", text.c_str(),
                 static_cast<unsigned long long>(*got), static_cast<unsigned long long>(want.value));
    } else {
      FUZZ_CHECK(!got.has_value(), "'%s' accepted as %llu", text.c_str(), static_cast<unsigned long long>(*got));
      FUZZ_CHECK(!error.empty(), "'%s' rejected without a reason", text.c_str());
    }
  }
  return 0;
}
