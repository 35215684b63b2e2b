#include "notify/content.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace wsheart::cli::notify {

namespace {

constexpr std::size_t kMaxSummaryBytes = 200;
constexpr std::size_t kMaxBodyBytes = 2000;

// A string as it is, any other JSON value as compact JSON.
std::string as_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<nlohmann::json> lookup(const nlohmann::json& doc, const std::string& pointer) {
  if (pointer.empty()) return std::nullopt;
  try {
    const nlohmann::json::json_pointer ptr(pointer);
    if (!doc.contains(ptr)) return std::nullopt;
    return doc.at(ptr);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // malformed pointer, or an array index that is not a number
  }
}

std::optional<std::int64_t> as_priority(const nlohmann::json& value) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_unsigned()) return static_cast<std::int64_t>(std::min<std::uint64_t>(value.get<std::uint64_t>(), 100));
  if (value.is_number_float()) return static_cast<std::int64_t>(std::clamp(value.get<double>(), -1.0, 100.0));
  if (value.is_string()) {
    const std::string s = value.get<std::string>();
    if (s.empty() || s.size() > 4 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    return std::stoll(s);
  }
  return std::nullopt;
}

}  // namespace

Urgency urgency_for_priority(std::int64_t priority) {
  if (priority <= 3) return Urgency::Low;
  if (priority <= 7) return Urgency::Normal;
  return Urgency::Critical;
}

std::string shorten(const std::string& text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t cut = max_bytes;
  // Do not split a UTF-8 sequence: back up over continuation bytes.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "…";
}

Content message_content(const std::string& user, const std::string& text, const ContentPointers& pointers) {
  Content content{user, text, Urgency::Normal};
  const bool wants_json = !pointers.summary.empty() || !pointers.body.empty() || !pointers.priority.empty();
  if (wants_json) {
    const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_object() || doc.is_array()) {
      if (auto v = lookup(doc, pointers.summary)) content.summary = as_text(*v);
      if (auto v = lookup(doc, pointers.body)) content.body = as_text(*v);
      if (auto v = lookup(doc, pointers.priority)) {
        if (auto p = as_priority(*v)) content.urgency = urgency_for_priority(*p);
      }
    }
  }
  content.summary = shorten(content.summary, kMaxSummaryBytes);
  content.body = shorten(content.body, kMaxBodyBytes);
  return content;
}

std::string escape_markup(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&apos;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace wsheart::cli::notify
