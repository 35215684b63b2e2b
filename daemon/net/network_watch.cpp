#include "net/network_watch.hpp"

#include <cstring>

namespace wsheart::net {

namespace {
constexpr const char* kNm = "org.freedesktop.NetworkManager";
constexpr const char* kNmPath = "/org/freedesktop/NetworkManager";
constexpr const char* kNetworkd = "org.freedesktop.network1";
constexpr const char* kNetworkdPath = "/org/freedesktop/network1";
constexpr const char* kNetworkdManager = "org.freedesktop.network1.Manager";

constexpr std::uint32_t kNmAsleep = 10;
constexpr std::uint32_t kNmDisconnected = 20;
}  // namespace

bool nm_offline(std::uint32_t nm_state) { return nm_state >= kNmAsleep && nm_state <= kNmDisconnected; }

bool networkd_offline(const std::string& online_state, const std::string& operational_state) {
  if (!online_state.empty()) return online_state == "offline";
  return operational_state == "off" || operational_state == "no-carrier" || operational_state == "dormant";
}

NetworkWatch::NetworkWatch(SystemBus& bus, const Logger& log, std::function<void(Change)> on_change)
    : bus_(bus), log_(log), on_change_(std::move(on_change)) {}

NetworkWatch::~NetworkWatch() {
  sd_bus_slot_unref(call_);
  sd_bus_slot_unref(match_);
}

void NetworkWatch::start(std::function<void(bool offline)> on_initial) {
  on_initial_ = std::move(on_initial);
  if (!bus_.is_open()) {
    on_initial_(false);
    return;
  }
  asking_ = Backend::NetworkManager;
  ask_owner(kNm);
}

void NetworkWatch::ask_owner(const char* name) {
  const int r = sd_bus_call_method_async(bus_.get(), &call_, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                         "org.freedesktop.DBus", "NameHasOwner", &NetworkWatch::on_has_owner, this, "s",
                                         name);
  if (r < 0) {
    log_.warning("cannot ask the system bus for ", name, ": ", std::strerror(-r));
    on_initial_(false);
    return;
  }
  bus_.schedule();
}

int NetworkWatch::on_has_owner(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
  auto* self = static_cast<NetworkWatch*>(userdata);
  sd_bus_slot_unref(self->call_);
  self->call_ = nullptr;
  int has_owner = 0;
  if (sd_bus_message_get_error(m) != nullptr || sd_bus_message_read(m, "b", &has_owner) < 0) has_owner = 0;
  if (has_owner != 0) {
    self->backend_ = self->asking_;
    self->subscribe();
  } else if (self->asking_ == Backend::NetworkManager) {
    self->asking_ = Backend::Networkd;
    self->ask_owner(kNetworkd);
  } else {
    self->log_.info("neither NetworkManager nor systemd-networkd is on the system bus: network changes are not watched");
    self->on_initial_(false);
  }
  return 0;
}

void NetworkWatch::subscribe() {
  const bool nm = backend_ == Backend::NetworkManager;
  const std::string sender = nm ? kNm : kNetworkd;
  const std::string path = nm ? kNmPath : kNetworkdPath;
  const std::string interface = nm ? kNm : kNetworkdManager;
  const std::string match = "type='signal',sender='" + sender + "',path='" + path +
                            "',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',arg0='" +
                            interface + "'";
  int r = sd_bus_add_match_async(bus_.get(), &match_, match.c_str(), &NetworkWatch::on_properties, nullptr, this);
  // The match is queued before the read, so no change can fall between them.
  if (r >= 0) {
    r = sd_bus_call_method_async(bus_.get(), &call_, sender.c_str(), path.c_str(), "org.freedesktop.DBus.Properties",
                                 "GetAll", &NetworkWatch::on_get_all, this, "s", interface.c_str());
  }
  if (r < 0) {
    log_.warning("cannot watch ", sender, ": ", std::strerror(-r));
    backend_ = Backend::None;
    on_initial_(false);
    return;
  }
  log_.info("watching network changes through ", nm ? "NetworkManager" : "systemd-networkd");
  bus_.schedule();
}

int NetworkWatch::on_get_all(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
  auto* self = static_cast<NetworkWatch*>(userdata);
  sd_bus_slot_unref(self->call_);
  self->call_ = nullptr;
  NetworkState next = self->state_;
  if (const sd_bus_error* e = sd_bus_message_get_error(m)) {
    self->log_.warning("cannot read the network state (", e->name != nullptr ? e->name : "error",
                       "): assuming online");
  } else if (!self->read_properties(m, next)) {
    self->log_.warning("cannot parse the network state: assuming online");
    next = NetworkState{};
  }
  self->apply(next);
  return 0;
}

int NetworkWatch::on_properties(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
  auto* self = static_cast<NetworkWatch*>(userdata);
  if (sd_bus_message_skip(m, "s") < 0) return 0;  // the interface name, matched by arg0
  NetworkState next = self->state_;
  if (self->read_properties(m, next) && self->have_state_) self->apply(next);
  return 0;
}

bool NetworkWatch::read_properties(sd_bus_message* m, NetworkState& next) {
  if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0) return false;
  for (;;) {
    int r = sd_bus_message_enter_container(m, 'e', "sv");
    if (r < 0) return false;
    if (r == 0) break;
    const char* key = nullptr;
    if (sd_bus_message_read(m, "s", &key) < 0 || key == nullptr) return false;
    const std::string name(key);
    const char* text = nullptr;
    if (backend_ == Backend::NetworkManager && name == "State") {
      r = sd_bus_message_read(m, "v", "u", &nm_state_);
    } else if (backend_ == Backend::NetworkManager && name == "PrimaryConnection") {
      r = sd_bus_message_read(m, "v", "o", &text);
      if (r >= 0 && text != nullptr) next.primary = text;
    } else if (backend_ == Backend::Networkd && (name == "OnlineState" || name == "OperationalState")) {
      r = sd_bus_message_read(m, "v", "s", &text);
      if (r >= 0 && text != nullptr) (name == "OnlineState" ? online_state_ : operational_state_) = text;
    } else {
      r = sd_bus_message_skip(m, "v");
    }
    if (r < 0 || sd_bus_message_exit_container(m) < 0) return false;
  }
  if (sd_bus_message_exit_container(m) < 0) return false;
  next.offline = backend_ == Backend::NetworkManager ? nm_offline(nm_state_)
                                                     : networkd_offline(online_state_, operational_state_);
  return true;
}

void NetworkWatch::apply(const NetworkState& next) {
  const NetworkState before = state_;
  state_ = next;
  if (!have_state_) {  // the state at subscription time: a starting point, not a change
    have_state_ = true;
    log_.debug("network state at start: ", next.offline ? "offline" : "online");
    on_initial_(next.offline);
    return;
  }
  if (!before.offline && next.offline) {
    on_change_(Change::Offline);
  } else if (before.offline && !next.offline) {
    on_change_(Change::Online);
  } else if (!next.offline && next.primary != before.primary && !next.primary.empty() && next.primary != "/") {
    on_change_(Change::Changed);
  }
}

}  // namespace wsheart::net
