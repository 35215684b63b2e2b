// Raw sd-bus message helpers: owning pointers, appending values in the wire
// format sd-bus (and sdbus-c++) would produce, and building PropertiesChanged
// ourselves so it can travel through the ordered outbox.
#pragma once

#include <systemd/sd-bus.h>

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>

#include <sdbus-c++/Error.h>
#include <sdbus-c++/Message.h>

#include "supervisor/supervisor.hpp"

namespace wsheart::bus {

inline constexpr const char* kPropertiesInterface = "org.freedesktop.DBus.Properties";
inline constexpr const char* kPropertiesChanged = "PropertiesChanged";

struct MessageUnref {
  void operator()(sd_bus_message* m) const noexcept { sd_bus_message_unref(m); }
};
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;

struct SlotUnref {
  void operator()(sd_bus_slot* s) const noexcept { sd_bus_slot_unref(s); }
};
using SlotPtr = std::unique_ptr<sd_bus_slot, SlotUnref>;

struct Free {
  void operator()(void* p) const noexcept { std::free(p); }
};

// A failed sd-bus call as the sdbus::Error sdbus-c++ would have thrown.
inline void check(int r, const char* what) {
  if (r < 0) throw sdbus::createError(-r, what);
}

// sdbus-c++ 1.2 keeps the sd_bus_message of its Message wrappers protected.
// Forming a pointer to the protected member through a derived class is
// ordinary C++ ([class.protected]); the class is never instantiated.
struct RawMessage : sdbus::Message {
  static sd_bus_message* get(const sdbus::Message& message) {
    return static_cast<sd_bus_message*>(message.*(&RawMessage::msg_));
  }
};

MessagePtr new_signal(sd_bus* bus, const char* path, const char* interface, const char* member);

// An empty method return for `call`.
MessagePtr new_method_return(sd_bus_message* call);

// ObjectManager.InterfacesRemoved(object, interfaces) from `manager_path`.
MessagePtr interfaces_removed(sd_bus* bus, const char* manager_path, const char* object,
                              std::initializer_list<const char*> interfaces);

void append_bytes(sd_bus_message* m, const std::string& bytes);

// Appends a text as a D-Bus string, plain ASCII without sd-bus's per-byte
// UTF-8 check; invalid UTF-8 throws sdbus::Error.
void append_text(sd_bus_message* m, const std::string& text);

std::string state_word(supervisor::State state);

// A property value, appended inside the variant sd-bus (or we) opened, and
// the D-Bus type it has.
inline int append_value(sd_bus_message* m, const std::string& v) {
  return sd_bus_message_append_basic(m, 's', v.c_str());
}
inline int append_value(sd_bus_message* m, std::uint64_t v) { return sd_bus_message_append_basic(m, 't', &v); }
inline int append_value(sd_bus_message* m, std::uint32_t v) { return sd_bus_message_append_basic(m, 'u', &v); }
inline int append_value(sd_bus_message* m, supervisor::State v) { return append_value(m, state_word(v)); }
// a{ss}
inline int append_value(sd_bus_message* m, const std::map<std::string, std::string>& v) {
  int r = sd_bus_message_open_container(m, 'a', "{ss}");
  for (auto it = v.begin(); r >= 0 && it != v.end(); ++it) {
    r = sd_bus_message_append(m, "{ss}", it->first.c_str(), it->second.c_str());
  }
  return r < 0 ? r : sd_bus_message_close_container(m);
}
constexpr const char* signature_of(const std::string& /*v*/) { return "s"; }
constexpr const char* signature_of(std::uint64_t /*v*/) { return "t"; }
constexpr const char* signature_of(std::uint32_t /*v*/) { return "u"; }
constexpr const char* signature_of(supervisor::State /*v*/) { return "s"; }

// One {sv} entry of a PropertiesChanged dictionary.
template <typename T>
void append_entry(sd_bus_message* m, const char* name, const T& value) {
  check(sd_bus_message_open_container(m, 'e', "sv"), "Failed to open a dictionary entry");
  check(sd_bus_message_append_basic(m, 's', name), "Failed to append a property name");
  check(sd_bus_message_open_container(m, 'v', signature_of(value)), "Failed to open a variant");
  check(append_value(m, value), "Failed to append a property value");
  check(sd_bus_message_close_container(m), "Failed to close a variant");
  check(sd_bus_message_close_container(m), "Failed to close a dictionary entry");
}

// PropertiesChanged(s interface, a{sv} changed, as invalidated): `fill`
// appends the changed entries (in name order, as sdbus-c++'s std::map did).
template <typename Fill>
MessagePtr properties_changed(sd_bus* bus, const char* path, const char* interface, Fill&& fill) {
  MessagePtr signal = new_signal(bus, path, kPropertiesInterface, kPropertiesChanged);
  sd_bus_message* m = signal.get();
  check(sd_bus_message_append_basic(m, 's', interface), "Failed to append the interface");
  check(sd_bus_message_open_container(m, 'a', "{sv}"), "Failed to open the changed properties");
  fill(m);
  check(sd_bus_message_close_container(m), "Failed to close the changed properties");
  check(sd_bus_message_open_container(m, 'a', "s"), "Failed to open the invalidated properties");
  check(sd_bus_message_close_container(m), "Failed to close the invalidated properties");
  return signal;
}

}  // namespace wsheart::bus
