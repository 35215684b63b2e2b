// Pulls a user's cursor values out of an inbound text message, as its
// `cursor` rules and `cursor_if` condition say. Pure; one per user.
#pragma once

#include <cstddef>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cursor.hpp"

namespace wsheart::resume {

// (name, value) pairs, in the order of the rules.
using CursorUpdate = std::vector<std::pair<std::string, std::string>>;

class Extractor {
 public:
  // libstdc++'s std::regex recurses once per character or so: on a long
  // message it can overflow the stack. Regexes see only this many bytes.
  static constexpr std::size_t kRegexPrefix = 4096;
  // Longer values, empty ones and ones with control characters are ignored.
  static constexpr std::size_t kLongestValue = 1024;

  // The rules were validated by the config loader; one that still does not
  // compile is left out rather than thrown.
  Extractor(const std::vector<config::CursorRule>& rules, const std::optional<config::CursorCondition>& condition);

  bool empty() const { return rules_.empty(); }
  // The values this message carries; empty when it is not JSON where JSON is
  // needed, fails `cursor_if`, or matches no rule.
  CursorUpdate extract(std::string_view text) const;

 private:
  struct Rule {
    std::string name;
    config::CursorSource source;
    std::string pointer;            // json
    std::optional<std::regex> regex;  // regex
  };
  std::vector<Rule> rules_;
  std::optional<config::CursorCondition> condition_;
  bool needs_json_ = false;
};

}  // namespace wsheart::resume
