// Method bodies report failures as named D-Bus errors; nothing else may
// unwind through sdbus-c++ or sd-bus's C callbacks.
#pragma once

#include <systemd/sd-bus.h>

#include <exception>
#include <string>

#include <sdbus-c++/Error.h>

#include "bus/names.hpp"

namespace wsheart::bus {

inline constexpr const char* kErrorFailed = "org.freedesktop.DBus.Error.Failed";

// Runs a method body; anything but a named D-Bus error becomes a generic
// failure instead of unwinding through sd-bus's C code.
template <typename F>
auto guarded(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const sdbus::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw sdbus::Error(kErrorFailed, std::string("internal error: ") + e.what());
  }
}

// The same for the raw sd-bus callbacks: no exception may cross into C. The
// error goes into `error` (sd-bus replies with it) and a negative errno is
// returned, as sd-bus expects.
template <typename F>
int answer(sd_bus_error* error, F&& body) noexcept {
  try {
    return guarded(body);
  } catch (const sdbus::Error& e) {
    return sd_bus_error_set(error, e.getName().c_str(), e.getMessage().c_str());
  } catch (...) {
    return sd_bus_error_set(error, kErrorFailed, "internal error");
  }
}

}  // namespace wsheart::bus
