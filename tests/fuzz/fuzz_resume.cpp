// The resume renderer and extractors (daemon/resume): placeholder scanning
// and rendering into url, header values and on_open frames, and cursor
// extraction by JSON pointer and regex from arbitrary messages.
//
// Input: "TEMPLATE\nVALUE\nMESSAGE". Invariants:
//   - a url template that is valid with stand-ins renders to a valid URL for
//     any non-empty value (values are percent-encoded);
//   - {cursor.v|json} renders a JSON string that parses back to the value
//     (valid UTF-8 values), or null when unset;
//   - a rendered header value has no CR or LF when the value has none;
//   - extracted values are non-empty, at most kLongestValue bytes and free of
//     control characters, whatever the message;
//   - a JSON pointer the config accepts never makes the extractor throw.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cursor.hpp"
#include "fuzz_check.hpp"
#include "resume/extractor.hpp"
#include "resume/render.hpp"
#include "url.hpp"

using namespace wsheart;

namespace {

std::string_view take_line(std::string_view& rest) {
  const std::size_t nl = rest.find('\n');
  const std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

bool valid_utf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view templ = take_line(rest);
  const std::string_view value = take_line(rest);
  const std::string_view message = rest;

  const std::string v = value.empty() ? std::string("x") : std::string(value);
  resume::CursorValues values;
  for (const auto& name : {"id", "v", "offset"}) values[name] = v;

  // url
  if (config::parse_ws_url(config::url_with_stand_ins(templ))) {
    std::string why;
    const auto placeholders = config::scan_placeholders(templ, config::TemplateContext::Url, &why);
    if (placeholders) {
      const std::string rendered = resume::render_url(templ, values);
      FUZZ_CHECK(config::parse_ws_url(rendered).has_value(), "template %.*s rendered %s", static_cast<int>(templ.size()),
                 templ.data(), rendered.c_str());
      (void)resume::render_url(templ, {});
    }
  }
  // header
  const std::string header = resume::render_header(templ, values);
  if (templ.find_first_of("\r\n") == std::string_view::npos && v.find_first_of("\r\n") == std::string::npos) {
    FUZZ_CHECK(header.find_first_of("\r\n") == std::string::npos, "header %s", header.c_str());
  }
  // frame
  (void)resume::render_frame(templ, values);
  const std::string json_frame = resume::render_frame("{cursor.v|json}", values);
  const auto parsed = nlohmann::json::parse(json_frame, nullptr, false);
  FUZZ_CHECK(parsed.is_string(), "json frame %s", json_frame.c_str());
  if (valid_utf8(v)) FUZZ_CHECK(parsed.get<std::string>() == v, "json frame %s", json_frame.c_str());
  FUZZ_CHECK(resume::render_frame("{cursor.none|json}", values) == "null", "unset is null");

  // extraction: the template line doubles as a JSON pointer when the config would accept it
  std::vector<config::CursorRule> rules{{"id", config::CursorSource::Json, "/id"},
                                        {"n", config::CursorSource::Regex, "n=(\\w+)"},
                                        {"last", config::CursorSource::Regex, "(?:a|b)*(a)"}};
  std::optional<config::CursorCondition> condition;
  if (config::is_json_pointer(templ)) {
    rules.push_back({"p", config::CursorSource::Json, std::string(templ)});
    condition = config::CursorCondition{std::string(templ), v};
  }
  for (const auto& cond : {std::optional<config::CursorCondition>(), condition}) {
    const resume::Extractor extractor(rules, cond);
    for (const auto& [name, got] : extractor.extract(message)) {
      FUZZ_CHECK(!got.empty() && got.size() <= resume::Extractor::kLongestValue, "value size %zu", got.size());
      for (const char c : got) {
        const auto byte = static_cast<unsigned char>(c);
        FUZZ_CHECK(byte >= 0x20 && byte != 0x7f, "control character in %s", name.c_str());
      }
    }
  }
  return 0;
}
