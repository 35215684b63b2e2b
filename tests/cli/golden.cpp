// GCC 12 reports a false -Wmaybe-uninitialized inside libstdc++'s <regex>
// (std::function in _StateT) at -O2 with -fsanitize=address,undefined. The
// pragma must precede every include so it covers those headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "golden.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

namespace wsheart::cli::test {

namespace {

// Replaces every digit of each match of `pattern` with `digit`, keeping widths.
std::string mask_digits(const std::string& text, const std::regex& pattern, char digit) {
  std::string out;
  auto last = text.cbegin();
  for (std::sregex_iterator it(text.begin(), text.end(), pattern), end; it != end; ++it) {
    out.append(last, (*it)[0].first);
    std::string m = it->str();
    for (char& c : m) {
      if (c >= '0' && c <= '9') c = digit;
    }
    out += m;
    last = (*it)[0].second;
  }
  out.append(last, text.cend());
  return out;
}

bool regenerating() {
  const char* v = std::getenv("WSHEART_REGENERATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

std::string golden_path(const std::string& name) { return std::string(WSHEART_CLI_GOLDEN_DIR) + "/" + name + ".expected"; }

}  // namespace

std::string normalise(const std::string& input, const NormaliseOptions& options) {
  std::string text = input;
  for (const auto& [from, to] : options.literal) {
    for (std::size_t pos = 0; !from.empty() && (pos = text.find(from, pos)) != std::string::npos;) {
      text.replace(pos, from.size(), to);
      pos += to.size();
    }
  }
  // JSON µs fields (non-zero: 0 means "never"/"not measured" and is kept).
  static const std::regex usec_json(R"re("(since_usec|time_usec|last_message_usec|rtt_usec)":[1-9][0-9]*)re");
  text = std::regex_replace(text, usec_json, "\"$1\":USEC");
  // Dates and clock times.
  static const std::regex date(R"(\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b)");
  text = std::regex_replace(text, date, "YYYY-MM-DD");
  static const std::regex clock(R"(\b[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\b)");
  text = std::regex_replace(text, clock, "HH:MM:SS.mmm");
  // Ports on loopback.
  static const std::regex port(R"(127\.0\.0\.1:[0-9]+)");
  if (options.ports) text = std::regex_replace(text, port, "127.0.0.1:PORT");
  // RTTs ("850us", "1.2ms") and ages ("42s", "5m 2s", "2h 10m", "3d 4h").
  static const std::regex rtt(R"(\b[0-9]+(\.[0-9])?(us|ms)\b)");
  static const std::regex age(R"(\b[0-9]+[smhd]( [0-9]+[smh])?\b)");
  if (options.opaque_values) {
    text = std::regex_replace(text, rtt, "RTT");
    text = std::regex_replace(text, age, "AGE");
    static const std::regex seq(R"(#[0-9]+\b)");
    text = std::regex_replace(text, seq, "#SEQ");
  } else {
    text = mask_digits(text, rtt, 'N');
    text = mask_digits(text, age, 'N');
  }
  if (options.collapse_blanks) {
    static const std::regex blanks(" +");
    text = std::regex_replace(text, blanks, " ");
  }
  return text;
}

std::string golden_document(const std::string& command, const wsheart::test::CommandResult& result,
                            const NormaliseOptions& options) {
  std::ostringstream doc;
  doc << "$ " << command << "\n"
      << "exit " << result.exit_code << "\n"
      << "--- stdout\n"
      << normalise(result.out, options) << "--- stderr\n"
      << normalise(result.err, options);
  return doc.str();
}

void expect_golden(const std::string& name, const std::string& command, const wsheart::test::CommandResult& result,
                   const NormaliseOptions& options) {
  const std::string actual = golden_document(command, result, options);
  const std::string path = golden_path(name);
  if (regenerating()) {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "missing golden file " << path
                  << " (run with WSHEART_REGENERATE_GOLDEN=1 and review it). Actual:\n" << actual;
    return;
  }
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(expected.str(), actual) << "golden file " << path
                                    << " differs (WSHEART_REGENERATE_GOLDEN=1 rewrites it)";
}

}  // namespace wsheart::cli::test
