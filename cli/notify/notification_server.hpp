// org.freedesktop.Notifications on the session bus: the server's identity
// and capabilities, and Notify with in-place replacement by key.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "notify/policy.hpp"

namespace sdbus {
class IConnection;
}

namespace wsheart::cli::notify {

class NotificationServer {
 public:
  // Connects to the session bus and asks the server who it is. Throws
  // CliError(Exit::Unavailable) when there is no session bus or no server.
  NotificationServer();
  ~NotificationServer();
  NotificationServer(const NotificationServer&) = delete;
  NotificationServer& operator=(const NotificationServer&) = delete;

  sdbus::IConnection& connection() { return *connection_; }
  const std::string& description() const { return description_; }  // "dunst 1.9.0 (Dunst)"
  bool body_markup() const { return body_markup_; }

  // Sends the notice, replacing the one shown earlier with the same key.
  // Returns false (and `error` says why) when the server did not take it.
  bool show(const Notice& notice, std::string& error);

 private:
  std::unique_ptr<sdbus::IConnection> connection_;
  std::string description_;
  bool body_markup_ = false;
  std::map<std::string, std::uint32_t> shown_;  // replace_key -> notification id
};

}  // namespace wsheart::cli::notify
