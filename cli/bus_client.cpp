#include "bus_client.hpp"

#include <algorithm>
#include <map>

#include <sdbus-c++/sdbus-c++.h>

#include "bus/names.hpp"
#include "error.hpp"
#include "wsheartd1-proxy.h"

namespace wsheart::cli {

namespace {

constexpr const char* kDBusName = "org.freedesktop.DBus";
constexpr const char* kDBusPath = "/org/freedesktop/DBus";
constexpr const char* kPropertiesInterface = "org.freedesktop.DBus.Properties";
constexpr const char* kObjectManagerInterface = "org.freedesktop.DBus.ObjectManager";

using Properties = std::map<std::string, sdbus::Variant>;
using ManagedObjects = std::map<sdbus::ObjectPath, std::map<std::string, Properties>>;

// The generated proxy, for its typed method calls only: it is never
// registered, so it installs no match rules and needs no event loop.
class UserProxy final : public sdbus::ProxyInterfaces<org::wsheartd1::User_proxy> {
 public:
  UserProxy(sdbus::IConnection& connection, const std::string& path)
      : ProxyInterfaces(connection, wsheart::bus::kBusName, path) {}
  ~UserProxy() = default;
  UserProxy(const UserProxy&) = delete;
  UserProxy& operator=(const UserProxy&) = delete;

 private:
  void onMessageReceived(const uint64_t& /*seq*/, const std::string& /*text*/) override {}
  void onBinaryMessageReceived(const uint64_t& /*seq*/, const std::vector<uint8_t>& /*data*/) override {}
  void onStateChanged(const std::string& /*old*/, const std::string& /*new_*/,
                      const std::string& /*reason*/) override {}
};

class ManagerProxy final : public sdbus::ProxyInterfaces<org::wsheartd1::Manager_proxy> {
 public:
  explicit ManagerProxy(sdbus::IConnection& connection)
      : ProxyInterfaces(connection, wsheart::bus::kBusName, wsheart::bus::kManagerPath) {}
  ~ManagerProxy() = default;
  ManagerProxy(const ManagerProxy&) = delete;
  ManagerProxy& operator=(const ManagerProxy&) = delete;
};

template <typename T>
T property(const Properties& props, const char* name, T fallback = T{}) {
  auto it = props.find(name);
  if (it == props.end() || !it->second.template containsValueOfType<T>()) return fallback;
  return it->second.template get<T>();
}

UserStatus user_from_properties(const std::string& path, const Properties& p) {
  UserStatus u;
  u.id = property<std::string>(p, "Id");
  if (u.id.empty()) u.id = user_id_from_path(path).value_or(path);
  u.url = property<std::string>(p, "Url");
  u.proxy = property<std::string>(p, "Proxy");
  u.state = property<std::string>(p, "State");
  u.reason = property<std::string>(p, "StateReason");
  u.state_since_usec = property<std::uint64_t>(p, "StateSince");
  u.rtt_usec = property<std::uint64_t>(p, "RoundTripUsec");
  u.reconnects = property<std::uint32_t>(p, "Reconnects");
  u.received = property<std::uint64_t>(p, "MessagesReceived");
  u.sent = property<std::uint64_t>(p, "MessagesSent");
  u.dropped = property<std::uint64_t>(p, "MessagesDropped");
  u.last_message_usec = property<std::uint64_t>(p, "LastMessageAt");
  u.duplicates = property<std::uint64_t>(p, "MessagesDuplicate");
  u.cursor = property<std::map<std::string, std::string>>(p, "Cursor");
  return u;
}

bool is_one_of(const std::string& name, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return name == n; });
}

}  // namespace

const char* bus_description(BusKind kind) { return kind == BusKind::System ? "system bus" : "session bus"; }

CliError translate_error(const sdbus::Error& error, BusKind bus, const std::optional<std::string>& user) {
  const std::string& name = error.getName();
  const std::string& message = error.getMessage();
  if (is_one_of(name, {"org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"})) {
    return CliError(Exit::NotReachable, std::string("wsheartd is not running on the ") + bus_description(bus));
  }
  if (is_one_of(name, {"org.freedesktop.DBus.Error.Disconnected", "org.freedesktop.DBus.Error.NoServer",
                       "System.Error.ECONNRESET", "System.Error.ENOTCONN"})) {
    return CliError(Exit::NotReachable, std::string("lost the connection to the ") + bus_description(bus));
  }
  if (user && is_one_of(name, {wsheart::bus::kErrorNoSuchUser, "org.freedesktop.DBus.Error.UnknownObject",
                               "org.freedesktop.DBus.Error.UnknownMethod",
                               "org.freedesktop.DBus.Error.UnknownInterface"})) {
    return CliError(Exit::NoSuchUser, "no such user '" + *user + "'");
  }
  if (is_one_of(name, {wsheart::bus::kErrorAccessDenied, "org.freedesktop.DBus.Error.AccessDenied",
                       "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"})) {
    return CliError(Exit::Failure, message.empty() ? "permission denied" : "permission denied: " + message);
  }
  if (is_one_of(name, {"org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Timeout",
                       "org.freedesktop.DBus.Error.TimedOut", "System.Error.ETIMEDOUT"})) {
    return CliError(Exit::Failure, "wsheartd did not answer in time");
  }
  if (name == wsheart::bus::kErrorInvalidArgument) {
    return CliError(Exit::Failure, message.empty() ? "invalid argument" : message);
  }
  if (message.empty()) return CliError(Exit::Failure, name);
  return CliError(Exit::Failure, message + " (" + name + ")");
}

BusClient::BusClient(BusKind kind) : kind_(kind) {
  try {
    connection_ = kind == BusKind::System ? sdbus::createSystemBusConnection() : sdbus::createSessionBusConnection();
  } catch (const sdbus::Error& e) {
    std::string detail = e.getMessage();
    // sdbus says "Failed to open bus (No such file or directory)": keep the reason.
    if (auto open = detail.find('('); open != std::string::npos && detail.back() == ')') {
      detail = detail.substr(open + 1, detail.size() - open - 2);
    }
    throw CliError(Exit::NotReachable, std::string("cannot connect to the ") + bus_description(kind) +
                                           (detail.empty() ? "" : ": " + detail));
  }
}

BusClient::~BusClient() = default;

DaemonStatus BusClient::status() {
  DaemonStatus status;
  try {
    auto manager = sdbus::createProxy(*connection_, wsheart::bus::kBusName, wsheart::bus::kManagerPath);
    Properties manager_props;
    manager->callMethod("GetAll")
        .onInterface(kPropertiesInterface)
        .withArguments(std::string(wsheart::bus::kManagerInterface))
        .storeResultsTo(manager_props);
    ManagedObjects objects;
    manager->callMethod("GetManagedObjects").onInterface(kObjectManagerInterface).storeResultsTo(objects);

    status.version = property<std::string>(manager_props, "Version");
    status.user_count = property<std::uint32_t>(manager_props, "UserCount");
    status.open_count = property<std::uint32_t>(manager_props, "OpenCount");
    for (const auto& [path, interfaces] : objects) {
      auto it = interfaces.find(wsheart::bus::kUserInterface);
      if (it == interfaces.end()) continue;
      status.users.push_back(user_from_properties(path, it->second));
    }
  } catch (const sdbus::Error& e) {
    throw translate_error(e, kind_, std::nullopt);
  }
  std::sort(status.users.begin(), status.users.end(),
            [](const UserStatus& a, const UserStatus& b) { return a.id < b.id; });
  return status;
}

bool BusClient::send(const std::string& id, const std::string& text) {
  try {
    UserProxy proxy(*connection_, user_object_path(id));
    return proxy.Send(text);
  } catch (const sdbus::Error& e) {
    throw translate_error(e, kind_, id);
  }
}

std::string BusClient::user_signals_rule() {
  return std::string("type='signal',sender='") + bus::kBusName + "',interface='" + bus::kUserInterface +
         "',path_namespace='" + bus::kUserPathPrefix + "'";
}

std::string BusClient::name_owner_rule() {
  return std::string("type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='") +
         bus::kBusName + "'";
}

void BusClient::reconnect(const std::string& id, bool fresh) {
  try {
    UserProxy proxy(*connection_, user_object_path(id));
    if (fresh) {
      proxy.ReconnectFresh();
    } else {
      proxy.Reconnect();
    }
  } catch (const sdbus::Error& e) {
    throw translate_error(e, kind_, id);
  }
}

void BusClient::reload() {
  try {
    ManagerProxy proxy(*connection_);
    proxy.Reload();
  } catch (const sdbus::Error& e) {
    if (e.getName() == wsheart::bus::kErrorInvalidConfig) {
      std::string lines = e.getMessage();
      if (!lines.empty() && lines.back() != '\n') lines += '\n';
      throw CliError(Exit::Failure, "reload failed, the running configuration is unchanged", lines);
    }
    throw translate_error(e, kind_, std::nullopt);
  }
}

std::vector<HistoryMessage> BusClient::recent(const std::string& id, std::uint64_t since_seq) {
  std::vector<HistoryMessage> out;
  try {
    UserProxy proxy(*connection_, user_object_path(id));
    for (const auto& entry : proxy.RecentMessages(since_seq)) {
      out.push_back({entry.get<0>(), entry.get<1>(), entry.get<2>()});
    }
  } catch (const sdbus::Error& e) {
    throw translate_error(e, kind_, id);
  }
  return out;
}

bool BusClient::subscribe() {
  try {
    ManagerProxy proxy(*connection_);
    proxy.Subscribe();
    return true;
  } catch (const sdbus::Error& e) {
    if (is_one_of(e.getName(), {"org.freedesktop.DBus.Error.UnknownMethod",
                                "org.freedesktop.DBus.Error.UnknownInterface"})) {
      return false;
    }
    throw translate_error(e, kind_, std::nullopt);
  }
}

void BusClient::unsubscribe_quietly() {
  try {
    auto proxy = sdbus::createProxy(*connection_, wsheart::bus::kBusName, wsheart::bus::kManagerPath);
    proxy->callMethod("Unsubscribe")
        .onInterface(wsheart::bus::kManagerInterface)
        .withTimeout(std::chrono::milliseconds(500));
  } catch (const sdbus::Error&) {
    // Leaving the bus unsubscribes as well; nothing to report.
  }
}

std::optional<std::string> BusClient::daemon_owner() {
  try {
    auto proxy = sdbus::createProxy(*connection_, kDBusName, kDBusPath);
    std::string owner;
    proxy->callMethod("GetNameOwner")
        .onInterface(kDBusName)
        .withArguments(std::string(wsheart::bus::kBusName))
        .storeResultsTo(owner);
    return owner;
  } catch (const sdbus::Error& e) {
    if (e.getName() == "org.freedesktop.DBus.Error.NameHasNoOwner") return std::nullopt;
    throw translate_error(e, kind_, std::nullopt);
  }
}

}  // namespace wsheart::cli
