// Network state from the system bus: NetworkManager if it owns its bus name,
// else systemd-networkd, else nothing. Reports "offline" and "back online /
// primary connection changed"; the state read when subscribing only sets the
// starting point (offline or not) and is never reported as a change.
#pragma once

#include <systemd/sd-bus.h>

#include <cstdint>
#include <functional>
#include <string>

#include "log/log.hpp"
#include "net/system_bus.hpp"

namespace wsheart::net {

// PURE: NetworkManager's and networkd's states, mapped. Unit-tested.
struct NetworkState {
  bool offline = false;
  std::string primary;  // NetworkManager's PrimaryConnection object path, "" unknown
};
// NM_STATE_*: ASLEEP (10) and DISCONNECTED (20) are offline. UNKNOWN (0)
// is not: no information is no reason to stop trying.
bool nm_offline(std::uint32_t nm_state);
// networkd: OnlineState "offline" when it has one, else OperationalState
// "off", "no-carrier" or "dormant".
bool networkd_offline(const std::string& online_state, const std::string& operational_state);

class NetworkWatch {
 public:
  enum class Change { Offline, Online, Changed };
  enum class Backend { None, NetworkManager, Networkd };

  NetworkWatch(SystemBus& bus, const Logger& log, std::function<void(Change)> on_change);
  ~NetworkWatch();
  NetworkWatch(const NetworkWatch&) = delete;
  NetworkWatch& operator=(const NetworkWatch&) = delete;

  // Picks the backend (asynchronously) and subscribes. `on_initial(offline)`
  // is called once with the state read at subscription time.
  void start(std::function<void(bool offline)> on_initial);
  Backend backend() const { return backend_; }
  bool offline() const { return state_.offline; }

 private:
  static int on_has_owner(sd_bus_message* m, void* userdata, sd_bus_error* error);
  static int on_properties(sd_bus_message* m, void* userdata, sd_bus_error* error);
  static int on_get_all(sd_bus_message* m, void* userdata, sd_bus_error* error);
  void ask_owner(const char* name);
  void subscribe();
  // Reads a{sv} of the backend's properties into `next`; false if malformed.
  bool read_properties(sd_bus_message* m, NetworkState& next);
  void apply(const NetworkState& next);

  SystemBus& bus_;
  const Logger& log_;
  std::function<void(Change)> on_change_;
  std::function<void(bool)> on_initial_;
  Backend backend_ = Backend::None;
  Backend asking_ = Backend::None;
  bool have_state_ = false;
  NetworkState state_;
  std::string online_state_;       // networkd
  std::string operational_state_;  // networkd
  std::uint32_t nm_state_ = 0;
  sd_bus_slot* call_ = nullptr;
  sd_bus_slot* match_ = nullptr;
};

}  // namespace wsheart::net
