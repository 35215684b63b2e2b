#include "bus/access.hpp"

#include <memory>

#include <sdbus-c++/Error.h>

#include "bus/names.hpp"

namespace wsheart::bus {

namespace {

struct CredsUnref {
  void operator()(sd_bus_creds* c) const noexcept { sd_bus_creds_unref(c); }
};

}  // namespace

// The caller's uid as the bus daemon vouches for it: GetConnectionUnixUser of
// the sender's unique name (the uid the kernel gave the bus for its socket).
// Only that: without SD_BUS_CREDS_AUGMENT nothing is read from /proc, which
// the unit's sandbox (ProtectProc=invisible, ProcSubset=pid) hides, and which
// could name another process once the caller's pid is reused.
uid_t caller_uid(sd_bus_message* call) {
  const char* sender = sd_bus_message_get_sender(call);
  if (sender == nullptr) throw sdbus::Error(kErrorAccessDenied, "cannot determine the caller's credentials: no sender");
  sd_bus_creds* raw = nullptr;
  int r = sd_bus_get_name_creds(sd_bus_message_get_bus(call), sender, SD_BUS_CREDS_EUID, &raw);
  std::unique_ptr<sd_bus_creds, CredsUnref> creds(raw);
  uid_t uid = static_cast<uid_t>(-1);
  if (r >= 0) r = sd_bus_creds_get_euid(creds.get(), &uid);
  if (r < 0) {
    throw sdbus::Error(kErrorAccessDenied, "cannot determine the caller's credentials: " +
                                               sdbus::createError(-r, "Failed to get bus creds").getMessage());
  }
  return uid;
}

void check_user_access(std::optional<std::uint32_t> owner, sd_bus_message* call, const std::string& id) {
  if (!owner) return;
  const uid_t uid = caller_uid(call);
  if (uid != 0 && uid != *owner) throw sdbus::Error(kErrorAccessDenied, "access to user " + id + " denied");
}

}  // namespace wsheart::bus
