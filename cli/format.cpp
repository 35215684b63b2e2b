#include "format.hpp"

#include <ctime>

#include <array>
#include <cinttypes>
#include <cstdio>
#include <map>

#include "json.hpp"
#include "text.hpp"

namespace wsheart::cli {

namespace {

constexpr std::uint64_t kUsecPerSec = 1000000;

std::string unit_pair(std::uint64_t big, const char* big_unit, std::uint64_t small, const char* small_unit) {
  std::string out = std::to_string(big) + big_unit;
  if (small != 0) out += " " + std::to_string(small) + small_unit;
  return out;
}

// The order states are counted in the summary.
constexpr std::array<std::string_view, 5> kStates = {"open", "connecting", "closing", "backoff", "stopped"};

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

}  // namespace

std::string format_age(std::int64_t age_usec) {
  if (age_usec < 0) age_usec = 0;
  const auto secs = static_cast<std::uint64_t>(age_usec) / kUsecPerSec;
  if (secs < 60) return std::to_string(secs) + "s";
  if (secs < 3600) return unit_pair(secs / 60, "m", secs % 60, "s");
  if (secs < 86400) return unit_pair(secs / 3600, "h", (secs % 3600) / 60, "m");
  return unit_pair(secs / 86400, "d", (secs % 86400) / 3600, "h");
}

std::string format_rtt(std::uint64_t usec) {
  if (usec == 0) return "-";
  if (usec < 1000) return std::to_string(usec) + "us";
  char buf[32];
  if (usec < 10000) {
    // One decimal, rounded: 1250us -> "1.3ms" (tenths of a millisecond).
    const std::uint64_t tenths = (usec + 50) / 100;
    std::snprintf(buf, sizeof buf, "%" PRIu64 ".%" PRIu64 "ms", tenths / 10, tenths % 10);
    return buf;
  }
  if (usec < 1000000) return std::to_string((usec + 500) / 1000) + "ms";
  if (usec < 10000000) {
    const std::uint64_t tenths = (usec + 50000) / 100000;
    std::snprintf(buf, sizeof buf, "%" PRIu64 ".%" PRIu64 "s", tenths / 10, tenths % 10);
    return buf;
  }
  return std::to_string((usec + 500000) / 1000000) + "s";
}

std::string format_clock(std::uint64_t usec, bool with_date) {
  if (usec == 0) return "-";
  const auto secs = static_cast<std::time_t>(usec / kUsecPerSec);
  const auto millis = static_cast<unsigned>((usec % kUsecPerSec) / 1000);
  std::tm tm{};
  if (::localtime_r(&secs, &tm) == nullptr) return "-";
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03u", millis);
  return buf;
}

Color state_color(std::string_view state) {
  if (state == "open") return Color::Green;
  if (state == "connecting" || state == "closing") return Color::Yellow;
  if (state == "backoff" || state == "stopped") return Color::Red;
  return Color::None;
}

std::string status_summary(const DaemonStatus& status) {
  std::map<std::string, std::uint64_t> counts;
  for (const auto& user : status.users) ++counts[user.state];
  const std::uint64_t total = status.users.size();
  // Says what the daemon's STATUS= says: an idle daemon is not a broken one.
  std::string out = total == 0 ? std::string("no users configured") : plural(total, "user", "users");
  std::string parts;
  auto add = [&](const std::string& state, std::uint64_t n) {
    parts += parts.empty() ? ": " : ", ";
    parts += std::to_string(n) + " " + escape_for_terminal(state);
  };
  for (auto state : kStates) {
    auto it = counts.find(std::string(state));
    if (it != counts.end()) {
      add(it->first, it->second);
      counts.erase(it);
    }
  }
  for (const auto& [state, n] : counts) add(state, n);  // states this CLI does not know yet
  out += parts;
  if (!status.version.empty()) out += " (wsheartd " + escape_for_terminal(status.version) + ")";
  return out;
}

std::string render_status(const DaemonStatus& status, const std::vector<UserStatus>& listed,
                          std::uint64_t now_usec, const OutputStyle& style) {
  if (style.json) {
    JsonWriter w;
    w.begin_object();
    w.key("version").value(status.version);
    w.key("user_count").value(status.user_count);
    w.key("open_count").value(status.open_count);
    w.key("users").begin_array();
    for (const auto& u : listed) {
      w.begin_object();
      w.key("id").value(u.id);
      w.key("state").value(u.state);
      w.key("reason").value(u.reason);
      w.key("since_usec").value(u.state_since_usec);
      w.key("rtt_usec").value(u.rtt_usec);
      w.key("rx").value(u.received);
      w.key("tx").value(u.sent);
      w.key("dropped").value(u.dropped);
      w.key("duplicates").value(u.duplicates);
      w.key("reconnects").value(u.reconnects);
      w.key("url").value(u.url);
      w.key("proxy").value(u.proxy);
      w.key("last_message_usec").value(u.last_message_usec);
      w.key("cursor").begin_object();
      for (const auto& [name, value] : u.cursor) w.key(name).value(value);
      w.end_object();
      w.end_object();
    }
    w.end_array();
    w.end_object();
    return w.str() + "\n";
  }

  // On a narrow terminal URL and REASON are shortened first, the ID last.
  Table table({{"ID", Align::Left, true, 12, 1},
               {"STATE", Align::Left, false, 0},
               {"SINCE", Align::Right, false, 0},
               {"RTT", Align::Right, false, 0},
               {"RX", Align::Right, false, 0},
               {"TX", Align::Right, false, 0},
               {"RECONNECTS", Align::Right, false, 0},
               {"URL", Align::Left, true, 10},
               {"REASON", Align::Left, true, 8}});
  for (const auto& u : listed) {
    const std::string since =
        u.state_since_usec == 0
            ? "-"
            : format_age(static_cast<std::int64_t>(now_usec) - static_cast<std::int64_t>(u.state_since_usec));
    const std::string reason = u.state == "open" || u.reason.empty() ? "-" : escape_for_terminal(u.reason);
    table.add_row({{escape_for_terminal(u.id)},
                   {escape_for_terminal(u.state), state_color(u.state)},
                   {since},
                   {format_rtt(u.rtt_usec)},
                   {std::to_string(u.received)},
                   {std::to_string(u.sent)},
                   {std::to_string(u.reconnects)},
                   {escape_for_terminal(u.url)},
                   {reason}});
  }
  std::string out;
  if (style.legend) out += status_summary(status) + "\n";
  if (!listed.empty()) out += table.render({style.legend, style.color, style.width});
  return out;
}

std::string render_list(const std::vector<UserStatus>& users, const OutputStyle& style) {
  if (style.json) {
    JsonWriter w;
    w.begin_array();
    for (const auto& u : users) w.value(u.id);
    w.end_array();
    return w.str() + "\n";
  }
  std::string out;
  for (const auto& u : users) out += escape_for_terminal(u.id) + "\n";
  return out;
}

std::string render_send_result(std::string_view id, bool queued, const OutputStyle& style) {
  if (style.json) {
    JsonWriter w;
    w.begin_object().key("user").value(id).key("queued").value(queued).end_object();
    return w.str() + "\n";
  }
  return queued ? "queued\n" : "sent\n";
}

std::string render_recent(std::string_view id, const std::vector<HistoryMessage>& messages,
                          const OutputStyle& style) {
  if (style.json) {
    JsonWriter w;
    w.begin_object().key("user").value(id).key("messages").begin_array();
    for (const auto& m : messages) {
      w.begin_object().key("seq").value(m.seq).key("time_usec").value(m.time_usec).key("text").value(m.text);
      w.end_object();
    }
    w.end_array().end_object();
    return w.str() + "\n";
  }
  std::string out;
  for (const auto& m : messages) {
    out += std::to_string(m.seq) + " " + format_clock(m.time_usec, true) + " " + escape_for_terminal(m.text) + "\n";
  }
  return out;
}

std::string render_monitor_event(const MonitorEvent& event, std::size_t id_width, const OutputStyle& style) {
  if (style.json) {
    JsonWriter w;
    w.begin_object();
    w.key("time_usec").value(event.time_usec);
    w.key("user").value(event.user);
    switch (event.kind) {
      case MonitorEvent::Kind::Message:
        w.key("event").value("message").key("seq").value(event.seq).key("text").value(event.text);
        break;
      case MonitorEvent::Kind::Binary:
        w.key("event").value("binary").key("seq").value(event.seq);
        w.key("size").value(std::uint64_t{event.data.size()});
        w.key("data_base64").value(
            encoding::base64_encode({reinterpret_cast<const char*>(event.data.data()), event.data.size()}));
        break;
      case MonitorEvent::Kind::State:
        w.key("event").value("state").key("old").value(event.old_state).key("new").value(event.new_state);
        w.key("reason").value(event.reason);
        break;
    }
    w.end_object();
    return w.str() + "\n";
  }

  std::string user = escape_for_terminal(event.user);
  const std::size_t w = display_width(user);
  if (w < id_width) user.append(id_width - w, ' ');
  std::string line = format_clock(event.time_usec, false) + " " + user + " ";
  std::size_t colour_at = 0;   // where the new state starts (State events)
  std::size_t colour_len = 0;
  switch (event.kind) {
    case MonitorEvent::Kind::Message:
      line += "message #" + std::to_string(event.seq) + " " + escape_for_terminal(event.text);
      break;
    case MonitorEvent::Kind::Binary:
      line += "binary  #" + std::to_string(event.seq) + " <" + std::to_string(event.data.size()) +
              (event.data.size() == 1 ? " byte>" : " bytes>");
      break;
    case MonitorEvent::Kind::State:
      line += "state   " + escape_for_terminal(event.old_state) + " -> ";
      colour_at = line.size();
      colour_len = escape_for_terminal(event.new_state).size();
      line += escape_for_terminal(event.new_state);
      if (!event.reason.empty()) line += " (" + escape_for_terminal(event.reason) + ")";
      break;
  }
  if (style.width) line = ellipsize(line, *style.width);
  const Color colour = state_color(event.new_state);
  if (style.color && colour != Color::None && colour_len != 0 && colour_at + colour_len <= line.size() &&
      line.compare(colour_at, colour_len, escape_for_terminal(event.new_state)) == 0) {
    line.insert(colour_at + colour_len, kAnsiReset);
    line.insert(colour_at, ansi_start(colour));
  }
  return line + "\n";
}

}  // namespace wsheart::cli
