// The thin D-Bus client: every call wsheartctl makes to org.wsheartd1, with
// sdbus errors translated to CliError (exit codes 1, 4, 5) in one place.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "error.hpp"
#include "model.hpp"
#include "verbs.hpp"

namespace sdbus {
class IConnection;
class Error;
}  // namespace sdbus

namespace wsheart::cli {

// "system bus" / "session bus", for messages.
const char* bus_description(BusKind kind);

using bus::user_id_from_path;
using bus::user_object_path;

// Maps an sdbus error to the CLI's error. `user` names the user object the
// call was made on (for "no such user"), if any.
CliError translate_error(const sdbus::Error& error, BusKind bus, const std::optional<std::string>& user);

class BusClient {
 public:
  // Connects to the bus; throws CliError(NotReachable) when that fails.
  explicit BusClient(BusKind kind);
  ~BusClient();
  BusClient(const BusClient&) = delete;
  BusClient& operator=(const BusClient&) = delete;

  BusKind kind() const { return kind_; }
  sdbus::IConnection& connection() { return *connection_; }
  // Match rules of the long-running verbs (monitor, notify): every User
  // signal of the daemon, and NameOwnerChanged of its bus name.
  static std::string user_signals_rule();
  static std::string name_owner_rule();

  // Manager properties plus every user (GetManagedObjects), users sorted by id.
  DaemonStatus status();
  // true: queued, false: sent.
  bool send(const std::string& id, const std::string& text);
  // `fresh`: the user's resume cursors are forgotten first (ReconnectFresh).
  void reconnect(const std::string& id, bool fresh);
  // Throws CliError(Failure) with the PATH:LINE:COL lines on InvalidConfig.
  void reload();
  std::vector<HistoryMessage> recent(const std::string& id, std::uint64_t since_seq);
  // Manager.Subscribe(); an older daemon without it is fine (returns false).
  bool subscribe();
  void unsubscribe_quietly();
  // The unique name owning org.wsheartd1; nullopt when nobody owns it.
  std::optional<std::string> daemon_owner();

 private:
  BusKind kind_;
  std::unique_ptr<sdbus::IConnection> connection_;
};

}  // namespace wsheart::cli
