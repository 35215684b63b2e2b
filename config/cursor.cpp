#include "cursor.hpp"

#include <algorithm>
#include <regex>

namespace wsheart::config {
namespace {

constexpr std::string_view kJsonPrefix = "json:";
constexpr std::string_view kRegexPrefix = "regex:";
constexpr std::string_view kOpen = "{cursor.";
constexpr std::string_view kJsonFilter = "|json";

void set_error(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.substr(0, prefix.size()) == prefix;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

bool is_cursor_name(std::string_view name) {
  return !name.empty() && name.size() <= kLongestCursorName && std::all_of(name.begin(), name.end(), is_name_char);
}

bool is_json_pointer(std::string_view pointer, std::string* error) {
  if (pointer.empty()) return true;
  if (pointer.front() != '/') {
    set_error(error, "a JSON pointer starts with '/' (RFC 6901), e.g. \"json:/id\"");
    return false;
  }
  for (std::size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] != '~') continue;
    if (i + 1 >= pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1')) {
      set_error(error, "'~' in a JSON pointer must be written ~0 ('~') or ~1 ('/')");
      return false;
    }
  }
  return true;
}

std::optional<CursorRule> parse_cursor_rule(std::string_view name, std::string_view spec, std::string* error) {
  if (!is_cursor_name(name)) {
    set_error(error, "cursor names are 1 to 64 letters, digits or '_'");
    return std::nullopt;
  }
  CursorRule rule;
  rule.name = std::string(name);
  if (starts_with(spec, kJsonPrefix)) {
    rule.source = CursorSource::Json;
    rule.expression = std::string(spec.substr(kJsonPrefix.size()));
    if (!is_json_pointer(rule.expression, error)) return std::nullopt;
  } else if (starts_with(spec, kRegexPrefix)) {
    rule.source = CursorSource::Regex;
    rule.expression = std::string(spec.substr(kRegexPrefix.size()));
    try {
      const std::regex compiled(rule.expression, std::regex::ECMAScript);
      if (compiled.mark_count() != 1) {
        set_error(error, "the regex must have exactly one capture group, it has " +
                             std::to_string(compiled.mark_count()) + " (use (?:...) for grouping)");
        return std::nullopt;
      }
    } catch (const std::regex_error& failure) {
      set_error(error, std::string("the regex does not compile: ") + failure.what());
      return std::nullopt;
    }
  } else {
    set_error(error, "expected \"json:/pointer\" or \"regex:<pattern with one group>\"");
    return std::nullopt;
  }
  if (rule.expression.size() > kLongestCursorExpression) {
    set_error(error, "longer than " + std::to_string(kLongestCursorExpression) + " characters");
    return std::nullopt;
  }
  return rule;
}

std::optional<CursorCondition> parse_cursor_condition(std::string_view spec, std::string* error) {
  if (!starts_with(spec, kJsonPrefix)) {
    set_error(error, "expected \"json:/pointer=value\", e.g. \"json:/event=message\"");
    return std::nullopt;
  }
  const std::string_view rest = spec.substr(kJsonPrefix.size());
  const std::size_t equals = rest.find('=');
  if (equals == std::string_view::npos) {
    set_error(error, "expected \"json:/pointer=value\" (no '=')");
    return std::nullopt;
  }
  CursorCondition condition{std::string(rest.substr(0, equals)), std::string(rest.substr(equals + 1))};
  if (!is_json_pointer(condition.pointer, error)) return std::nullopt;
  if (condition.pointer.size() + condition.value.size() > kLongestCursorExpression) {
    set_error(error, "longer than " + std::to_string(kLongestCursorExpression) + " characters");
    return std::nullopt;
  }
  return condition;
}

std::optional<std::vector<Placeholder>> scan_placeholders(std::string_view text, TemplateContext context,
                                                          std::string* error) {
  std::vector<Placeholder> found;
  std::size_t at = 0;
  while ((at = text.find(kOpen, at)) != std::string_view::npos) {
    const std::size_t name_begin = at + kOpen.size();
    std::size_t name_end = name_begin;
    while (name_end < text.size() && is_name_char(text[name_end])) ++name_end;
    Placeholder placeholder;
    placeholder.begin = at;
    placeholder.name = std::string(text.substr(name_begin, name_end - name_begin));
    std::size_t close = name_end;
    if (text.substr(close, kJsonFilter.size()) == kJsonFilter) {
      placeholder.filter = PlaceholderFilter::Json;
      close += kJsonFilter.size();
    }
    if (close >= text.size() || text[close] != '}' || !is_cursor_name(placeholder.name)) {
      set_error(error, "malformed placeholder at offset " + std::to_string(at) +
                           " (expected {cursor.NAME} or, in on_open, {cursor.NAME|json})");
      return std::nullopt;
    }
    if (placeholder.filter == PlaceholderFilter::Json && context != TemplateContext::Frame) {
      set_error(error, "{cursor." + placeholder.name + "|json} is for on_open frames; write {cursor." +
                           placeholder.name + "}");
      return std::nullopt;
    }
    // A rendered value is percent-encoded, so a '%' just before the
    // placeholder would take the value's first bytes as its hex digits.
    const bool cut_escape = (at >= 1 && text[at - 1] == '%') || (at >= 2 && text[at - 2] == '%');
    if (context == TemplateContext::Url && cut_escape) {
      set_error(error, "the '%' before {cursor." + placeholder.name +
                           "} does not start a %XX escape (write a literal '%' as %25)");
      return std::nullopt;
    }
    placeholder.end = close + 1;
    at = placeholder.end;
    found.push_back(std::move(placeholder));
  }
  return found;
}

std::string url_with_stand_ins(std::string_view url_template) {
  const auto placeholders = scan_placeholders(url_template, TemplateContext::Url);
  if (!placeholders) return std::string(url_template);
  std::string out;
  std::size_t copied = 0;
  for (const Placeholder& p : *placeholders) {
    out.append(url_template.substr(copied, p.begin - copied));
    out += "cursor";
    copied = p.end;
  }
  out.append(url_template.substr(copied));
  return out;
}

}  // namespace wsheart::config
