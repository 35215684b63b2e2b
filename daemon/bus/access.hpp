// Access control on the system bus: who called, who subscribed, and who may
// read or drive a user restricted to one unix uid. On the session bus every
// peer is the owner, so nothing here is asked.
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace wsheart::bus {

// The caller's uid as the bus daemon vouches for it. Throws sdbus::Error
// (AccessDenied) when it cannot be determined.
uid_t caller_uid(sd_bus_message* call);

// Throws AccessDenied unless the caller of `call` is root or `owner`.
// No owner: anyone may.
void check_user_access(std::optional<std::uint32_t> owner, sd_bus_message* call, const std::string& id);

// Peers that asked for restricted messages (Subscribe), by unique bus name.
class Subscribers {
 public:
  void add(const std::string& unique_name, uid_t uid) { by_name_[unique_name] = uid; }
  // False when the name was not subscribed.
  bool remove(const std::string& unique_name) { return by_name_.erase(unique_name) != 0; }
  std::size_t size() const { return by_name_.size(); }

  // Calls `f(unique_name)` for every subscriber that may read a user
  // restricted to `owner` (root and the owner).
  template <typename F>
  void for_each_allowed(std::uint32_t owner, F&& f) const {
    for (const auto& [name, uid] : by_name_) {
      if (uid == 0 || uid == owner) f(name);
    }
  }

 private:
  std::unordered_map<std::string, uid_t> by_name_;
};

}  // namespace wsheart::bus
