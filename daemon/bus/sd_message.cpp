#include "bus/sd_message.hpp"

#include <cstring>

namespace wsheart::bus {

namespace {

// True when every byte is 0x01..0x7f: valid UTF-8 without NUL, a valid D-Bus
// string as it is. Eight bytes per step.
bool plain_ascii(const std::string& text) {
  const char* p = text.data();
  std::size_t n = text.size();
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, 8);
    // A high bit set, or a zero byte (the classic haszero test).
    if (((w | ((w - kOnes) & ~w)) & kHigh) != 0) return false;
  }
  for (; n > 0; ++p, --n) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == 0 || c >= 0x80) return false;
  }
  return true;
}

}  // namespace

MessagePtr new_signal(sd_bus* bus, const char* path, const char* interface, const char* member) {
  sd_bus_message* m = nullptr;
  check(sd_bus_message_new_signal(bus, &m, path, interface, member), "Failed to create a signal");
  return MessagePtr(m);
}

MessagePtr new_method_return(sd_bus_message* call) {
  sd_bus_message* m = nullptr;
  check(sd_bus_message_new_method_return(call, &m), "Failed to create the reply");
  return MessagePtr(m);
}

MessagePtr interfaces_removed(sd_bus* bus, const char* manager_path, const char* object,
                              std::initializer_list<const char*> interfaces) {
  MessagePtr signal = new_signal(bus, manager_path, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved");
  check(sd_bus_message_append(signal.get(), "o", object), "Failed to append the object path");
  check(sd_bus_message_open_container(signal.get(), 'a', "s"), "Failed to open the array");
  for (const char* interface : interfaces) {
    check(sd_bus_message_append(signal.get(), "s", interface), "Failed to append an interface");
  }
  check(sd_bus_message_close_container(signal.get()), "Failed to close the array");
  return signal;
}

void append_bytes(sd_bus_message* m, const std::string& bytes) {
  check(sd_bus_message_append_array(m, 'y', bytes.data(), bytes.size()), "Failed to append byte array");
}

// sd-bus checks every string with its byte-at-a-time UTF-8 validator (about a
// fifth of the daemon's CPU for 16 KiB messages); plain ASCII needs no check,
// so it is copied straight into the message. Anything else takes sd-bus's
// checked path (invalid UTF-8 throws, and the caller drops and counts it).
void append_text(sd_bus_message* m, const std::string& text) {
  if (!plain_ascii(text)) {
    check(sd_bus_message_append_basic(m, 's', text.c_str()), "Failed to serialize a string value");
    return;
  }
  char* space = nullptr;
  check(sd_bus_message_append_string_space(m, text.size(), &space), "Failed to append a string");
  if (!text.empty()) std::memcpy(space, text.data(), text.size());
}

std::string state_word(supervisor::State state) { return std::string(supervisor::to_string(state)); }

}  // namespace wsheart::bus
