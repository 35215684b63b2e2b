// The org.wsheartd1 service: object tree, properties, signals, methods, and
// the glue that lets the daemon's asio loop drive sd-bus on the same thread.
// The daemon core is reached only through Backend; this module knows nothing
// of sockets or timing policy.
#pragma once

#include <cstddef>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "bus/names.hpp"
#include "log/log.hpp"
#include "supervisor/supervisor.hpp"

namespace sdbus {
class IConnection;
}

namespace wsheart::bus {

// What the bus shows of a user's configuration. The core hands it over at
// add_user and again when a reload changes the user (set_profile); the bus
// never asks for it.
struct UserProfile {
  std::string url;    // redacted
  std::string proxy;  // "http://host:port" (never credentials); "" = direct
  std::optional<std::uint32_t> owner_uid;  // access restriction (system bus only)
};

// One user as the core keeps it. The bus reaches it through the entry that
// add_user made, never by id. Called on the loop thread only, between
// add_user and remove_user.
class UserSource {
 public:
  // The figures behind the properties, read where they are kept.
  virtual const supervisor::Stats& stats() const = 0;
  virtual std::uint64_t duplicates() const = 0;                  // replays not republished
  virtual std::map<std::string, std::string> cursor() const = 0;  // resume cursor values (none without a cursor)
  // The supervisor's answer as it is (the bus alone turns it into a reply).
  virtual supervisor::SendResult send(std::string text) = 0;
  // fresh: forget the user's resume cursors first.
  virtual void reconnect(bool fresh) = 0;
  // Copies of history entries with seq > since (oldest first).
  virtual std::vector<supervisor::Message> recent(std::uint64_t since_seq) const = 0;
  // A message of this user that could not be put on the bus (outgoing queue full).
  virtual void bus_dropped() = 0;

 protected:
  ~UserSource() = default;
};

// The bus's record of one user: made by add_user, passed back to every
// per-user call, valid until remove_user. Opaque outside the bus.
struct UserEntry;

// The daemon core as a whole. Called on the loop thread only.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::uint32_t open_count() const = 0;
  // Re-reads the config. `done` is called later, on the loop, with nothing on
  // success, otherwise the PATH:LINE:COL lines (and nothing changed).
  using ReloadDone = std::function<void(const std::vector<std::string>& problems)>;
  virtual void reload(ReloadDone done) = 0;
};

// How often changed message counters are announced at most.
inline constexpr std::chrono::milliseconds kCounterInterval{100};

inline constexpr std::size_t kDefaultQueueBytes = std::size_t{64} << 20;

struct BusOptions {
  BusKind kind = BusKind::Session;
  std::string version;
  // Non-empty: connect to this D-Bus address instead of the one `kind` names
  // (tests, private buses). `kind` still decides the access rules.
  std::string address;
  // Called (from a handler posted to the loop) once when the bus connection
  // breaks, e.g. dbus-daemon went away. The service is inert afterwards.
  std::function<void(const std::string& why)> on_disconnected;
  // What signals waiting for a slow bus may hold in bytes ([daemon]
  // bus_queue_size); beyond it messages are dropped and counted.
  std::size_t queue_max_bytes = kDefaultQueueBytes;
};

class BusService {
 public:
  // Opens the bus connection (system or session; honours DBUS_*_BUS_ADDRESS)
  // and hooks its fd into `io`. Throws BusUnavailable when unreachable.
  BusService(asio::io_context& io, Backend& backend, const Logger& log, BusOptions options);
  ~BusService();
  BusService(const BusService&) = delete;
  BusService& operator=(const BusService&) = delete;

  // Object tree. Build it before request_name(). `source` must outlive the
  // entry (remove_user, or the service's end).
  UserEntry& add_user(const std::string& id, UserSource& source, UserProfile profile);
  void remove_user(UserEntry& user);
  // A reload changed the user's configuration: Url and Proxy follow.
  void set_profile(UserEntry& user, UserProfile profile);

  // Claim org.wsheartd1 (without queueing). Throws NameTaken if another
  // connection owns it, BusUnavailable for any other refusal (e.g. policy).
  void request_name();
  void release_name();

  // Emitters. Properties are coalesced: at most one PropertiesChanged per
  // object per loop turn, sent from a handler posted to the loop.
  void user_changed(UserEntry& user);
  // Only message counters changed (MessagesReceived/Sent/Dropped, LastMessageAt):
  // announced at most every kCounterInterval, or with the next user_changed().
  void counters_changed(UserEntry& user);
  void manager_changed();
  void emit_message(UserEntry& user, const supervisor::Message& message);
  void emit_state(UserEntry& user, supervisor::State old_state, supervisor::State new_state,
                  const std::string& reason);

  // Send everything queued now: pending PropertiesChanged, then the outgoing
  // queue, bounded by a short timeout. Never throws.
  void flush();
  // The end of the service on the bus: flush(), then release the name, so a
  // subscriber that follows the name owner gets every last signal. Never throws.
  void shutdown();

  // Observers (tests, STATUS=).
  bool owns_name() const;
  std::size_t subscriber_count() const;
  std::size_t queued_signals() const;  // waiting for the socket (bounded; beyond: dropped and counted)
  std::size_t queued_bytes() const;    // their cost as bounded by BusOptions::queue_max_bytes
  void set_queue_max_bytes(std::size_t bytes);  // reload

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// what() is the cause in one line, meant to follow the caller's context, e.g.
// "cannot connect to the system bus: " + what(), or "cannot own the bus name
// org.wsheartd1: already owned by another process".
struct BusUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct NameTaken : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace wsheart::bus
