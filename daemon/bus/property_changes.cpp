// PropertiesChanged coalescing: user_changed()/manager_changed() only mark
// objects dirty; one flush per loop turn emits PropertiesChanged for the
// properties whose value differs from what was last emitted for that object.
// Message counters are announced on a slower clock (kCounterInterval). We
// build PropertiesChanged ourselves (same wire format as sd-bus's) so it goes
// through the outbox, in order with the message signals before it.

#include <asio/post.hpp>

#include "bus/service_impl.hpp"

namespace wsheart::bus {

void BusService::Impl::user_changed(UserEntry& user) {
  if (!user.dirty) {
    user.dirty = true;
    dirty_users_.push_back(&user);
  }
  schedule_flush();
}

void BusService::Impl::counters_changed(UserEntry& user) {
  if (user.dirty || user.counters_dirty) return;  // a flush is coming anyway
  user.counters_dirty = true;
  counter_users_.push_back(&user);
  if (counter_timer_armed_) return;
  counter_timer_armed_ = true;
  counter_timer_.expires_after(kCounterInterval);
  std::weak_ptr<int> alive = alive_;
  counter_timer_.async_wait([this, alive](const std::error_code& ec) {
    if (ec || alive.expired()) return;
    counter_timer_armed_ = false;
    flush_counters();
  });
}

void BusService::Impl::flush_counters() {
  std::vector<UserEntry*> due;
  due.swap(counter_users_);
  for (UserEntry* user : due) {
    if (user == nullptr || !user->counters_dirty) continue;  // removed, or flushed with a state change
    user->counters_dirty = false;
    flush_user(*user);
  }
  loop_->schedule_pump();
}

void BusService::Impl::manager_changed() {
  manager_dirty_ = true;
  schedule_flush();
}

void BusService::Impl::schedule_flush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  std::weak_ptr<int> alive = alive_;
  asio::post(io_, [this, alive] {
    if (alive.expired()) return;
    flush_posted_ = false;
    flush_properties();
  });
}

void BusService::Impl::flush_properties() {
  std::vector<UserEntry*> dirty;
  dirty.swap(dirty_users_);
  for (UserEntry* user : dirty) {
    if (user == nullptr) continue;  // removed since it was marked
    user->dirty = false;
    user->counters_dirty = false;  // this flush announces the counters too
    flush_user(*user);
  }
  if (manager_dirty_) {
    manager_dirty_ = false;
    const std::uint32_t users = user_count();
    std::uint32_t open = last_open_count_;
    try {
      open = backend_.open_count();
    } catch (const std::exception& e) {
      log_.warning("open_count failed: ", e.what());
    }
    const bool users_changed = users != last_user_count_;
    const bool open_changed = open != last_open_count_;
    last_user_count_ = users;
    last_open_count_ = open;
    if ((users_changed || open_changed) && !loop_->broken()) {
      try {
        enqueue(properties_changed(raw_bus_, kManagerPath, kManagerInterface,
                                   [&](sd_bus_message* m) {
                                     if (open_changed) append_entry(m, "OpenCount", open);
                                     if (users_changed) append_entry(m, "UserCount", users);
                                   }),
                nullptr, 0);
      } catch (const sdbus::Error& e) {
        log_.debug("PropertiesChanged on ", kManagerPath, " failed: ", e.getMessage());
      }
    }
  }
  loop_->schedule_pump();
}

void BusService::Impl::flush_user(UserEntry& user) {
  const supervisor::Stats& now = user.source->stats();
  const supervisor::Stats& last = user.announced;
  const std::uint64_t duplicates_now = user.source->duplicates();
  // RoundTripUsec is not announced (EmitsChangedSignal=false): it changes on
  // every heartbeat, and 10,000 users would mean 2,000 signals/s of noise.
  // In name order, as a std::map gave them before.
  const bool last_message = now.last_message_usec != last.last_message_usec;
  const bool dropped = now.dropped != last.dropped;
  const bool duplicates = duplicates_now != user.announced_duplicates;
  const bool received = now.received != last.received;
  const bool sent = now.sent != last.sent;
  const bool proxy = user.proxy_changed;
  const bool reconnects = now.reconnects != last.reconnects;
  const bool state = now.state != last.state;
  const bool reason = now.reason != last.reason;
  const bool since = now.state_since_usec != last.state_since_usec;
  const bool url = user.url_changed;
  const bool any =
      last_message || dropped || duplicates || received || sent || proxy || reconnects || state || reason || since || url;
  if (any && !loop_->broken()) {
    const UserProfile& profile = user.profile;
    try {
      enqueue(properties_changed(raw_bus_, user.path->c_str(), kUserInterface,
                                 [&](sd_bus_message* m) {
                                   if (last_message) append_entry(m, "LastMessageAt", now.last_message_usec);
                                   if (dropped) append_entry(m, "MessagesDropped", now.dropped);
                                   if (duplicates) append_entry(m, "MessagesDuplicate", duplicates_now);
                                   if (received) append_entry(m, "MessagesReceived", now.received);
                                   if (sent) append_entry(m, "MessagesSent", now.sent);
                                   if (proxy) append_entry(m, "Proxy", profile.proxy);
                                   if (reconnects) append_entry(m, "Reconnects", now.reconnects);
                                   if (state) append_entry(m, "State", now.state);
                                   if (reason) append_entry(m, "StateReason", now.reason);
                                   if (since) append_entry(m, "StateSince", now.state_since_usec);
                                   if (url) append_entry(m, "Url", profile.url);
                                 }),
              nullptr, now.reason.size() + (url ? profile.url.size() : 0) + (proxy ? profile.proxy.size() : 0));
    } catch (const sdbus::Error& e) {
      log_.log_for(LogLevel::Debug, user_fields(user.id), "PropertiesChanged for user ", user.id, " failed: ",
                   e.getMessage());
    }
  }
  user.announced = now;
  user.announced_duplicates = duplicates_now;
  user.url_changed = false;
  user.proxy_changed = false;
}

}  // namespace wsheart::bus
