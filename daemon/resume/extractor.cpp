#include "resume/extractor.hpp"

#include <nlohmann/json.hpp>

namespace wsheart::resume {
namespace {

// A string as is; a number or boolean as JSON writes it; anything else
// (object, array, null, missing) is no value.
std::optional<std::string> scalar_at(const nlohmann::json& document, const std::string& pointer) {
  try {
    const nlohmann::json::json_pointer at(pointer);
    if (!document.contains(at)) return std::nullopt;
    const nlohmann::json& value = document.at(at);
    if (value.is_string()) return value.get<std::string>();
    if (value.is_number() || value.is_boolean()) return value.dump();
  } catch (const nlohmann::json::exception&) {
    // e.g. "/a/-" or a non-numeric index into an array: no value.
  }
  return std::nullopt;
}

// Values go back into URLs, header lines and frames and into the state file:
// non-empty, bounded, and without control characters (CR/LF in a header
// value would inject header lines).
bool usable(const std::string& value) {
  if (value.empty() || value.size() > Extractor::kLongestValue) return false;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return false;
  }
  return true;
}

}  // namespace

Extractor::Extractor(const std::vector<config::CursorRule>& rules,
                     const std::optional<config::CursorCondition>& condition)
    : condition_(condition) {
  for (const auto& rule : rules) {
    Rule compiled{rule.name, rule.source, {}, std::nullopt};
    if (rule.source == config::CursorSource::Json) {
      compiled.pointer = rule.expression;
      needs_json_ = true;
    } else {
      try {
        compiled.regex.emplace(rule.expression, std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error&) {
        continue;
      }
      if (compiled.regex->mark_count() != 1) continue;
    }
    rules_.push_back(std::move(compiled));
  }
  if (condition_) needs_json_ = true;
}

CursorUpdate Extractor::extract(std::string_view text) const {
  CursorUpdate update;
  if (rules_.empty()) return update;
  nlohmann::json document;
  if (needs_json_) {
    document = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) {
      if (condition_) return update;  // not JSON: cannot satisfy cursor_if
    } else if (condition_) {
      const auto value = scalar_at(document, condition_->pointer);
      if (!value || *value != condition_->value) return update;
    }
  }
  for (const Rule& rule : rules_) {
    if (rule.source == config::CursorSource::Json) {
      if (document.is_discarded()) continue;
      if (auto value = scalar_at(document, rule.pointer); value && usable(*value)) {
        update.emplace_back(rule.name, std::move(*value));
      }
      continue;
    }
    const std::string_view prefix = text.substr(0, kRegexPrefix);
    std::match_results<std::string_view::const_iterator> match;
    try {
      if (std::regex_search(prefix.begin(), prefix.end(), match, *rule.regex) && match[1].matched &&
          usable(match[1].str())) {
        update.emplace_back(rule.name, match[1].str());
      }
    } catch (const std::regex_error&) {
      // error_complexity / error_stack: treated as no match.
    }
  }
  return update;
}

}  // namespace wsheart::resume
