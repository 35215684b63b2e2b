// What the notify agent shows and when: message notices, the burst
// collapse, per-user connection notices after a quiet period, catch-up.
// Pure: the caller passes the time into every call (steady clock) and
// sends the returned notices; no D-Bus, no clock reads, no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "notify/content.hpp"

namespace wsheart::cli::notify {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

struct PolicySettings {
  ContentPointers pointers;
  Duration quiet_for = std::chrono::seconds(30);  // out of `open` this long before a state notice
  std::size_t burst_limit = 5;                    // more messages than this in burst_window collapse
  Duration burst_window = std::chrono::seconds(10);
  Duration burst_update = std::chrono::seconds(1);  // the collapsed notice is replaced at most this often
  std::size_t catch_up_shown = 3;                  // catch-up: this many messages, then one summary
};

struct Notice {
  std::string summary;
  std::string body;  // plain text
  Urgency urgency = Urgency::Normal;
  std::string category;  // "im.received", "network.disconnected", ...
  // Notices with the same non-empty key replace each other in place
  // (replaces_id); an empty key is a new notification.
  std::string replace_key;
};

struct CatchUpMessage {
  std::string user;
  std::uint64_t seq = 0;
  std::uint64_t time_usec = 0;  // when the daemon received it
  std::string text;
};

class NotifyPolicy {
 public:
  explicit NotifyPolicy(PolicySettings settings);

  // A user as found at start (or when the daemon comes back): `out_for` is
  // how long it has already been out of `open` (0 when open).
  void add_user(TimePoint now, const std::string& user, const std::string& state, const std::string& reason,
                Duration out_for);
  // The last seq already shown for `user` (from the state file); later
  // messages with a seq at or below it are ignored as already seen.
  void set_last_seq(const std::string& user, std::uint64_t seq);

  std::vector<Notice> on_message(TimePoint now, const std::string& user, std::uint64_t seq, const std::string& text);
  std::vector<Notice> on_state(TimePoint now, const std::string& user, const std::string& state,
                               const std::string& reason);
  // Messages missed while the agent was not running, any user, any order.
  std::vector<Notice> catch_up(std::vector<CatchUpMessage> messages);
  // Call when now >= next_deadline(): the notices that fell due.
  std::vector<Notice> on_timer(TimePoint now);
  std::optional<TimePoint> next_deadline() const;

  const std::map<std::string, std::uint64_t>& last_seqs() const { return last_seq_; }

 private:
  struct UserTrack {
    std::string state;
    std::string reason;
    std::optional<TimePoint> out_since;  // set while not open
    bool notice_shown = false;           // the "not connected" notice is up
  };
  struct Burst {
    std::uint64_t number = 0;   // names the notice: one per burst
    std::size_t collapsed = 0;  // messages folded into it so far
    std::set<std::string> users;
    std::string latest;  // summary of the latest collapsed message
    Urgency urgency = Urgency::Low;
    TimePoint last_message{};
    std::optional<TimePoint> last_shown;
    bool dirty = false;  // collapsed messages not shown yet
  };

  Notice message_notice(const std::string& user, const std::string& text) const;
  Notice burst_notice() const;
  bool state_notice_due(const UserTrack& track, TimePoint now) const;
  Notice down_notice(const std::string& user, const UserTrack& track, TimePoint now) const;
  void expire_burst(TimePoint now);

  PolicySettings settings_;
  std::map<std::string, UserTrack> users_;
  std::map<std::string, std::uint64_t> last_seq_;
  std::deque<TimePoint> recent_;  // arrival times within burst_window
  std::optional<Burst> burst_;
  std::uint64_t bursts_ = 0;
};

// "42s", "5m 2s", "2h 10m": for notice texts.
std::string describe_duration(Duration d);

// StateReason words that never earn a connection notice: the daemon is
// reconnecting on purpose (a resume, or the network changed).
bool reason_is_planned(const std::string& reason);

}  // namespace wsheart::cli::notify
