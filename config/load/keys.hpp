// The key table: every key a [defaults] or [[user]] table may hold, and how
// it is read into a UserConfig.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "config.hpp"
#include "loader.hpp"

namespace wsheart::config {

struct UserKeyRule {
  std::string_view name;
  // Reports its own errors; true when the value was valid and stored.
  bool (*apply)(Loader& loader, std::string_view key, const toml::node& value, UserConfig& config);
};

// nullptr for a key no [defaults]/[[user]] table holds ("id" is read apart).
const UserKeyRule* find_user_key(std::string_view name);
std::vector<std::string_view> known_keys(Section section);
// The closest known key, if it is close enough to be a plausible typo.
std::optional<std::string_view> closest_key(std::string_view unknown, Section section);
std::string_view section_label(Section section);  // "in [daemon]" ...

}  // namespace wsheart::config
