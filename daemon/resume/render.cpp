#include "resume/render.hpp"

#include <nlohmann/json.hpp>

#include "cursor.hpp"
#include "url.hpp"

namespace wsheart::resume {
namespace {

using config::Placeholder;
using config::PlaceholderFilter;
using config::TemplateContext;

const std::string* lookup(const CursorValues& values, const std::string& name) {
  const auto it = values.find(name);
  return it == values.end() ? nullptr : &it->second;
}

std::string json_string_or_null(const std::string* value) {
  if (value == nullptr) return "null";
  return nlohmann::json(*value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

template <typename Write>
std::string substitute(std::string_view text, TemplateContext context, const CursorValues& values, Write write) {
  const auto placeholders = config::scan_placeholders(text, context);
  if (!placeholders || placeholders->empty()) return std::string(text);
  std::string out;
  std::size_t copied = 0;
  for (const Placeholder& p : *placeholders) {
    out.append(text.substr(copied, p.begin - copied));
    write(out, p, lookup(values, p.name));
    copied = p.end;
  }
  out.append(text.substr(copied));
  return out;
}

std::string render_url_part(std::string_view part, const CursorValues& values) {
  return substitute(part, TemplateContext::Url, values, [](std::string& out, const Placeholder&, const std::string* v) {
    if (v != nullptr) out += config::percent_encode(*v);
  });
}

// "name={cursor.x}" with x unset.
bool is_unset_parameter(std::string_view parameter, const CursorValues& values) {
  const std::size_t equals = parameter.find('=');
  if (equals == std::string_view::npos) return false;
  const std::string_view value = parameter.substr(equals + 1);
  const auto placeholders = config::scan_placeholders(value, TemplateContext::Url);
  return placeholders && placeholders->size() == 1 && placeholders->front().begin == 0 &&
         placeholders->front().end == value.size() && lookup(values, placeholders->front().name) == nullptr;
}

}  // namespace

bool has_placeholder(std::string_view text) { return text.find("{cursor.") != std::string_view::npos; }

std::string render_url(std::string_view url_template, const CursorValues& values) {
  if (!has_placeholder(url_template)) return std::string(url_template);
  const std::size_t question = url_template.find('?');
  std::string out = render_url_part(url_template.substr(0, question), values);
  if (question == std::string_view::npos) return out;
  std::string query;
  std::string_view rest = url_template.substr(question + 1);
  while (true) {
    const std::size_t amp = rest.find('&');
    const std::string_view parameter = rest.substr(0, amp);
    if (!is_unset_parameter(parameter, values)) {
      if (!query.empty()) query += '&';
      query += render_url_part(parameter, values);
    }
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  if (!query.empty()) out += '?' + query;
  return out;
}

std::string render_header(std::string_view value_template, const CursorValues& values) {
  return substitute(value_template, TemplateContext::Header, values,
                    [](std::string& out, const Placeholder&, const std::string* v) {
                      if (v != nullptr) out += *v;
                    });
}

std::string render_frame(std::string_view frame_template, const CursorValues& values) {
  if (!has_placeholder(frame_template)) return std::string(frame_template);
  return substitute(frame_template, TemplateContext::Frame, values,
                    [](std::string& out, const Placeholder& p, const std::string* v) {
                      if (p.filter == PlaceholderFilter::Json) {
                        out += json_string_or_null(v);
                      } else if (v != nullptr) {
                        out += *v;
                      }
                    });
}

}  // namespace wsheart::resume
