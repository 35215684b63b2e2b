#include "keys.hpp"

#include <array>
#include <utility>

#include "diagnostic_text.hpp"
#include "encoding.hpp"
#include "limits.hpp"

namespace wsheart::config {

namespace {

template <typename T>
bool store(std::optional<T> value, T& field) {
  if (!value) return false;
  field = std::move(*value);
  return true;
}

// Every key a [defaults] or [[user]] table may hold ("id" only in [[user]], handled apart).
constexpr std::array<UserKeyRule, 32> kUserKeyRules{{
    {"url", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_url_template(k, v), c.url);
     }},
    {"headers", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_headers(k, v), c.headers);
     }},
    {"headers_file", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_headers_file(k, v), c.headers_file);
     }},
    {"on_open", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       auto frames = l.read_string_array(k, v);
       if (!frames) return false;
       bool valid = true;
       for (std::size_t i = 0; i < frames->size(); ++i) {
         valid = check_placeholders(std::string(k) + "[" + std::to_string(i) + "]", *v.as_array()->get(i),
                                    TemplateContext::Frame, l.reporter()) && valid;
       }
       return valid && store(std::move(frames), c.on_open);
     }},
    {"heartbeat", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_heartbeat(k, v), c.heartbeat);
     }},
    {"heartbeat_payload", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_string(k, v), c.heartbeat_payload);
     }},
    {"heartbeat_reply", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_string(k, v), c.heartbeat_reply);
     }},
    {"heartbeat_interval", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.heartbeat_interval);
     }},
    {"heartbeat_timeout", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.heartbeat_timeout);
     }},
    {"connect_timeout", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.connect_timeout);
     }},
    {"reconnect_initial", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.reconnect_initial);
     }},
    {"reconnect_max", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.reconnect_max);
     }},
    {"reconnect_multiplier", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_multiplier(k, v), c.reconnect_multiplier);
     }},
    {"reconnect_jitter", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_jitter(k, v), c.reconnect_jitter);
     }},
    {"stable_after", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.stable_after);
     }},
    {"fatal_backoff", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.fatal_backoff);
     }},
    {"wake_probe_timeout", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.wake_probe_timeout);
     }},
    {"max_message_size", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_size(k, v), c.max_message_size);
     }},
    {"send_queue_limit", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       const auto limit = l.read_integer(k, v, 0, kLargestSendQueue);
       if (limit) c.send_queue_limit = static_cast<std::size_t>(*limit);
       return limit.has_value();
     }},
    {"history", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       const auto history = l.read_integer(k, v, 0, kLargestHistory);
       if (history) c.history = static_cast<std::size_t>(*history);
       return history.has_value();
     }},
    {"tls_verify", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_bool(k, v), c.tls_verify);
     }},
    {"ca_file", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_ca_file(k, v), c.ca_file);
     }},
    {"client_cert", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_credential_path(k, v), c.client_cert);
     }},
    {"client_key", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_credential_path(k, v), c.client_key);
     }},
    {"pin_sha256", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_pins(k, v), c.pin_sha256);
     }},
    {"unix_user", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return l.read_unix_user(k, v, c);
     }},
    {"cursor", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(read_cursor_rules(k, v, l.reporter()), c.cursors);
     }},
    {"cursor_if", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       auto condition = read_cursor_condition(k, v, l.reporter());
       if (!condition) return false;
       c.cursor_if = std::move(condition);
       return true;
     }},
    {"state_flush", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_duration(k, v), c.state_flush);
     }},
    {"proxy", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_proxy(k, v), c.proxy);
     }},
    {"no_proxy", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_string(k, v), c.no_proxy);
     }},
    {"proxy_auth_file", [](Loader& l, std::string_view k, const toml::node& v, UserConfig& c) {
       return store(l.read_credential_path(k, v), c.proxy_auth_file);
     }},
}};

}  // namespace

const UserKeyRule* find_user_key(std::string_view name) {
  for (const UserKeyRule& rule : kUserKeyRules) {
    if (rule.name == name) return &rule;
  }
  return nullptr;
}

std::vector<std::string_view> known_keys(Section section) {
  switch (section) {
    case Section::Root:
      return {"daemon", "defaults", "user"};
    case Section::Daemon:
      return {"max_handshakes", "on_sleep", "network_watch", "bus_queue_size", "metrics_file", "metrics_interval"};
    case Section::Defaults:
    case Section::User: {
      std::vector<std::string_view> names;
      if (section == Section::User) names.push_back("id");
      for (const UserKeyRule& rule : kUserKeyRules) names.push_back(rule.name);
      return names;
    }
  }
  return {};
}

// The closest known key, if it is close enough to be a plausible typo.
std::optional<std::string_view> closest_key(std::string_view unknown, Section section) {
  const std::string lower = encoding::ascii_lowercase(unknown);
  const std::size_t tolerance = lower.size() <= 4 ? 1 : (lower.size() <= 10 ? 2 : 3);
  std::optional<std::string_view> best;
  std::size_t best_distance = tolerance + 1;
  for (std::string_view candidate : known_keys(section)) {
    const std::size_t distance = edit_distance(lower, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::string_view section_label(Section section) {
  switch (section) {
    case Section::Root:
      return "at the top level";
    case Section::Daemon:
      return "in [daemon]";
    case Section::Defaults:
      return "in [defaults]";
    case Section::User:
      return "in [[user]]";
  }
  return "";
}

}  // namespace wsheart::config
