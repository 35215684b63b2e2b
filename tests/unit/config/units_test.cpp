// Duration and size syntax: every accepted form, every rejection reason.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "units.hpp"

namespace wsheart::config {
namespace {

using std::chrono::milliseconds;

struct GoodDuration {
  const char* text;
  std::int64_t expected_ms;
};

TEST(ParseDuration, AcceptsEveryDocumentedForm) {
  const std::vector<GoodDuration> cases = {
      {"250ms", 250},       {"5s", 5'000},          {"2m", 120'000},   {"1h", 3'600'000},
      {"1m30s", 90'000},    {"1h2m3s4ms", 3'723'004}, {"1.5s", 1'500}, {"0.25s", 250},
      {"1.50s", 1'500},     {"0.5m", 30'000},       {"0.001s", 1},     {"0s", 0},
      {"1h30m", 5'400'000}, {"2.5h", 9'000'000},    {"007s", 7'000},
      {"9223372036854775807ms", INT64_MAX},
  };
  for (const GoodDuration& c : cases) {
    std::string error;
    const auto parsed = parse_duration(c.text, &error);
    ASSERT_TRUE(parsed.has_value()) << c.text << ": " << error;
    EXPECT_EQ(parsed->count(), c.expected_ms) << c.text;
    EXPECT_TRUE(error.empty()) << c.text;
  }
}

struct BadInput {
  const char* text;
  const char* reason;
};

TEST(ParseDuration, RejectsMalformedInputWithAReason) {
  const std::string not_a_number = "expected a number followed by a unit (ms, s, m, h), e.g. \"5s\" or \"1m30s\"";
  const std::string order = "combine units from largest to smallest, each once (e.g. \"1m30s\")";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty duration (write e.g. \"5s\")"},
      {"5", "missing unit (use ms, s, m or h)"},
      {"1m30", "missing unit (use ms, s, m or h)"},
      {"s", not_a_number},
      {"5x", "unknown unit 'x' (use ms, s, m or h)"},
      {"5S", "unknown unit 'S' (use ms, s, m or h)"},
      {"5sec", "unknown unit 'sec' (use ms, s, m or h)"},
      {"1d", "unknown unit 'd' (use ms, s, m or h)"},
      {"-5s", "a duration cannot be negative"},
      {"+5s", not_a_number},
      {"5 s", "missing unit (use ms, s, m or h)"},
      {" 5s", not_a_number},
      {"5s ", not_a_number},
      {".5s", not_a_number},
      {"5.s", not_a_number},
      {"1s1m", order},
      {"1s1s", order},
      {"1.5ms", "finer than a millisecond"},
      {"0.0001s", "finer than a millisecond"},
      {"99999999999999999999h", "duration is too large"},         // overflows the number itself
      {"99999999999999h", "duration is too large"},               // overflows when scaled to ms
      {"9223372036854775808ms", "duration is too large"},         // INT64_MAX + 1
      {"9223372036854775s808ms", "duration is too large"},        // overflows only in the sum
  };
  for (const auto& [text, reason] : cases) {
    std::string error;
    EXPECT_FALSE(parse_duration(text, &error).has_value()) << '"' << text << '"';
    EXPECT_EQ(error, reason) << '"' << text << '"';
  }
}

TEST(ParseDuration, ErrorOutputIsOptional) {
  EXPECT_FALSE(parse_duration("bogus").has_value());
  EXPECT_EQ(parse_duration("3s")->count(), 3000);
}

TEST(ParseDuration, LargeButRepresentableValuesParse) {
  // Not an overflow: the config layer rejects this as out of range instead.
  const auto parsed = parse_duration("99999999999h");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->count(), 99'999'999'999LL * 3'600'000LL);
}

TEST(FormatDuration, UsesTheLargestExactUnit) {
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(milliseconds(1'500)), "1.5s");
  EXPECT_EQ(format_duration(milliseconds(1'250)), "1.25s");
  EXPECT_EQ(format_duration(milliseconds(1'001)), "1.001s");
  EXPECT_EQ(format_duration(milliseconds(5'000)), "5s");
  EXPECT_EQ(format_duration(milliseconds(90'000)), "90s");
  EXPECT_EQ(format_duration(milliseconds(120'000)), "2m");
  EXPECT_EQ(format_duration(milliseconds(3'600'000)), "1h");
  EXPECT_EQ(format_duration(milliseconds(86'400'000)), "24h");
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(-1'500)), "-1.5s");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  int checked = 0;
  for (std::int64_t ms = 1; ms < 10'000'000; ms = ms * 3 + 7) {
    const std::string text = format_duration(milliseconds(ms));
    const auto parsed = parse_duration(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(parsed->count(), ms) << text;
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

TEST(ParseSize, AcceptsBinaryDecimalAndPlainBytes) {
  const std::vector<std::pair<std::string, std::uint64_t>> cases = {
      {"64KiB", 65'536},         {"1MiB", 1'048'576},          {"1GiB", 1'073'741'824},
      {"1TiB", 1ULL << 40},      {"1KB", 1'000},               {"1kB", 1'000},
      {"1MB", 1'000'000},        {"2GB", 2'000'000'000},       {"1TB", 1'000'000'000'000},
      {"1024", 1'024},           {"10B", 10},                  {"1.5KiB", 1'536},
      {"0.5MiB", 524'288},       {"0", 0},                     {"18446744073709551615", UINT64_MAX},
      {"16777215TiB", 16'777'215ULL << 40},
  };
  for (const auto& [text, expected] : cases) {
    std::string error;
    const auto parsed = parse_size(text, &error);
    ASSERT_TRUE(parsed.has_value()) << text << ": " << error;
    EXPECT_EQ(*parsed, expected) << text;
  }
}

TEST(ParseSize, RejectsMalformedInputWithAReason) {
  const std::string units =
      "(use B, KiB, MiB, GiB, TiB for powers of 1024 or KB, MB, GB, TB for powers of 1000)";
  const std::string not_a_number = "expected a number optionally followed by a unit, e.g. \"64KiB\" or \"1MiB\"";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty size (write e.g. \"64KiB\")"},
      {"1K", "unknown unit 'K' " + units},
      {"1kib", "unknown unit 'kib' " + units},
      {"1 MiB", "unknown unit ' MiB' " + units},
      {"-1", "a size cannot be negative"},
      {"KiB", not_a_number},
      {"1.1B", "not a whole number of bytes"},
      {"0.1KiB", "not a whole number of bytes"},
      {"99999999999999999999", "size is too large"},  // overflows the number itself
      {"16777216TiB", "size is too large"},           // exactly 2^64
      {"17179869184GiB", "size is too large"},
  };
  for (const auto& [text, reason] : cases) {
    std::string error;
    EXPECT_FALSE(parse_size(text, &error).has_value()) << '"' << text << '"';
    EXPECT_EQ(error, reason) << '"' << text << '"';
  }
}

}  // namespace
}  // namespace wsheart::config
