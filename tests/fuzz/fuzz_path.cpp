// bus::user_object_path: for every possible user id the result is a valid
// D-Bus object path under /org/wsheartd1/user, and sd_bus_path_decode gives
// the id back (so two ids never share a path).
#include <systemd/sd-bus.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "bus/bus_service.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The config accepts 1..255 bytes without control characters; the encoding
  // must also survive anything else a C string can hold.
  if (size == 0 || size > 1024) return 0;
  const std::string id(reinterpret_cast<const char*>(data), size);
  if (id.find('\0') != std::string::npos) return 0;

  const std::string path = wsheart::bus::user_object_path(id);
  FUZZ_CHECK(sd_bus_object_path_is_valid(path.c_str()) > 0, "invalid object path '%s'", path.c_str());
  FUZZ_CHECK(path.rfind("/org/wsheartd1/user/", 0) == 0, "path '%s' outside the user tree", path.c_str());
  FUZZ_CHECK(path.find('/', sizeof("/org/wsheartd1/user/") - 1) == std::string::npos,
             "path '%s' has more than one element below the prefix", path.c_str());
  char* decoded = nullptr;
  const int r = sd_bus_path_decode(path.c_str(), "/org/wsheartd1/user", &decoded);
  FUZZ_CHECK(r > 0 && decoded != nullptr, "sd_bus_path_decode('%s') = %d", path.c_str(), r);
  const bool same = id == decoded;
  std::free(decoded);
  FUZZ_CHECK(same, "path '%s' does not decode to its id", path.c_str());
  return 0;
}
