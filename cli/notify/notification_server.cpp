#include "notify/notification_server.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "error.hpp"

namespace wsheart::cli::notify {

namespace {

constexpr const char* kName = "org.freedesktop.Notifications";
constexpr const char* kPath = "/org/freedesktop/Notifications";
constexpr const char* kAppName = "wsheartd";
// A server that hangs must not stall the agent's single loop for long.
constexpr std::chrono::seconds kCallTimeout{5};

std::string reason_of(const sdbus::Error& e) {
  std::string detail = e.getMessage();
  if (auto open = detail.find('('); open != std::string::npos && !detail.empty() && detail.back() == ')') {
    detail = detail.substr(open + 1, detail.size() - open - 2);
  }
  return detail.empty() ? e.getName() : detail;
}

}  // namespace

NotificationServer::NotificationServer() {
  try {
    connection_ = sdbus::createSessionBusConnection();
  } catch (const sdbus::Error& e) {
    throw CliError(Exit::Unavailable, "cannot connect to the session bus: " + reason_of(e));
  }
  try {
    auto proxy = sdbus::createProxy(*connection_, kName, kPath);
    std::string name, vendor, version, spec;
    proxy->callMethod("GetServerInformation")
        .onInterface(kName)
        .withTimeout(kCallTimeout)
        .storeResultsTo(name, vendor, version, spec);
    std::vector<std::string> caps;
    proxy->callMethod("GetCapabilities").onInterface(kName).withTimeout(kCallTimeout).storeResultsTo(caps);
    description_ = name + " " + version + " (" + vendor + ")";
    body_markup_ = std::find(caps.begin(), caps.end(), "body-markup") != caps.end();
  } catch (const sdbus::Error& e) {
    throw CliError(Exit::Unavailable, "no notification server on the session bus: " + reason_of(e));
  }
}

NotificationServer::~NotificationServer() = default;

bool NotificationServer::show(const Notice& notice, std::string& error) {
  std::uint32_t replaces = 0;
  if (!notice.replace_key.empty()) {
    if (auto it = shown_.find(notice.replace_key); it != shown_.end()) replaces = it->second;
  }
  std::map<std::string, sdbus::Variant> hints;
  hints["urgency"] = sdbus::Variant(static_cast<std::uint8_t>(notice.urgency));
  if (!notice.category.empty()) hints["category"] = sdbus::Variant(notice.category);
  hints["desktop-entry"] = sdbus::Variant(std::string("wsheartd"));
  const std::string body = body_markup_ ? escape_markup(notice.body) : notice.body;
  try {
    auto proxy = sdbus::createProxy(*connection_, kName, kPath);
    std::uint32_t id = 0;
    proxy->callMethod("Notify")
        .onInterface(kName)
        .withTimeout(kCallTimeout)
        .withArguments(std::string(kAppName), replaces, std::string(), notice.summary, body,
                       std::vector<std::string>{}, hints, std::int32_t{-1})
        .storeResultsTo(id);
    if (!notice.replace_key.empty()) shown_[notice.replace_key] = id;
    return true;
  } catch (const sdbus::Error& e) {
    error = e.getName() + ": " + e.getMessage();
    return false;
  }
}

}  // namespace wsheart::cli::notify
