// The metrics file's text: Prometheus text exposition format 0.0.4, with
// # HELP and # TYPE for every family. Pure: a snapshot in, text out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/supervisor.hpp"

namespace wsheart::metrics {

// One user's figures, copied on the loop from the same supervisor::Stats
// the bus publishes (and so `wsheartctl status --json` shows).
struct UserSample {
  std::string id;
  supervisor::State state = supervisor::State::Stopped;
  std::uint32_t reconnects = 0;
  std::uint64_t received = 0;
  std::uint64_t sent = 0;
  std::uint64_t dropped = 0;
  std::uint64_t rtt_usec = 0;           // 0: not measured yet
  std::uint64_t last_message_usec = 0;  // Unix time; 0: none yet
};

struct Snapshot {
  std::string version;
  unsigned handshakes_in_flight = 0;
  std::vector<UserSample> users;  // any order: the text is sorted by id
};

// Every state, in the order wsheartd_user_state lists them.
inline constexpr supervisor::State kAllStates[] = {supervisor::State::Connecting, supervisor::State::Open,
                                                   supervisor::State::Closing, supervisor::State::Backoff,
                                                   supervisor::State::Stopped};

// A label value with \, " and newline escaped as the format requires.
std::string escape_label_value(std::string_view value);
// Microseconds as exact decimal seconds ("0.001234", "1700000000.5", "0").
std::string usec_as_seconds(std::uint64_t usec);
std::string format_exposition(Snapshot snapshot);

}  // namespace wsheart::metrics
