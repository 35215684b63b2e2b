// The loader's part for resume keys: reading `cursor` and `cursor_if`, and
// checking `{cursor.NAME}` placeholders in url, headers and on_open, with
// every problem reported at the exact TOML position.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "config.hpp"
#include "cursor.hpp"

namespace wsheart::config {

using ReportError = std::function<void(toml::source_position at, std::string message)>;

// `cursor = { NAME = "json:/pointer" | "regex:..." }`. Errors at the name
// (bad name) or the value (bad spec).
std::optional<std::vector<CursorRule>> read_cursor_rules(std::string_view key, const toml::node& value,
                                                         const ReportError& error);
// `cursor_if = "json:/pointer=value"`.
std::optional<CursorCondition> read_cursor_condition(std::string_view key, const toml::node& value,
                                                     const ReportError& error);
// Placeholder syntax of one template string; false after reporting at `value`.
bool check_placeholders(std::string_view label, const toml::node& value, TemplateContext context,
                        const ReportError& error);

// After a [[user]] is merged: every `{cursor.NAME}` in its url, headers and
// on_open names one of its cursors. Each template is checked in the table
// that wrote it (the user's, else [defaults]).
void check_cursor_references(const UserConfig& user, const toml::table& user_table,
                             const toml::table* defaults_table, const ReportError& error);

}  // namespace wsheart::config
