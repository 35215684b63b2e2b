// Duration and size parsing. Exact integer arithmetic throughout: a config
// value either means a whole number of milliseconds / bytes or it is an error,
// never a silently rounded approximation.
#include "units.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace wsheart::config {
namespace {

constexpr std::uint64_t kMaxMilliseconds =
    static_cast<std::uint64_t>(std::numeric_limits<std::chrono::milliseconds::rep>::max());

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

void set_error(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
}

// "12" or "12.50" at the front of `text`: the integer part and the fraction
// digits (trailing zeros dropped, so "1.50" and "1.5" are the same number).
struct Decimal {
  std::uint64_t whole = 0;
  std::string_view fraction;  // digits after '.', may be empty
};

enum class NumberError { None, NotANumber, TooLarge };

NumberError read_decimal(std::string_view& text, Decimal& out) {
  std::size_t pos = 0;
  if (pos >= text.size() || !is_digit(text[pos])) return NumberError::NotANumber;
  out.whole = 0;
  for (; pos < text.size() && is_digit(text[pos]); ++pos) {
    const auto digit = static_cast<std::uint64_t>(text[pos] - '0');
    if (out.whole > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return NumberError::TooLarge;
    out.whole = out.whole * 10 + digit;
  }
  out.fraction = {};
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < text.size() && is_digit(text[pos])) ++pos;
    if (pos == start) return NumberError::NotANumber;  // "5." or "5.s"
    out.fraction = text.substr(start, pos - start);
    while (!out.fraction.empty() && out.fraction.back() == '0') out.fraction.remove_suffix(1);
  }
  text.remove_prefix(pos);
  return NumberError::None;
}

enum class ScaleError { None, TooLarge, NotWhole };

// value = decimal * unit, required to be a whole number that fits `limit`.
ScaleError scale(const Decimal& number, std::uint64_t unit, std::uint64_t limit, std::uint64_t& value) {
  if (number.whole != 0 && unit > limit / number.whole) return ScaleError::TooLarge;
  value = number.whole * unit;
  if (number.fraction.empty()) return ScaleError::None;
  // Twelve significant fraction digits are far more than any real value
  // needs, and the cap keeps 10^digits inside 64 bits.
  if (number.fraction.size() > 12) return ScaleError::NotWhole;
  std::uint64_t numerator = 0;
  std::uint64_t denominator = 1;
  for (char c : number.fraction) {
    numerator = numerator * 10 + static_cast<std::uint64_t>(c - '0');
    denominator *= 10;
  }
  // numerator * unit could overflow 64 bits: divide out the common factor
  // first. The result is below `unit` (the fraction is below 1).
  std::uint64_t a = unit;
  std::uint64_t b = denominator;
  while (b != 0) {
    const std::uint64_t t = a % b;
    a = b;
    b = t;
  }
  const std::uint64_t reduced_unit = unit / a;
  const std::uint64_t reduced_denominator = denominator / a;
  if (numerator % reduced_denominator != 0) return ScaleError::NotWhole;
  const std::uint64_t part = (numerator / reduced_denominator) * reduced_unit;
  if (part > limit - value) return ScaleError::TooLarge;
  value += part;
  return ScaleError::None;
}

struct DurationUnit {
  std::string_view name;
  std::uint64_t milliseconds;
};
// Largest first: a combined duration must list its parts in this order.
constexpr std::array<DurationUnit, 4> kDurationUnits{{
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

struct SizeUnit {
  std::string_view name;
  std::uint64_t bytes;
};
constexpr std::array<SizeUnit, 10> kSizeUnits{{
    {"B", 1},
    {"KiB", 1ULL << 10},
    {"MiB", 1ULL << 20},
    {"GiB", 1ULL << 30},
    {"TiB", 1ULL << 40},
    {"KB", 1'000},
    {"kB", 1'000},
    {"MB", 1'000'000},
    {"GB", 1'000'000'000},
    {"TB", 1'000'000'000'000},
}};

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* error) {
  if (text.empty()) {
    set_error(error, "empty duration (write e.g. \"5s\")");
    return std::nullopt;
  }
  if (text.front() == '-') {
    set_error(error, "a duration cannot be negative");
    return std::nullopt;
  }
  std::uint64_t total = 0;
  std::size_t next_unit = 0;  // index into kDurationUnits: parts must go largest to smallest
  std::string_view rest = text;
  while (!rest.empty()) {
    Decimal number;
    switch (read_decimal(rest, number)) {
      case NumberError::None:
        break;
      case NumberError::NotANumber:
        set_error(error, "expected a number followed by a unit (ms, s, m, h), e.g. \"5s\" or \"1m30s\"");
        return std::nullopt;
      case NumberError::TooLarge:
        set_error(error, "duration is too large");
        return std::nullopt;
    }
    std::size_t unit_length = 0;
    while (unit_length < rest.size() && is_letter(rest[unit_length])) ++unit_length;
    const std::string_view unit_name = rest.substr(0, unit_length);
    rest.remove_prefix(unit_length);
    if (unit_name.empty()) {
      set_error(error, "missing unit (use ms, s, m or h)");
      return std::nullopt;
    }
    std::size_t unit_index = kDurationUnits.size();
    for (std::size_t i = 0; i < kDurationUnits.size(); ++i) {
      if (kDurationUnits[i].name == unit_name) unit_index = i;
    }
    if (unit_index == kDurationUnits.size()) {
      set_error(error, "unknown unit '" + std::string(unit_name) + "' (use ms, s, m or h)");
      return std::nullopt;
    }
    if (unit_index < next_unit) {
      set_error(error, "combine units from largest to smallest, each once (e.g. \"1m30s\")");
      return std::nullopt;
    }
    next_unit = unit_index + 1;
    std::uint64_t part = 0;
    switch (scale(number, kDurationUnits[unit_index].milliseconds, kMaxMilliseconds, part)) {
      case ScaleError::None:
        break;
      case ScaleError::TooLarge:
        set_error(error, "duration is too large");
        return std::nullopt;
      case ScaleError::NotWhole:
        set_error(error, "finer than a millisecond");
        return std::nullopt;
    }
    if (part > kMaxMilliseconds - total) {
      set_error(error, "duration is too large");
      return std::nullopt;
    }
    total += part;
  }
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(total));
}

std::optional<std::uint64_t> parse_size(std::string_view text, std::string* error) {
  if (text.empty()) {
    set_error(error, "empty size (write e.g. \"64KiB\")");
    return std::nullopt;
  }
  if (text.front() == '-') {
    set_error(error, "a size cannot be negative");
    return std::nullopt;
  }
  std::string_view rest = text;
  Decimal number;
  switch (read_decimal(rest, number)) {
    case NumberError::None:
      break;
    case NumberError::NotANumber:
      set_error(error, "expected a number optionally followed by a unit, e.g. \"64KiB\" or \"1MiB\"");
      return std::nullopt;
    case NumberError::TooLarge:
      set_error(error, "size is too large");
      return std::nullopt;
  }
  std::uint64_t unit_bytes = 0;
  if (rest.empty()) {
    unit_bytes = 1;
  } else {
    for (const SizeUnit& unit : kSizeUnits) {
      if (unit.name == rest) unit_bytes = unit.bytes;
    }
  }
  if (unit_bytes == 0) {
    set_error(error, "unknown unit '" + std::string(rest) +
                         "' (use B, KiB, MiB, GiB, TiB for powers of 1024 or KB, MB, GB, TB for powers of 1000)");
    return std::nullopt;
  }
  std::uint64_t bytes = 0;
  switch (scale(number, unit_bytes, std::numeric_limits<std::uint64_t>::max(), bytes)) {
    case ScaleError::None:
      break;
    case ScaleError::TooLarge:
      set_error(error, "size is too large");
      return std::nullopt;
    case ScaleError::NotWhole:
      set_error(error, "not a whole number of bytes");
      return std::nullopt;
  }
  return bytes;
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto count = d.count();
  if (count < 0) return "-" + format_duration(std::chrono::milliseconds(-count));
  if (count == 0) return "0s";
  if (count % 3'600'000 == 0) return std::to_string(count / 3'600'000) + "h";
  if (count % 60'000 == 0) return std::to_string(count / 60'000) + "m";
  if (count % 1'000 == 0) return std::to_string(count / 1'000) + "s";
  if (count < 1'000) return std::to_string(count) + "ms";
  // Seconds with the millisecond digits, trailing zeros dropped: "1.5s", "1.25s".
  std::string fraction = std::to_string(count % 1'000);
  fraction.insert(0, 3 - fraction.size(), '0');
  while (fraction.back() == '0') fraction.pop_back();
  return std::to_string(count / 1'000) + "." + fraction + "s";
}

}  // namespace wsheart::config
