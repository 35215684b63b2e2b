// Plain data the bus client returns and the formatters consume. No D-Bus here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wsheart::cli {

struct UserStatus {
  std::string id;
  std::string url;  // already redacted by the daemon
  std::string proxy;  // "http://host:port" without credentials; "" = direct
  std::string state;
  std::string reason;
  std::uint64_t state_since_usec = 0;  // CLOCK_REALTIME
  std::uint64_t rtt_usec = 0;          // 0 = not measured
  std::uint32_t reconnects = 0;
  std::uint64_t received = 0;
  std::uint64_t sent = 0;
  std::uint64_t dropped = 0;
  std::uint64_t last_message_usec = 0;  // 0 = never
  std::uint64_t duplicates = 0;         // replays dropped after a resume
  std::map<std::string, std::string> cursor;  // resume cursors; empty without
};

struct DaemonStatus {
  std::string version;
  std::uint32_t user_count = 0;
  std::uint32_t open_count = 0;
  std::vector<UserStatus> users;  // sorted by id
};

struct HistoryMessage {
  std::uint64_t seq = 0;
  std::uint64_t time_usec = 0;
  std::string text;
};

struct MonitorEvent {
  enum class Kind { Message, Binary, State };
  Kind kind = Kind::Message;
  std::uint64_t time_usec = 0;  // when wsheartctl received it (CLOCK_REALTIME)
  std::string user;
  std::uint64_t seq = 0;              // Message, Binary
  std::string text;                   // Message
  std::vector<std::uint8_t> data;     // Binary
  std::string old_state, new_state, reason;  // State
};

}  // namespace wsheart::cli
