// The few operating-system lookups the loader needs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace wsheart::config {

// The uid of a passwd entry (NSS: may block on a remote directory).
std::optional<std::uint32_t> lookup_uid(const std::string& name);
// $HOME if absolute, else the passwd entry of the current uid, else "/".
std::string home_directory();
std::string errno_text(int error_number);

}  // namespace wsheart::config
