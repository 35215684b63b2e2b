#include "bus/names.hpp"

#include <systemd/sd-bus.h>

#include <cstdlib>
#include <new>

namespace wsheart::bus {

std::string user_object_path(const std::string& id) {
  char* path = nullptr;
  const int r = sd_bus_path_encode(kUserPathPrefix, id.c_str(), &path);
  if (r < 0 || path == nullptr) throw std::bad_alloc();
  std::string out(path);
  std::free(path);  // NOLINT(cppcoreguidelines-no-malloc): allocated by libsystemd
  return out;
}

std::optional<std::string> user_id_from_path(const std::string& path) {
  char* id = nullptr;
  const int r = sd_bus_path_decode(path.c_str(), kUserPathPrefix, &id);
  if (r <= 0 || id == nullptr) return std::nullopt;
  std::string out(id);
  std::free(id);  // NOLINT(cppcoreguidelines-no-malloc)
  return out;
}

}  // namespace wsheart::bus
