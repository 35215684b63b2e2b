// Resume cursors in the config: the `cursor` rules that pull named values out
// of inbound messages, the `cursor_if` condition, and the `{cursor.NAME}`
// placeholders that put them back into the url, headers and on_open frames.
// Pure syntax and validation; extraction and rendering live in daemon/resume/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsheart::config {

enum class CursorSource : std::uint8_t { Json, Regex };

// One `NAME = "json:/pointer"` or `NAME = "regex:<one group>"`.
struct CursorRule {
  std::string name;
  CursorSource source = CursorSource::Json;
  std::string expression;  // the RFC 6901 pointer, or the ECMAScript regex
  bool operator==(const CursorRule& other) const {
    return name == other.name && source == other.source && expression == other.expression;
  }
};

// `cursor_if = "json:/pointer=value"`: only messages whose value at the
// pointer equals `value` (a string as is, a number or boolean as written in
// JSON) advance cursors.
struct CursorCondition {
  std::string pointer;
  std::string value;
  bool operator==(const CursorCondition& other) const {
    return pointer == other.pointer && value == other.value;
  }
};

inline constexpr std::size_t kMostCursors = 16;
inline constexpr std::size_t kLongestCursorName = 64;
inline constexpr std::size_t kLongestCursorExpression = 1024;

// [A-Za-z0-9_]{1,64}: names appear inside `{cursor.NAME}`.
bool is_cursor_name(std::string_view name);
// RFC 6901: "" (the whole document) or "/" segments; '~' only as ~0 or ~1.
bool is_json_pointer(std::string_view pointer, std::string* error = nullptr);
// nullopt with `error` set: unknown prefix, malformed pointer, regex that
// does not compile or does not have exactly one capture group.
std::optional<CursorRule> parse_cursor_rule(std::string_view name, std::string_view spec,
                                            std::string* error = nullptr);
std::optional<CursorCondition> parse_cursor_condition(std::string_view spec, std::string* error = nullptr);

// Where a template is used decides how a value is written into it.
enum class TemplateContext : std::uint8_t { Url, Header, Frame };
enum class PlaceholderFilter : std::uint8_t { Raw, Json };  // `|json`: Frame only

struct Placeholder {
  std::size_t begin = 0;  // offset of '{'
  std::size_t end = 0;    // one past '}'
  std::string name;
  PlaceholderFilter filter = PlaceholderFilter::Raw;
};

// Every `{cursor.NAME}` / `{cursor.NAME|json}` in `text`, in order. nullopt
// with `error` set when a `{cursor.` is malformed or `|json` is used outside
// a frame. Text without `{cursor.` has none (other braces are left alone).
std::optional<std::vector<Placeholder>> scan_placeholders(std::string_view text, TemplateContext context,
                                                          std::string* error = nullptr);

// The url template with every placeholder replaced by a stand-in value, to
// check that what it renders to is a valid URL.
std::string url_with_stand_ins(std::string_view url_template);

}  // namespace wsheart::config
