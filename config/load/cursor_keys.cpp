#include "cursor_keys.hpp"

#include <algorithm>

namespace wsheart::config {
namespace {

std::string names_of(const std::vector<CursorRule>& rules) {
  std::string out;
  for (const auto& rule : rules) out += (out.empty() ? "" : ", ") + rule.name;
  return out;
}

// Unknown names in one template string (its syntax was checked when read).
void check_names(std::string_view label, const toml::node& node, TemplateContext context, const UserConfig& user,
                 const ReportError& error) {
  const auto* text = node.as_string();
  if (text == nullptr) return;
  const auto placeholders = scan_placeholders(text->get(), context);
  if (!placeholders) return;
  for (const auto& p : *placeholders) {
    const bool known = std::any_of(user.cursors.begin(), user.cursors.end(),
                                   [&](const CursorRule& rule) { return rule.name == p.name; });
    if (known) continue;
    error(node.source().begin,
          std::string(label) + ": {cursor." + p.name + "} names no cursor of user '" + user.id + "' (" +
              (user.cursors.empty() ? std::string("it has none; set cursor = { ") + p.name + " = \"json:/id\" }"
                                    : "it has " + names_of(user.cursors)) +
              ")");
    return;
  }
}

}  // namespace

std::optional<std::vector<CursorRule>> read_cursor_rules(std::string_view key, const toml::node& value,
                                                         const ReportError& error) {
  const auto* table = value.as_table();
  if (table == nullptr) {
    error(value.source().begin, std::string(key) + ": expected a table such as { id = \"json:/id\" }, got " +
                                    (value.is_string() ? "string" : "another type"));
    return std::nullopt;
  }
  // toml::table iterates by name; keep (and report in) file order.
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [name, spec] : *table) entries.emplace_back(&name, &spec);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto pa = a.first->source().begin;
    const auto pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  bool valid = true;
  std::vector<CursorRule> rules;
  for (const auto& [name, spec] : entries) {
    const std::string label = std::string(key) + "." + std::string(name->str());
    if (!is_cursor_name(name->str())) {
      error(name->source().begin, std::string(key) + ": '" + std::string(name->str()) +
                                      "' is not a cursor name (1 to 64 letters, digits or '_')");
      valid = false;
      continue;
    }
    const auto* text = spec->as_string();
    if (text == nullptr) {
      error(spec->source().begin, label + ": expected a string such as \"json:/id\"");
      valid = false;
      continue;
    }
    std::string why;
    auto rule = parse_cursor_rule(name->str(), text->get(), &why);
    if (!rule) {
      error(spec->source().begin, label + ": " + why);
      valid = false;
      continue;
    }
    rules.push_back(std::move(*rule));
  }
  if (rules.size() > kMostCursors) {
    error(value.source().begin, std::string(key) + ": at most " + std::to_string(kMostCursors) + " cursors");
    return std::nullopt;
  }
  if (!valid) return std::nullopt;
  return rules;
}

std::optional<CursorCondition> read_cursor_condition(std::string_view key, const toml::node& value,
                                                     const ReportError& error) {
  const auto* text = value.as_string();
  if (text == nullptr) {
    error(value.source().begin, std::string(key) + ": expected a string such as \"json:/event=message\"");
    return std::nullopt;
  }
  std::string why;
  auto condition = parse_cursor_condition(text->get(), &why);
  if (!condition) error(value.source().begin, std::string(key) + ": " + why);
  return condition;
}

bool check_placeholders(std::string_view label, const toml::node& value, TemplateContext context,
                        const ReportError& error) {
  const auto* text = value.as_string();
  if (text == nullptr) return true;  // the type error is reported by the reader
  std::string why;
  if (scan_placeholders(text->get(), context, &why)) return true;
  error(value.source().begin, std::string(label) + ": " + why);
  return false;
}

void check_cursor_references(const UserConfig& user, const toml::table& user_table,
                             const toml::table* defaults_table, const ReportError& error) {
  const auto written = [&](std::string_view key) -> const toml::node* {
    if (const toml::node* node = user_table.get(key)) return node;
    return defaults_table != nullptr ? defaults_table->get(key) : nullptr;
  };
  if (const toml::node* url = written("url")) check_names("url", *url, TemplateContext::Url, user, error);
  if (const toml::node* headers = written("headers"); headers != nullptr && headers->is_table()) {
    for (auto&& [name, value] : *headers->as_table()) {
      check_names("headers." + std::string(name.str()), value, TemplateContext::Header, user, error);
    }
  }
  if (const toml::node* frames = written("on_open"); frames != nullptr && frames->is_array()) {
    const auto& array = *frames->as_array();
    for (std::size_t i = 0; i < array.size(); ++i) {
      check_names("on_open[" + std::to_string(i) + "]", array[i], TemplateContext::Frame, user, error);
    }
  }
}

}  // namespace wsheart::config
