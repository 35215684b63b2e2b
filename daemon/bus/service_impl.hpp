// BusService's insides, shared by the files that implement them:
//   bus_service.cpp      construction, the object tree, the name, emitting, flush
//   user_vtable.cpp      the org.wsheartd1.User objects (one raw sd-bus registration)
//   manager_methods.cpp  the org.wsheartd1.Manager methods and the subscribers
//   property_changes.cpp PropertiesChanged coalescing
// and the parts with a concern of their own: bus_loop (asio <-> sd-bus),
// outbox (ordered, bounded output), access (system-bus access control),
// sd_message (raw message helpers).
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio/steady_timer.hpp>
#include <sdbus-c++/sdbus-c++.h>

#include "bus/access.hpp"
#include "bus/bus_loop.hpp"
#include "bus/bus_service.hpp"
#include "bus/call_guard.hpp"
#include "bus/names.hpp"
#include "bus/outbox.hpp"
#include "bus/sd_message.hpp"
#include "wsheartd1-adaptor.h"

namespace wsheart::bus {

// All the bus keeps per user. The object itself is served by kUserVtable.
struct UserEntry {
  UserEntry(std::string user_id, UserSource& user_source, UserProfile user_profile)
      : id(std::move(user_id)), source(&user_source), profile(std::move(user_profile)),
        owner(std::make_shared<MessageOwner>(MessageOwner{&user_source})) {}
  ~UserEntry() { owner->source = nullptr; }  // its queued messages outlive it
  UserEntry(const UserEntry&) = delete;
  UserEntry& operator=(const UserEntry&) = delete;

  std::string id;
  const std::string* path = nullptr;  // the users_ key: user_object_path(id)
  UserSource* source;
  UserProfile profile;
  MessageOwnerPtr owner;  // shared with its queued messages
  // What PropertiesChanged last announced of the figures; Url and Proxy are
  // announced when set_profile changes them.
  supervisor::Stats announced;
  std::uint64_t announced_duplicates = 0;
  bool url_changed = false;
  bool proxy_changed = false;
  bool dirty = false;           // queued for the next flush
  bool counters_dirty = false;  // queued for the next counter flush
};

class BusService::Impl {
 public:
  Impl(asio::io_context& io, Backend& backend, const Logger& log, BusOptions options);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  UserEntry& add_user(const std::string& id, UserSource& source, UserProfile profile);
  void remove_user(UserEntry& user);
  void set_profile(UserEntry& user, UserProfile profile);
  void request_name();
  void release_name();
  void user_changed(UserEntry& user);
  void counters_changed(UserEntry& user);
  void manager_changed();
  void emit_message(UserEntry& user, const supervisor::Message& message);
  void emit_state(UserEntry& user, supervisor::State old_state, supervisor::State new_state,
                  const std::string& reason);
  void flush();
  bool owns_name() const { return name_owned_; }
  std::size_t subscriber_count() const { return subscribers_.size(); }
  std::size_t queued_signals() const { return outbox_.size(); }
  std::size_t queued_bytes() const { return outbox_.bytes(); }
  void set_queue_max_bytes(std::size_t bytes) { outbox_.set_max_bytes(bytes); }

 private:
  // ---- objects -----------------------------------------------------------
  class ManagerObject final
      : public sdbus::AdaptorInterfaces<org::wsheartd1::Manager_adaptor, sdbus::ObjectManager_adaptor,
                                        sdbus::Properties_adaptor> {
   public:
    ManagerObject(sdbus::IConnection& connection, Impl& impl)
        : AdaptorInterfaces(connection, kManagerPath), impl_(impl) {
      registerAdaptor();
    }
    ~ManagerObject() {
      try {
        unregisterAdaptor();
      } catch (...) {  // NOLINT(bugprone-empty-catch): nothing to do in a destructor
      }
    }
    ManagerObject(const ManagerObject&) = delete;
    ManagerObject& operator=(const ManagerObject&) = delete;
    sdbus::IObject& object() { return getObject(); }

   private:
    void Reload(sdbus::Result<>&& result) override {
      try {
        guarded([&] { impl_.on_reload(getObject(), std::move(result)); });
      } catch (const sdbus::Error& e) {
        result.returnError(e);
      }
    }
    void Subscribe() override {
      guarded([&] { impl_.on_subscribe(getObject()); });
    }
    void Unsubscribe() override {
      guarded([&] { impl_.on_unsubscribe(getObject()); });
    }
    std::string Version() override { return impl_.options_.version; }
    uint32_t UserCount() override { return impl_.user_count(); }
    uint32_t OpenCount() override {
      return guarded([&] { return impl_.backend_.open_count(); });
    }

    Impl& impl_;
  };

  // ---- the user objects: sd-bus callbacks (user_vtable.cpp) ---------------
  // The slots' userdata is this Impl; a method or property callback gets the
  // UserEntry that find_user() returned and reaches the Impl through the slot
  // sd-bus is dispatching (sd_bus_get_current_slot).
  static const sd_bus_vtable kUserVtable[];
  static int find_user(sd_bus* bus, const char* path, const char* interface, void* userdata, void** found,
                       sd_bus_error* error) noexcept;
  static int enumerate_users(sd_bus* bus, const char* prefix, void* userdata, char*** nodes,
                             sd_bus_error* error) noexcept;
  static int user_root_call(sd_bus_message* call, void* userdata, sd_bus_error* error) noexcept;
  static int method_send(sd_bus_message* call, void* userdata, sd_bus_error* error) noexcept;
  template <bool Fresh>
  static int method_reconnect(sd_bus_message* call, void* userdata, sd_bus_error* error) noexcept;
  static int method_recent(sd_bus_message* call, void* userdata, sd_bus_error* error) noexcept;
  template <auto Read>
  static int get_property(sd_bus* bus, const char* path, const char* interface, const char* property,
                          sd_bus_message* reply, void* userdata, sd_bus_error* error) noexcept;
  static int get_cursor(sd_bus* bus, const char* path, const char* interface, const char* property,
                        sd_bus_message* reply, void* userdata, sd_bus_error* error) noexcept;
  static Impl& dispatching(sd_bus* bus);
  UserEntry* user_at(const char* path);
  void register_user_tree();
  void unregister_user_tree();
  bool on_send(const UserEntry& user, sd_bus_message* call, std::string text);
  void on_reconnect(const UserEntry& user, sd_bus_message* call, bool fresh);
  void on_recent(const UserEntry& user, sd_bus_message* call, std::uint64_t since);
  void check_access(const UserEntry& user, sd_bus_message* call) const;

  // ---- the manager's methods and the subscribers (manager_methods.cpp) ----
  void on_reload(sdbus::IObject& object, sdbus::Result<>&& result);
  void on_subscribe(sdbus::IObject& object);
  void on_unsubscribe(sdbus::IObject& object);
  void name_owner_changed(sdbus::Message& message);
  static uid_t caller_uid(const sdbus::IObject& object);
  std::uint32_t user_count() const { return static_cast<std::uint32_t>(users_.size()); }

  // ---- property coalescing (property_changes.cpp) --------------------------
  void schedule_flush();
  void flush_counters();
  void flush_properties();
  void flush_user(UserEntry& user);

  // ---- output (bus_service.cpp) --------------------------------------------
  void enqueue(MessagePtr signal, const MessageOwnerPtr& owner, std::size_t payload);
  // A method reply, in order with the signals before it.
  void send_reply(MessagePtr reply);
  void drain_outbox();
  void connection_lost(const std::string& why);

  asio::io_context& io_;
  Backend& backend_;
  const Logger& log_;
  BusOptions options_;

  // Handlers posted to the loop hold a weak_ptr to this token and do nothing
  // once it is gone, so the service can be destroyed with work still queued.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);

  std::unique_ptr<sdbus::IConnection> conn_;
  sd_bus* raw_bus_ = nullptr;  // conn_'s sd_bus (not owned)
  sdbus::Slot owner_watch_;
  std::unique_ptr<ManagerObject> manager_;
  // The user tree's registrations, present while there is at least one user
  // (with none, the tree looks exactly as it did with per-user objects).
  SlotPtr user_vtable_;
  SlotPtr user_enumerator_;
  SlotPtr user_root_;
  // By object path, which is what sd-bus asks about. Node-based: entries
  // stay put when the table grows, so a UserEntry& is stable until the user
  // is removed.
  std::unordered_map<std::string, UserEntry> users_;
  Subscribers subscribers_;
  Outbox outbox_;
  std::unique_ptr<BusLoop> loop_;

  std::vector<UserEntry*> dirty_users_;
  bool manager_dirty_ = false;
  bool flush_posted_ = false;
  // Message counters are announced on their own, slower clock: a steady
  // stream of messages must not add one PropertiesChanged per message.
  std::vector<UserEntry*> counter_users_;
  asio::steady_timer counter_timer_;
  bool counter_timer_armed_ = false;
  std::uint32_t last_user_count_ = 0;
  std::uint32_t last_open_count_ = 0;

  bool name_owned_ = false;
};

}  // namespace wsheart::bus
