// The structure of a config file: sections, [[user]] tables, cross-key
// checks, file-level warnings; values are read by readers.cpp.
#include "loader.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "diagnostic_text.hpp"
#include "encoding.hpp"
#include "keys.hpp"
#include "limits.hpp"
#include "proxy.hpp"
#include "units.hpp"
#include "url.hpp"

static_assert(TOML_EXCEPTIONS, "the loader catches toml::parse_error");

namespace wsheart::config {

std::string substitute_id(std::string_view url_template, std::string_view id) {
  return replace_all(std::string(url_template), "{id}", percent_encode(id));
}

namespace {

// toml++ quotes what it saw ("expected 'true', saw 'to'"): on a line such as
// `Authorization = Bearer abc` that is the start of a secret. Only a single
// character (or its escape, '\n') is kept.
std::string parser_message(std::string_view description) {
  std::string out(description);
  constexpr std::string_view kSaw = "saw '";
  std::size_t at = 0;
  while ((at = out.find(kSaw, at)) != std::string::npos) {
    const std::size_t begin = at + kSaw.size();
    const std::size_t end = out.find('\'', begin);
    if (end == std::string::npos) break;
    const std::size_t length = end - begin;
    const bool one_character = length == 1 || (length == 2 && out[begin] == '\\');
    if (!one_character) {
      out.replace(at, end + 1 - at, "saw unexpected text");
      at += std::string_view("saw unexpected text").size();
    } else {
      at = end + 1;
    }
  }
  return out;
}

}  // namespace

void Loader::unknown_key(const toml::key& key, Section section) {
  const std::string_view name = key.str();
  const Position at = key.source().begin;
  const bool is_user_key = find_user_key(name) != nullptr;
  if (section != Section::Daemon && (name == "max_handshakes" || name == "on_sleep" || name == "network_watch" ||
                                   name == "bus_queue_size" || name == "metrics_file" ||
                                   name == "metrics_interval")) {
    error(at, "'" + std::string(name) + "' belongs in [daemon]");
  } else if (section == Section::Defaults && name == "id") {
    error(at, "'id' belongs in each [[user]], not in [defaults]");
  } else if (section == Section::Root && (is_user_key || name == "id")) {
    error(at, "'" + std::string(name) + "' must be inside [defaults] or a [[user]] table");
  } else if (section == Section::Daemon && (is_user_key || name == "id")) {
    error(at, "'" + std::string(name) + "' belongs in [defaults] or [[user]], not in [daemon]");
  } else {
    std::string message = "unknown key '" + printable(name) + "' " + std::string(section_label(section));
    if (const auto suggestion = closest_key(name, section)) {
      message += "; did you mean '" + std::string(*suggestion) + "'?";
    }
    error(at, std::move(message));
  }
}

void Loader::load_daemon(const toml::node& node, DaemonConfig& daemon) {
  const auto* table = node.as_table();
  if (table == nullptr) {
    expected("daemon", node, "a table ([daemon])");
    return;
  }
  for (auto&& [key, value] : *table) {
    if (key.str() == "max_handshakes") {
      if (const auto count = read_integer("max_handshakes", value, 1, kMostHandshakes)) {
        daemon.max_handshakes = static_cast<unsigned>(*count);
      }
    } else if (key.str() == "on_sleep") {
      if (const auto text = read_string("on_sleep", value)) {
        if (*text == "keep" || *text == "close") {
          daemon.on_sleep = *text == "keep" ? OnSleep::Keep : OnSleep::Close;
        } else {
          error(value, "on_sleep: unknown value " + quoted(*text) + " (expected \"keep\" or \"close\")");
        }
      }
    } else if (key.str() == "network_watch") {
      if (const auto text = read_string("network_watch", value)) {
        if (*text == "auto" || *text == "off") {
          daemon.network_watch = *text == "auto" ? NetworkWatch::Auto : NetworkWatch::Off;
        } else {
          error(value, "network_watch: unknown value " + quoted(*text) + " (expected \"auto\" or \"off\")");
        }
      }
    } else if (key.str() == "bus_queue_size") {
      if (const auto bytes = read_size("bus_queue_size", value)) daemon.bus_queue_size = *bytes;
    } else if (key.str() == "metrics_file") {
      if (const auto path = read_metrics_file("metrics_file", value)) daemon.metrics_file = *path;
    } else if (key.str() == "metrics_interval") {
      if (const auto interval =
              read_duration("metrics_interval", value, kShortestMetricsInterval, kLongestMetricsInterval)) {
        daemon.metrics_interval = *interval;
      }
    } else {
      unknown_key(key, Section::Daemon);
    }
  }
}

KeyPositions Loader::apply_user_keys(const toml::table& table, Section section, UserConfig& config) {
  KeyPositions keys;
  for (auto&& [key, value] : table) {
    if (section == Section::User && key.str() == "id") continue;  // read by load_users
    const UserKeyRule* rule = find_user_key(key.str());
    if (rule == nullptr) {
      unknown_key(key, section);
      continue;
    }
    keys.present.insert(rule->name);
    if (rule->apply(*this, rule->name, value, config)) keys.valid_at[rule->name] = value.source().begin;
  }
  return keys;
}

void Loader::check_reconnect_range(const UserConfig& config, const KeyPositions& here) {
  if (config.reconnect_max >= config.reconnect_initial) return;
  // Report where the table being checked wrote one of the two keys; if it wrote
  // neither, the problem was inherited and is reported where it was written.
  for (std::string_view key : {"reconnect_max", "reconnect_initial"}) {
    const auto found = here.valid_at.find(key);
    if (found == here.valid_at.end()) continue;
    error(found->second, "reconnect_max (" + format_duration(config.reconnect_max) +
                             ") is shorter than reconnect_initial (" + format_duration(config.reconnect_initial) + ")");
    return;
  }
}

// client_cert and client_key go together. Reported where the checked table
// wrote one of them; a pair broken by [defaults] alone is reported there, once.
void Loader::check_client_pair(const UserConfig& config, const KeyPositions& here, const KeyPositions& defaults) {
  if (config.client_cert.empty() == config.client_key.empty()) return;
  for (std::string_view key : {"client_cert", "client_key"}) {
    // An invalid value was reported already; the pair is not the problem.
    if (here.present.count(key) != 0 && here.valid_at.count(key) == 0) return;
  }
  const std::string_view missing = config.client_cert.empty() ? "client_cert" : "client_key";
  const std::string_view set = config.client_cert.empty() ? "client_key" : "client_cert";
  for (const KeyPositions* keys : {&here, &defaults}) {
    const auto found = keys->valid_at.find(set);
    const auto other = keys->valid_at.find(missing);
    const auto at = found != keys->valid_at.end() ? found : other;
    if (at == keys->valid_at.end()) continue;
    if (keys == &defaults && !pair_reported_.insert(std::make_pair(at->second.line, at->second.column)).second) return;
    error(at->second, std::string(set) + " is set but " + std::string(missing) + " is not (they go together)");
    return;
  }
}

// The proxy is chosen here, once, for the user's endpoint: the daemon's
// environment does not change while it runs, and an unusable proxy variable
// is then a config error with a position, never a silent direct connection.
void Loader::choose_user_proxy(UserConfig& user, const toml::table& table, const KeyPositions& here,
                               const KeyPositions& defaults) {
  for (std::string_view key : {"proxy", "no_proxy"}) {
    const bool invalid_here = here.present.count(key) != 0 && here.valid_at.count(key) == 0;
    const bool invalid_in_defaults = defaults.present.count(key) != 0 && defaults.valid_at.count(key) == 0;
    if (invalid_here || invalid_in_defaults) return;  // reported already
  }
  ProxyChoice choice = choose_proxy(user.proxy, user.no_proxy, user.endpoint, env_);
  if (choice.error.empty()) {
    user.proxy_url = std::move(choice.proxy);
    user.proxy_source = std::move(choice.source);
    return;
  }
  // Where "env" is written (once for [defaults]); if nowhere, at the [[user]].
  const auto written = here.valid_at.find("proxy");
  const auto inherited = defaults.valid_at.find("proxy");
  Position at = table.source().begin;
  if (written != here.valid_at.end()) {
    at = written->second;
  } else if (inherited != defaults.valid_at.end()) {
    at = inherited->second;
    if (!proxy_reported_.insert(std::make_pair(at.line, at.column)).second) return;
  }
  error(at, "proxy = \"env\": environment variable " + choice.error + " (user '" + user.id +
                "'; set proxy = \"none\" or proxy = \"http://HOST:PORT\" to override it)");
}

std::optional<std::string> Loader::read_id(const toml::table& table) {
  const toml::node* node = table.get("id");
  if (node == nullptr) {
    error(table.source().begin, "[[user]] has no id");
    return std::nullopt;
  }
  auto id = read_string("id", *node);
  if (!id) return std::nullopt;
  if (id->empty()) {
    error(*node, "id: must not be empty");
  } else if (id->size() > kLongestIdBytes) {
    error(*node, "id: longer than 255 bytes (" + std::to_string(id->size()) + ")");
  } else if (!encoding::is_valid_utf8(*id)) {
    error(*node, "id: not valid UTF-8");
  } else if (has_control_character(*id)) {
    // Ids appear in logs, bus paths and CLI tables: keep them one printable line.
    error(*node, "id: contains a control character");
  } else {
    return id;
  }
  return std::nullopt;
}

void Loader::load_users(const toml::node& node, const UserConfig& defaults, const KeyPositions& defaults_keys,
                        std::vector<UserConfig>& users) {
  const auto* array = node.as_array();
  if (array == nullptr) {
    expected("user", node, "[[user]] tables");
    return;
  }
  std::map<std::string, Position> first_definition;
  for (std::size_t index = 0; index < array->size(); ++index) {
    const toml::node& element = (*array)[index];
    const auto* table = element.as_table();
    if (table == nullptr) {
      expected("user[" + std::to_string(index) + "]", element, "a table");
      continue;
    }
    UserConfig user = defaults;
    const auto id = read_id(*table);
    if (id) {
      const Position id_at = table->get("id")->source().begin;
      const auto [first, inserted] = first_definition.emplace(*id, id_at);
      if (!inserted) {
        error(id_at, "duplicate id '" + *id + "' (first defined at " + format_position(first->second) + ")");
      }
      user.id = *id;
    }
    const KeyPositions keys = apply_user_keys(*table, Section::User, user);
    check_reconnect_range(user, keys);
    check_client_pair(user, keys, defaults_keys);
    if (id) {
      // A template in [defaults] is reported once, for the first user it fails.
      check_cursor_references(user, *table, defaults_table_, [this](Position at, std::string message) {
        if (cursor_reported_.insert(std::make_pair(at.line, at.column)).second) error(at, std::move(message));
      });
    }

    const bool url_in_user = keys.present.count("url") != 0;
    const bool url_in_defaults = defaults_keys.present.count("url") != 0;
    if (!url_in_user && !url_in_defaults) {
      error(table->source().begin, "[[user]] " + (id ? "'" + *id + "' " : std::string()) +
                                       "has no url (set url here or in [defaults])");
    }
    const auto url_at = keys.valid_at.count("url") != 0 ? keys.valid_at.find("url") : defaults_keys.valid_at.find("url");
    if (id && url_at != defaults_keys.valid_at.end() && url_at != keys.valid_at.end()) {
      user.url = substitute_id(user.url, *id);
      // The template was checked with a stand-in id; this is a safety net.
      std::string reason;
      // With placeholders this is the stand-in form; the daemon renders and
      // parses the url again for every attempt.
      if (auto endpoint = parse_ws_url(url_with_stand_ins(user.url), &reason)) {
        user.endpoint = std::move(*endpoint);
        choose_user_proxy(user, *table, keys, defaults_keys);
      } else {
        error(url_at->second, "url: " + reason + " (for user '" + *id + "')");
      }
    }
    users.push_back(std::move(user));
  }
}

LoadResult Loader::load(std::string_view text, std::optional<mode_t> file_mode) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(path_));
  } catch (const toml::parse_error& failure) {
    error(failure.source().begin, parser_message(failure.description()));
    return LoadResult{std::nullopt, std::move(diagnostics_)};
  }

  Config config;
  config.path = path_;
  UserConfig defaults;
  KeyPositions defaults_keys;
  for (auto&& [key, value] : root) {
    const std::string_view name = key.str();
    if (name == "daemon") {
      load_daemon(value, config.daemon);
    } else if (name == "defaults") {
      if (const auto* table = value.as_table()) {
        defaults_table_ = table;
        defaults_keys = apply_user_keys(*table, Section::Defaults, defaults);
        check_reconnect_range(defaults, defaults_keys);
      } else {
        expected("defaults", value, "a table ([defaults])");
      }
    } else if (name != "user") {
      unknown_key(key, Section::Root);
    }
  }
  // After [defaults], whatever the order in the file.
  if (const toml::node* users = root.get("user")) load_users(*users, defaults, defaults_keys, config.users);

  const toml::node* user_node = root.get("user");
  const bool no_user_tables = user_node == nullptr || (user_node->is_array() && user_node->as_array()->empty());
  if (no_user_tables) {
    report(Severity::Warning, Position{1, 1}, "no [[user]] tables: the daemon will start with nothing to do");
  }

  if (file_mode && (*file_mode & 044) != 0) {
    const auto holds_credentials = [](const UserConfig& user) {
      const auto proxy = parse_proxy_url(user.proxy);
      const bool proxy_password = user.proxy.find("://") != std::string::npos && proxy && !proxy->userinfo.empty();
      return !user.headers.empty() || redact_url(user.url) != user.url || proxy_password;
    };
    if (holds_credentials(defaults) || std::any_of(config.users.begin(), config.users.end(), holds_credentials)) {
      report(Severity::Warning, Position{1, 1},
             std::string("file holds credentials but is readable by ") +
                 ((*file_mode & 004) != 0 ? "others" : "its group") + " (mode " + format_mode(*file_mode) + ")");
    }
  }

  std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  const bool failed = std::any_of(diagnostics_.begin(), diagnostics_.end(),
                                  [](const Diagnostic& d) { return d.severity == Severity::Error; });
  LoadResult result;
  if (!failed) result.config = std::move(config);
  result.diagnostics = std::move(diagnostics_);
  return result;
}

}  // namespace wsheart::config
