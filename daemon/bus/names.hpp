// Every D-Bus name of the public API in one place (daemon and CLI share it).
#pragma once

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

}  // namespace wsheart::bus
