#include "metrics/exposition.hpp"

#include <algorithm>

namespace wsheart::metrics {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string usec_as_seconds(std::uint64_t usec) {
  // Integer arithmetic: a double would round 16-digit timestamps.
  std::string out = std::to_string(usec / 1'000'000);
  std::uint64_t fraction = usec % 1'000'000;
  if (fraction == 0) return out;
  std::string digits = std::to_string(fraction);
  digits.insert(0, 6 - digits.size(), '0');
  while (digits.back() == '0') digits.pop_back();
  return out + "." + digits;
}

namespace {

class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // name{user="id"[,state="s"]} value
  void user_sample(std::string_view name, const std::string& escaped_id, std::string_view value,
                   std::string_view state = {}) {
    out_ += name;
    out_ += "{user=\"";
    out_ += escaped_id;
    if (!state.empty()) {
      out_ += "\",state=\"";
      out_ += state;
    }
    out_ += "\"} ";
    out_ += value;
    out_ += '\n';
  }
  void sample(std::string_view name_and_labels, std::string_view value) {
    out_ += name_and_labels;
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  std::string& text() { return out_; }

 private:
  std::string out_;
};

template <typename Value>
void per_user(Writer& w, const std::vector<UserSample>& users, const std::vector<std::string>& ids,
              std::string_view name, std::string_view type, std::string_view help, Value value) {
  w.family(name, type, help);
  for (std::size_t i = 0; i < users.size(); ++i) w.user_sample(name, ids[i], value(users[i]));
}

}  // namespace

std::string format_exposition(Snapshot snapshot) {
  auto& users = snapshot.users;
  std::sort(users.begin(), users.end(), [](const UserSample& a, const UserSample& b) { return a.id < b.id; });
  std::vector<std::string> ids;
  ids.reserve(users.size());
  for (const auto& u : users) ids.push_back(escape_label_value(u.id));

  Writer w;
  w.text().reserve(256 + users.size() * 900);
  w.family("wsheartd_build_info", "gauge", "Always 1; the version label is the running wsheartd's.");
  w.sample("wsheartd_build_info{version=\"" + escape_label_value(snapshot.version) + "\"}", "1");
  w.family("wsheartd_handshakes_in_flight", "gauge",
           "TCP+TLS+HTTP upgrade handshakes in progress (at most [daemon] max_handshakes).");
  w.sample("wsheartd_handshakes_in_flight", std::to_string(snapshot.handshakes_in_flight));

  per_user(w, users, ids, "wsheartd_user_up", "gauge", "1 while the user's WebSocket connection is open, else 0.",
           [](const UserSample& u) { return std::string(u.state == supervisor::State::Open ? "1" : "0"); });
  w.family("wsheartd_user_state", "gauge", "1 for the user's current connection state, 0 for the others.");
  for (std::size_t i = 0; i < users.size(); ++i) {
    for (const auto state : kAllStates) {
      w.user_sample("wsheartd_user_state", ids[i], users[i].state == state ? "1" : "0", supervisor::to_string(state));
    }
  }
  per_user(w, users, ids, "wsheartd_user_reconnects_total", "counter", "Connection attempts after the first one.",
           [](const UserSample& u) { return std::to_string(u.reconnects); });
  per_user(w, users, ids, "wsheartd_user_messages_received_total", "counter",
           "Inbound messages republished on the bus (heartbeat replies excluded).",
           [](const UserSample& u) { return std::to_string(u.received); });
  per_user(w, users, ids, "wsheartd_user_messages_sent_total", "counter",
           "Text frames sent for the user (heartbeats excluded).",
           [](const UserSample& u) { return std::to_string(u.sent); });
  per_user(w, users, ids, "wsheartd_user_messages_dropped_total", "counter",
           "Messages dropped: send queue overflow, oversize inbound, or a bus that could not take them.",
           [](const UserSample& u) { return std::to_string(u.dropped); });
  per_user(w, users, ids, "wsheartd_user_rtt_seconds", "gauge",
           "Last heartbeat round-trip time; 0 until one was measured.",
           [](const UserSample& u) { return usec_as_seconds(u.rtt_usec); });
  per_user(w, users, ids, "wsheartd_user_last_message_timestamp_seconds", "gauge",
           "Unix time of the last republished message; 0 before the first.",
           [](const UserSample& u) { return usec_as_seconds(u.last_message_usec); });
  return std::move(w.text());
}

}  // namespace wsheart::metrics
