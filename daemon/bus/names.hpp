// Every D-Bus name of the public API in one place, and the user object paths
// (daemon and CLI share it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace wsheart::bus {

inline constexpr const char* kBusName = "org.wsheartd1";
inline constexpr const char* kManagerPath = "/org/wsheartd1";
inline constexpr const char* kUserPathPrefix = "/org/wsheartd1/user";
inline constexpr const char* kManagerInterface = "org.wsheartd1.Manager";
inline constexpr const char* kUserInterface = "org.wsheartd1.User";

inline constexpr const char* kErrorInvalidConfig = "org.wsheartd1.Error.InvalidConfig";
inline constexpr const char* kErrorNoSuchUser = "org.wsheartd1.Error.NoSuchUser";
inline constexpr const char* kErrorAccessDenied = "org.wsheartd1.Error.AccessDenied";
inline constexpr const char* kErrorInvalidArgument = "org.wsheartd1.Error.InvalidArgument";

enum class BusKind : std::uint8_t { System, Session };

// The path of a user's object: kUserPathPrefix + "/" + sd_bus_path_encode(id).
// Throws std::bad_alloc when sd-bus cannot allocate.
std::string user_object_path(const std::string& id);
// The inverse; nullopt when `path` is not a user object path.
std::optional<std::string> user_id_from_path(const std::string& path);

}  // namespace wsheart::bus
