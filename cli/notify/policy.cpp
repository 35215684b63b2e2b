#include "notify/policy.hpp"

#include <algorithm>
#include <tuple>
#include <utility>

#include "format.hpp"

namespace wsheart::cli::notify {

namespace {

constexpr const char* kCategoryMessage = "im.received";
constexpr const char* kCategoryDown = "network.disconnected";
constexpr const char* kCategoryUp = "network.connected";

std::string join(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string describe_duration(Duration d) {
  return format_age(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

bool reason_is_planned(const std::string& reason) {
  const std::string word = reason.substr(0, reason.find(':'));
  return word == "resume" || word == "network_change";
}

NotifyPolicy::NotifyPolicy(PolicySettings settings) : settings_(std::move(settings)) {}

void NotifyPolicy::add_user(TimePoint now, const std::string& user, const std::string& state,
                            const std::string& reason, Duration out_for) {
  UserTrack& track = users_[user];
  track.state = state;
  track.reason = reason;
  track.notice_shown = false;
  if (state == "open") {
    track.out_since.reset();
  } else {
    track.out_since = now - std::max(out_for, Duration::zero());
  }
}

void NotifyPolicy::set_last_seq(const std::string& user, std::uint64_t seq) { last_seq_[user] = seq; }

Notice NotifyPolicy::message_notice(const std::string& user, const std::string& text) const {
  const Content content = message_content(user, text, settings_.pointers);
  return Notice{content.summary, content.body, content.urgency, kCategoryMessage, ""};
}

Notice NotifyPolicy::burst_notice() const {
  Notice notice;
  notice.summary = plural(burst_->collapsed, "new message", "new messages");
  notice.body = "from " + join(burst_->users) + "\nlatest: " + burst_->latest;
  notice.urgency = burst_->urgency;
  notice.category = kCategoryMessage;
  notice.replace_key = "burst:" + std::to_string(burst_->number);
  return notice;
}

void NotifyPolicy::expire_burst(TimePoint now) {
  // A burst ends after a full window without messages; its last update is
  // always flushed before that (burst_update < burst_window, see on_timer).
  if (burst_ && !burst_->dirty && now - burst_->last_message >= settings_.burst_window) burst_.reset();
}

std::vector<Notice> NotifyPolicy::on_message(TimePoint now, const std::string& user, std::uint64_t seq,
                                             const std::string& text) {
  auto seen = last_seq_.find(user);
  if (seen != last_seq_.end() && seq <= seen->second) return {};  // already shown (catch-up overlap)
  last_seq_[user] = seq;

  std::vector<Notice> out = on_timer(now);  // a late loop turn: settle what fell due first
  expire_burst(now);
  while (!recent_.empty() && now - recent_.front() >= settings_.burst_window) recent_.pop_front();
  recent_.push_back(now);
  if (!burst_ && recent_.size() <= settings_.burst_limit) {
    out.push_back(message_notice(user, text));
    return out;
  }
  if (!burst_) burst_ = Burst{++bursts_, 0, {}, {}, Urgency::Low, now, std::nullopt, false};
  const Content content = message_content(user, text, settings_.pointers);
  burst_->collapsed += 1;
  burst_->users.insert(user);
  burst_->latest = content.summary + ": " + content.body;
  burst_->urgency = std::max(burst_->urgency, content.urgency);
  burst_->last_message = now;
  if (!burst_->last_shown || now - *burst_->last_shown >= settings_.burst_update) {
    burst_->last_shown = now;
    burst_->dirty = false;
    out.push_back(burst_notice());
  } else {
    burst_->dirty = true;
  }
  return out;
}

bool NotifyPolicy::state_notice_due(const UserTrack& track, TimePoint now) const {
  return track.out_since && !track.notice_shown && !reason_is_planned(track.reason) &&
         now - *track.out_since >= settings_.quiet_for;
}

Notice NotifyPolicy::down_notice(const std::string& user, const UserTrack& track, TimePoint now) const {
  Notice notice;
  notice.summary = user + ": not connected";
  notice.body = track.state + " for " + describe_duration(now - *track.out_since) + " (" + track.reason + ")";
  notice.urgency = Urgency::Normal;
  notice.category = kCategoryDown;
  notice.replace_key = "state:" + user;
  return notice;
}

std::vector<Notice> NotifyPolicy::on_state(TimePoint now, const std::string& user, const std::string& state,
                                           const std::string& reason) {
  UserTrack& track = users_[user];
  track.state = state;
  track.reason = reason;
  std::vector<Notice> out;
  if (state == "open") {
    if (track.notice_shown) {
      Notice notice;
      notice.summary = user + ": connected again";
      notice.body = "after " + describe_duration(now - *track.out_since) + " (" + reason + ")";
      notice.urgency = Urgency::Low;
      notice.category = kCategoryUp;
      notice.replace_key = "state:" + user;
      out.push_back(std::move(notice));
    }
    track.notice_shown = false;
    track.out_since.reset();
    return out;
  }
  if (!track.out_since) track.out_since = now;
  if (state_notice_due(track, now)) {  // e.g. a planned reconnect that turned into a failure
    track.notice_shown = true;
    out.push_back(down_notice(user, track, now));
  }
  return out;
}

std::vector<Notice> NotifyPolicy::on_timer(TimePoint now) {
  std::vector<Notice> out;
  if (burst_ && burst_->dirty && now - *burst_->last_shown >= settings_.burst_update) {
    burst_->last_shown = now;
    burst_->dirty = false;
    out.push_back(burst_notice());
  }
  for (auto& [user, track] : users_) {
    if (state_notice_due(track, now)) {
      track.notice_shown = true;
      out.push_back(down_notice(user, track, now));
    }
  }
  return out;
}

std::optional<TimePoint> NotifyPolicy::next_deadline() const {
  std::optional<TimePoint> next;
  const auto consider = [&next](TimePoint t) {
    if (!next || t < *next) next = t;
  };
  if (burst_ && burst_->dirty) consider(*burst_->last_shown + settings_.burst_update);
  for (const auto& [user, track] : users_) {
    if (track.out_since && !track.notice_shown && !reason_is_planned(track.reason)) {
      consider(*track.out_since + settings_.quiet_for);
    }
  }
  return next;
}

std::vector<Notice> NotifyPolicy::catch_up(std::vector<CatchUpMessage> messages) {
  // Only what is newer than what was already shown, oldest first.
  messages.erase(std::remove_if(messages.begin(), messages.end(),
                                [this](const CatchUpMessage& m) {
                                  auto seen = last_seq_.find(m.user);
                                  return seen != last_seq_.end() && m.seq <= seen->second;
                                }),
                 messages.end());
  std::sort(messages.begin(), messages.end(), [](const CatchUpMessage& a, const CatchUpMessage& b) {
    return std::tie(a.time_usec, a.user, a.seq) < std::tie(b.time_usec, b.user, b.seq);
  });
  for (const auto& m : messages) {
    std::uint64_t& last = last_seq_[m.user];
    last = std::max(last, m.seq);
  }
  std::vector<Notice> out;
  const std::size_t shown = std::min(messages.size(), settings_.catch_up_shown);
  const std::size_t earlier = messages.size() - shown;
  // The newest few, oldest of them first, so the latest ends up on top.
  for (std::size_t i = earlier; i < messages.size(); ++i) out.push_back(message_notice(messages[i].user, messages[i].text));
  if (earlier > 0) {
    std::set<std::string> users;
    for (std::size_t i = 0; i < earlier; ++i) users.insert(messages[i].user);
    Notice summary;
    summary.summary = plural(earlier, "earlier message", "earlier messages");
    summary.body = "received while the notifier was not running, from " + join(users) +
                   " (wsheartctl recent ID shows them)";
    summary.urgency = Urgency::Normal;
    summary.category = kCategoryMessage;
    out.push_back(std::move(summary));
  }
  return out;
}

}  // namespace wsheart::cli::notify
