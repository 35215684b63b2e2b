// Everything wsheartctl prints, as pure functions of plain data: the tests
// call these directly (no bus, no terminal, no clock).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model.hpp"
#include "table.hpp"

namespace wsheart::cli {

// How output should look; decided once from the options and the terminal.
struct OutputStyle {
  bool json = false;
  bool legend = true;                  // header + summary; --no-legend clears it
  bool color = false;                  // stdout is a terminal and NO_COLOR is not set
  std::optional<std::size_t> width;    // terminal columns when stdout is a terminal
};

// "0s", "42s", "5m 2s", "5m", "2h 10m", "2h", "3d 4h", "3d". Negative ages
// (clock skew) print as "0s".
std::string format_age(std::int64_t age_usec);
// "-" for 0 (not measured), "850us", "1.2ms", "12ms", "1.5s", "12s".
std::string format_rtt(std::uint64_t usec);
// Local time of a CLOCK_REALTIME µs value: "12:03:04.123", or with the date
// "2024-05-01 12:03:04.123". "-" for 0.
std::string format_clock(std::uint64_t usec, bool with_date);

// Green for open, yellow for connecting/closing, red for backoff/stopped.
Color state_color(std::string_view state);

// "3 users: 2 open, 1 backoff (wsheartd 0.1.0)"; counts the whole daemon.
std::string status_summary(const DaemonStatus& status);
// The status verb: summary line + table (text) or one JSON document.
// `listed` are the rows to show (all users, or the ones asked for).
std::string render_status(const DaemonStatus& status, const std::vector<UserStatus>& listed,
                          std::uint64_t now_usec, const OutputStyle& style);
std::string render_list(const std::vector<UserStatus>& users, const OutputStyle& style);
std::string render_send_result(std::string_view id, bool queued, const OutputStyle& style);
std::string render_recent(std::string_view id, const std::vector<HistoryMessage>& messages,
                          const OutputStyle& style);
// One monitor line, '\n'-terminated. `id_width` pads the user column so lines
// of different users align (0: no padding).
std::string render_monitor_event(const MonitorEvent& event, std::size_t id_width, const OutputStyle& style);

}  // namespace wsheart::cli
