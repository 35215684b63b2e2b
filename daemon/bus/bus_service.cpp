// The org.wsheartd1 service: sdbus-c++ 1.2 (the v1 API) for the connection
// and the manager object, raw sd-bus for the user objects and every signal.
//
// Event loop: the daemon's asio::io_context drives the bus connection on its
// own thread. sdbus-c++ 1.2 exposes sd-bus's poll data (IConnection::
// getEventLoopPollData: fd, poll events, and an ABSOLUTE CLOCK_MONOTONIC
// deadline in µs, UINT64_MAX = none, 0 = "process now", e.g. when a
// synchronous call left messages in the read queue). We wait on a dup() of the
// fd with asio (read always, write only while sd-bus has queued output), arm a
// steady_timer for the deadline, and on any wake-up call processPendingRequest()
// until it returns false (sd-bus has then read the socket to EAGAIN, which is
// what asio's edge-triggered epoll needs) and re-arm. Work that may leave
// output queued or input buffered outside that cycle (signals emitted from
// WebSocket events, synchronous calls such as RequestName) posts one "pump" per
// loop turn.
//
// User objects: ONE registration serves every user. A fallback vtable on
// kUserPathPrefix (a static sd_bus_vtable, the org.wsheartd1.User interface of
// org.wsheartd1.xml with sdbus-c++'s member order and flags, so introspection
// is unchanged), a find callback that maps an object path to the user, and a
// node enumerator that lists the users for Introspect and GetManagedObjects.
// A per-user sdbus-c++ object cost ~7 KB (its maps of std::function callbacks,
// its own vtable, and sd-bus's per-member hashmap entries) and a third of
// start-up at 10,000 users; a user is now a UserEntry of a few hundred bytes.
// The callbacks run inside processPendingRequest(), on the loop thread.
//
// Outgoing signals (messages, StateChanged, PropertiesChanged) go through one
// ordered outbox. While sd-bus can write, a signal is handed to it at once;
// once sd-bus has output queued (POLLOUT) further signals wait in the outbox
// and are fed in as the socket drains. This keeps sd-bus's own write queue at
// about one message: that queue is an array whose head is removed with a
// memmove of the whole array, quadratic under a burst. The outbox is bounded
// (kOutboxLimit); beyond it a message is dropped and counted, never blocked on.
//
// Properties: user_changed()/manager_changed() only mark objects dirty; one
// flush per loop turn emits PropertiesChanged for the properties whose value
// differs from what was last emitted for that object. We build PropertiesChanged
// ourselves (same wire format as sd-bus's) so it stays in order with the
// message signals before it.

#include "bus/bus_service.hpp"

#include <fcntl.h>
#include <poll.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <new>
#include <unordered_map>
#include <utility>

#include <asio/post.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <sdbus-c++/sdbus-c++.h>

#include "bus/names.hpp"
#include "wsheartd1-adaptor.h"

namespace wsheart::bus {

namespace {

constexpr const char* kErrorFailed = "org.freedesktop.DBus.Error.Failed";
constexpr const char* kPropertiesInterface = "org.freedesktop.DBus.Properties";
constexpr const char* kPropertiesChanged = "PropertiesChanged";
constexpr std::uint64_t kNoTimeout = UINT64_MAX;
constexpr auto kFlushBudget = std::chrono::seconds(2);
// Signals waiting for the socket (about 30 MiB of small messages at most).
constexpr std::size_t kOutboxLimit = 65536;

struct MessageUnref {
  void operator()(sd_bus_message* m) const noexcept { sd_bus_message_unref(m); }
};
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;

struct SlotUnref {
  void operator()(sd_bus_slot* s) const noexcept { sd_bus_slot_unref(s); }
};
using SlotPtr = std::unique_ptr<sd_bus_slot, SlotUnref>;

struct CredsUnref {
  void operator()(sd_bus_creds* c) const noexcept { sd_bus_creds_unref(c); }
};

struct Free {
  void operator()(void* p) const noexcept { std::free(p); }
};

// A failed sd-bus call as the sdbus::Error sdbus-c++ would have thrown.
void check(int r, const char* what) {
  if (r < 0) throw sdbus::createError(-r, what);
}

// sdbus-c++ 1.2 keeps the sd_bus_message of its Message wrappers protected.
// Forming a pointer to the protected member through a derived class is
// ordinary C++ ([class.protected]); the class is never instantiated.
struct RawMessage : sdbus::Message {
  static sd_bus_message* get(const sdbus::Message& message) {
    return static_cast<sd_bus_message*>(message.*(&RawMessage::msg_));
  }
};

MessagePtr new_signal(sd_bus* bus, const char* path, const char* interface, const char* member) {
  sd_bus_message* m = nullptr;
  check(sd_bus_message_new_signal(bus, &m, path, interface, member), "Failed to create a signal");
  return MessagePtr(m);
}

void append_bytes(sd_bus_message* m, const std::string& bytes) {
  check(sd_bus_message_append_array(m, 'y', bytes.data(), bytes.size()), "Failed to append byte array");
}

// True when every byte is 0x01..0x7f: valid UTF-8 without NUL, a valid D-Bus
// string as it is. Eight bytes per step.
bool plain_ascii(const std::string& text) {
  const char* p = text.data();
  std::size_t n = text.size();
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, 8);
    // A high bit set, or a zero byte (the classic haszero test).
    if (((w | ((w - kOnes) & ~w)) & kHigh) != 0) return false;
  }
  for (; n > 0; ++p, --n) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == 0 || c >= 0x80) return false;
  }
  return true;
}

// Appends a text as a D-Bus string. sd-bus checks every string with its
// byte-at-a-time UTF-8 validator (about a fifth of the daemon's CPU for 16 KiB
// messages); plain ASCII needs no check, so it is copied straight into the
// message. Anything else takes sd-bus's checked path (invalid UTF-8 throws,
// and the message is dropped and counted, as before).
void append_text(sd_bus_message* m, const std::string& text) {
  if (!plain_ascii(text)) {
    check(sd_bus_message_append_basic(m, 's', text.c_str()), "Failed to serialize a string value");
    return;
  }
  char* space = nullptr;
  check(sd_bus_message_append_string_space(m, text.size(), &space), "Failed to append a string");
  if (!text.empty()) std::memcpy(space, text.data(), text.size());
}

std::string state_word(supervisor::State state) { return std::string(supervisor::to_string(state)); }

// A property value, appended inside the variant sd-bus (or we) opened, and
// the D-Bus type it has.
int append_value(sd_bus_message* m, const std::string& v) { return sd_bus_message_append_basic(m, 's', v.c_str()); }
int append_value(sd_bus_message* m, std::uint64_t v) { return sd_bus_message_append_basic(m, 't', &v); }
int append_value(sd_bus_message* m, std::uint32_t v) { return sd_bus_message_append_basic(m, 'u', &v); }
int append_value(sd_bus_message* m, supervisor::State v) { return append_value(m, state_word(v)); }
constexpr const char* signature_of(const std::string& /*v*/) { return "s"; }
constexpr const char* signature_of(std::uint64_t /*v*/) { return "t"; }
constexpr const char* signature_of(std::uint32_t /*v*/) { return "u"; }
constexpr const char* signature_of(supervisor::State /*v*/) { return "s"; }

// One {sv} entry of a PropertiesChanged dictionary.
template <typename T>
void append_entry(sd_bus_message* m, const char* name, const T& value) {
  check(sd_bus_message_open_container(m, 'e', "sv"), "Failed to open a dictionary entry");
  check(sd_bus_message_append_basic(m, 's', name), "Failed to append a property name");
  check(sd_bus_message_open_container(m, 'v', signature_of(value)), "Failed to open a variant");
  check(append_value(m, value), "Failed to append a property value");
  check(sd_bus_message_close_container(m), "Failed to close a variant");
  check(sd_bus_message_close_container(m), "Failed to close a dictionary entry");
}

// PropertiesChanged(s interface, a{sv} changed, as invalidated): `fill`
// appends the changed entries (in name order, as sdbus-c++'s std::map did).
template <typename Fill>
MessagePtr properties_changed(sd_bus* bus, const char* path, const char* interface, Fill&& fill) {
  MessagePtr signal = new_signal(bus, path, kPropertiesInterface, kPropertiesChanged);
  sd_bus_message* m = signal.get();
  check(sd_bus_message_append_basic(m, 's', interface), "Failed to append the interface");
  check(sd_bus_message_open_container(m, 'a', "{sv}"), "Failed to open the changed properties");
  fill(m);
  check(sd_bus_message_close_container(m), "Failed to close the changed properties");
  check(sd_bus_message_open_container(m, 'a', "s"), "Failed to open the invalidated properties");
  check(sd_bus_message_close_container(m), "Failed to close the invalidated properties");
  return signal;
}

sdbus::Error no_such_user(const std::string& id) {
  return sdbus::Error(kErrorNoSuchUser, "no such user: " + id);
}

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

// True when `prefix` is `path` or one of its ancestors ("/" included).
bool encloses(const char* prefix, const char* path) {
  const std::size_t n = std::strlen(prefix);
  if (std::strncmp(path, prefix, n) != 0) return false;
  return path[n] == '\0' || path[n] == '/' || (n == 1 && prefix[0] == '/');
}

}  // namespace

std::string user_object_path(const std::string& id) {
  char* path = nullptr;
  int r = sd_bus_path_encode(kUserPathPrefix, id.c_str(), &path);
  if (r < 0 || path == nullptr) throw std::bad_alloc();
  std::string out(path);
  std::free(path);
  return out;
}

class BusService::Impl {
 public:
  Impl(asio::io_context& io, Backend& backend, const Logger& log, BusOptions options);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void add_user(const std::string& id);
  void remove_user(const std::string& id);
  void request_name();
  void release_name();
  void user_changed(const std::string& id);
  void counters_changed(const std::string& id);
  void manager_changed();
  void emit_message(const std::string& id, const supervisor::Message& message);
  void emit_state(const std::string& id, supervisor::State old_state, supervisor::State new_state,
                  const std::string& reason);
  void flush();
  bool owns_name() const { return name_owned_; }
  std::size_t subscriber_count() const { return subscribers_.size(); }
  std::size_t queued_signals() const { return outbox_.size(); }

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
    void Reload() override {
      guarded([&] { impl_.on_reload(getObject()); });
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

  // All the bus keeps per user. The object itself is served by kUserVtable.
  struct UserEntry {
    std::string path;                       // user_object_path(id), once: every signal needs it
    std::shared_ptr<const std::string> id;  // shared with queued signals, for drop accounting
    UserSnapshot last;                      // what PropertiesChanged last announced
    bool dirty = false;                     // queued for the next flush
    bool counters_dirty = false;            // queued for the next counter flush
  };

  struct Subscriber {
    uid_t uid;
  };

  struct Outgoing {
    MessagePtr signal;
    std::shared_ptr<const std::string> user;  // counted as dropped if it cannot be sent; null: not a message
  };

  // ---- the user objects: sd-bus callbacks ---------------------------------
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
  static int method_reconnect(sd_bus_message* call, void* userdata, sd_bus_error* error) noexcept;
  static int method_recent(sd_bus_message* call, void* userdata, sd_bus_error* error) noexcept;
  static int get_id(sd_bus* bus, const char* path, const char* interface, const char* property,
                    sd_bus_message* reply, void* userdata, sd_bus_error* error) noexcept;
  template <auto Field>
  static int get_field(sd_bus* bus, const char* path, const char* interface, const char* property,
                       sd_bus_message* reply, void* userdata, sd_bus_error* error) noexcept;
  static Impl& dispatching(sd_bus* bus);
  UserEntry* user_at(const char* path);
  void register_user_tree();
  void unregister_user_tree();

  // ---- method bodies -----------------------------------------------------
  void on_reload(sdbus::IObject& object);
  void on_subscribe(sdbus::IObject& object);
  void on_unsubscribe(sdbus::IObject& object);
  bool on_send(const UserEntry& user, sd_bus_message* call, std::string text);
  void on_reconnect(const UserEntry& user, sd_bus_message* call);
  void on_recent(const UserEntry& user, sd_bus_message* call, std::uint64_t since);
  void check_user_access(const UserEntry& user, sd_bus_message* call);
  static uid_t caller_uid(const sdbus::IObject& object);
  std::uint32_t user_count() const { return static_cast<std::uint32_t>(users_.size()); }

  // ---- loop glue ---------------------------------------------------------
  void start_loop();
  void pump();
  void arm();
  void set_timer(std::uint64_t deadline_usec);
  void schedule_pump();
  void schedule_flush();
  void flush_counters();
  void flush_properties();
  void flush_user(UserEntry& user);
  void connection_lost(const std::string& why);
  void name_owner_changed(sdbus::Message& message);
  void enqueue(MessagePtr signal, const std::shared_ptr<const std::string>& user);
  bool sd_bus_has_output() const;
  void drain_outbox();
  void drop_outbox();

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
  // Node-based: entries stay put when the table grows, so UserEntry* is
  // stable until the user is removed.
  std::unordered_map<std::string, UserEntry> users_;
  std::unordered_map<std::string, Subscriber> subscribers_;  // unique bus name -> credentials
  std::deque<Outgoing> outbox_;

  asio::posix::stream_descriptor descriptor_;
  asio::steady_timer timer_;
  std::uint64_t timer_deadline_ = kNoTimeout;
  bool read_armed_ = false;
  bool write_armed_ = false;
  bool pump_posted_ = false;
  bool in_pump_ = false;
  bool broken_ = false;

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

// ---- the org.wsheartd1.User vtable -----------------------------------------------

// As org.wsheartd1.xml declares it, in the order and with the flags sdbus-c++
// 1.2 used (members sorted by name: methods, signals, properties), so that
// Introspect answers byte for byte as before. Methods are UNPRIVILEGED: on the
// system bus sd-bus would otherwise demand CAP_SYS_ADMIN; access is ours to
// check (check_user_access). Properties: EMITS_CHANGE unless the XML says
// "const" (Id) or "false" (RoundTripUsec).
const sd_bus_vtable BusService::Impl::kUserVtable[] = {
    SD_BUS_VTABLE_START(SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_METHOD_WITH_NAMES("RecentMessages", "t", SD_BUS_PARAM(since_seq), "a(tts)", SD_BUS_PARAM(messages),
                             &Impl::method_recent, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Reconnect", "", "", &Impl::method_reconnect, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Send", "s", SD_BUS_PARAM(text), "b", SD_BUS_PARAM(queued), &Impl::method_send,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL_WITH_NAMES("BinaryMessageReceived", "tay", SD_BUS_PARAM(seq) SD_BUS_PARAM(data), 0),
    SD_BUS_SIGNAL_WITH_NAMES("MessageReceived", "ts", SD_BUS_PARAM(seq) SD_BUS_PARAM(text), 0),
    SD_BUS_SIGNAL_WITH_NAMES("StateChanged", "sss", SD_BUS_PARAM(old) SD_BUS_PARAM(new) SD_BUS_PARAM(reason), 0),
    SD_BUS_PROPERTY("Id", "s", &Impl::get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("LastMessageAt", "t", &Impl::get_field<&UserSnapshot::last_message_usec>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("MessagesDropped", "t", &Impl::get_field<&UserSnapshot::dropped>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("MessagesReceived", "t", &Impl::get_field<&UserSnapshot::received>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("MessagesSent", "t", &Impl::get_field<&UserSnapshot::sent>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Reconnects", "u", &Impl::get_field<&UserSnapshot::reconnects>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("RoundTripUsec", "t", &Impl::get_field<&UserSnapshot::rtt_usec>, 0, 0),
    SD_BUS_PROPERTY("State", "s", &Impl::get_field<&UserSnapshot::state>, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("StateReason", "s", &Impl::get_field<&UserSnapshot::reason>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("StateSince", "t", &Impl::get_field<&UserSnapshot::state_since_usec>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Url", "s", &Impl::get_field<&UserSnapshot::url>, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_VTABLE_END,
};

BusService::Impl& BusService::Impl::dispatching(sd_bus* bus) {
  return *static_cast<Impl*>(sd_bus_slot_get_userdata(sd_bus_get_current_slot(bus)));
}

// The user behind an object path, or null. Only the canonical spelling of a
// user's path counts (sd_bus_path_decode also accepts e.g. "_61lice" for
// "alice", and ignores a deeper "/x"): exactly the paths that had an object.
BusService::Impl::UserEntry* BusService::Impl::user_at(const char* path) {
  char* raw = nullptr;
  if (sd_bus_path_decode(path, kUserPathPrefix, &raw) <= 0 || raw == nullptr) return nullptr;
  std::unique_ptr<char, Free> id(raw);
  auto it = users_.find(id.get());
  if (it == users_.end() || it->second.path != path) return nullptr;
  return &it->second;
}

int BusService::Impl::find_user(sd_bus* /*bus*/, const char* path, const char* /*interface*/, void* userdata,
                                void** found, sd_bus_error* error) noexcept {
  return answer(error, [&] {
    UserEntry* user = static_cast<Impl*>(userdata)->user_at(path);
    if (user == nullptr) return 0;
    *found = user;
    return 1;
  });
}

int BusService::Impl::enumerate_users(sd_bus* /*bus*/, const char* prefix, void* userdata, char*** nodes,
                                      sd_bus_error* /*error*/) noexcept {
  const Impl& impl = *static_cast<const Impl*>(userdata);
  *nodes = nullptr;
  // Asked for the children of a user (introspecting it): users have none.
  if (!encloses(prefix, kUserPathPrefix) || impl.users_.empty()) return 0;
  // sd-bus takes the array and its strings and releases them with free():
  // C allocation on purpose.
  auto* list = static_cast<char**>(std::calloc(impl.users_.size() + 1, sizeof(char*)));
  if (list == nullptr) return -ENOMEM;
  std::size_t n = 0;
  for (const auto& entry : impl.users_) {
    list[n] = ::strdup(entry.second.path.c_str());
    if (list[n] == nullptr) {
      for (std::size_t i = 0; i < n; ++i) std::free(list[i]);
      std::free(list);
      return -ENOMEM;
    }
    ++n;
  }
  *nodes = list;
  return 0;
}

// The enumerator makes sd-bus treat kUserPathPrefix itself as an object, so a
// call there would get UnknownMethod; before, it was no object at all. Only
// Introspect (which lists the users) is let through.
int BusService::Impl::user_root_call(sd_bus_message* call, void* /*userdata*/, sd_bus_error* error) noexcept {
  if (sd_bus_message_is_method_call(call, "org.freedesktop.DBus.Introspectable", "Introspect") > 0) return 0;
  return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_OBJECT, "Unknown object '%s'.", sd_bus_message_get_path(call));
}

// A method replies itself and returns 1 ("handled"); sd-bus would otherwise
// go on looking for the member.
int BusService::Impl::method_send(sd_bus_message* call, void* userdata, sd_bus_error* error) noexcept {
  return answer(error, [&] {
    const char* text = nullptr;
    check(sd_bus_message_read_basic(call, 's', &text), "Failed to read the text");
    const bool queued = dispatching(sd_bus_message_get_bus(call))
                            .on_send(*static_cast<const UserEntry*>(userdata), call, text);
    const int r = sd_bus_reply_method_return(call, "b", static_cast<int>(queued));
    return r < 0 ? r : 1;
  });
}

int BusService::Impl::method_reconnect(sd_bus_message* call, void* userdata, sd_bus_error* error) noexcept {
  return answer(error, [&] {
    dispatching(sd_bus_message_get_bus(call)).on_reconnect(*static_cast<const UserEntry*>(userdata), call);
    const int r = sd_bus_reply_method_return(call, nullptr);
    return r < 0 ? r : 1;
  });
}

int BusService::Impl::method_recent(sd_bus_message* call, void* userdata, sd_bus_error* error) noexcept {
  return answer(error, [&] {
    std::uint64_t since = 0;
    check(sd_bus_message_read_basic(call, 't', &since), "Failed to read since_seq");
    dispatching(sd_bus_message_get_bus(call)).on_recent(*static_cast<const UserEntry*>(userdata), call, since);
    return 1;
  });
}

// Id is the object's own (as before): it answers even when the core no
// longer knows the user.
int BusService::Impl::get_id(sd_bus* /*bus*/, const char* /*path*/, const char* /*interface*/,
                             const char* /*property*/, sd_bus_message* reply, void* userdata,
                             sd_bus_error* error) noexcept {
  return answer(error, [&] { return append_value(reply, *static_cast<const UserEntry*>(userdata)->id); });
}

// Every other property is read from a fresh snapshot, once per property (as
// sdbus-c++'s getters did).
template <auto Field>
int BusService::Impl::get_field(sd_bus* bus, const char* /*path*/, const char* /*interface*/,
                                const char* /*property*/, sd_bus_message* reply, void* userdata,
                                sd_bus_error* error) noexcept {
  return answer(error, [&] {
    const auto& user = *static_cast<const UserEntry*>(userdata);
    std::optional<UserSnapshot> snap = dispatching(bus).backend_.snapshot(*user.id);
    if (!snap) throw no_such_user(*user.id);
    return append_value(reply, (*snap).*Field);
  });
}

void BusService::Impl::register_user_tree() {
  sd_bus_slot* slot = nullptr;
  int r = sd_bus_add_fallback_vtable(raw_bus_, &slot, kUserPathPrefix, kUserInterface, kUserVtable,
                                     &Impl::find_user, this);
  check(r, "Failed to register the user objects");
  user_vtable_.reset(slot);
  slot = nullptr;
  r = sd_bus_add_node_enumerator(raw_bus_, &slot, kUserPathPrefix, &Impl::enumerate_users, this);
  if (r < 0) unregister_user_tree();
  check(r, "Failed to register the user enumerator");
  user_enumerator_.reset(slot);
  slot = nullptr;
  r = sd_bus_add_object(raw_bus_, &slot, kUserPathPrefix, &Impl::user_root_call, this);
  if (r < 0) unregister_user_tree();
  check(r, "Failed to register the user tree's root");
  user_root_.reset(slot);
}

void BusService::Impl::unregister_user_tree() {
  user_root_.reset();
  user_enumerator_.reset();
  user_vtable_.reset();
}

// ---- construction ----------------------------------------------------------

BusService::Impl::Impl(asio::io_context& io, Backend& backend, const Logger& log, BusOptions options)
    : io_(io), backend_(backend), log_(log), options_(std::move(options)), descriptor_(io), timer_(io), counter_timer_(io) {
  try {
    if (!options_.address.empty()) {
      conn_ = sdbus::createSessionBusConnectionWithAddress(options_.address);
    } else if (options_.kind == BusKind::System) {
      conn_ = sdbus::createSystemBusConnection();
    } else {
      conn_ = sdbus::createSessionBusConnection();
    }
  } catch (const sdbus::Error& e) {
    // The cause only: callers prefix "cannot connect to the system bus: ".
    throw BusUnavailable(options_.address.empty() ? e.getMessage() : options_.address + ": " + e.getMessage());
  }
  try {
    // Subscribers that leave the bus are forgotten. One match for the whole
    // bus keeps this race-free: a peer's Subscribe call always reaches us
    // before the NameOwnerChanged that announces its disconnection.
    owner_watch_ = conn_->addMatch(
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
        "interface='org.freedesktop.DBus',member='NameOwnerChanged'",
        [this](sdbus::Message& message) { name_owner_changed(message); });
    manager_ = std::make_unique<ManagerObject>(*conn_, *this);
    // sdbus-c++ 1.2 does not hand out its sd_bus, but every message it
    // creates knows it. This one is never sent.
    sdbus::Signal probe = manager_->object().createSignal(kPropertiesInterface, kPropertiesChanged);
    raw_bus_ = sd_bus_message_get_bus(RawMessage::get(probe));
    if (raw_bus_ == nullptr) throw BusUnavailable("cannot reach the sd-bus connection");
  } catch (const sdbus::Error& e) {
    throw BusUnavailable(e.getMessage());
  }
  start_loop();
}

BusService::Impl::~Impl() {
  alive_.reset();
  asio::error_code ignored;
  timer_.cancel();
  descriptor_.close(ignored);
  try {
    outbox_.clear();
    // The slots hold a reference on the bus: gone before the connection.
    unregister_user_tree();
    users_.clear();
    manager_.reset();
    owner_watch_.reset();
    conn_.reset();
  } catch (...) {  // NOLINT(bugprone-empty-catch): no sdbus::Error may escape a destructor
  }
}

// ---- the event loop glue ---------------------------------------------------

void BusService::Impl::start_loop() {
  int fd = conn_->getEventLoopPollData().fd;
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw BusUnavailable(std::string("cannot duplicate the bus fd: ") + std::strerror(errno));
  asio::error_code ec;
  descriptor_.assign(copy, ec);
  if (ec) {
    ::close(copy);
    throw BusUnavailable("cannot watch the bus fd: " + ec.message());
  }
  // The synchronous AddMatch above may have buffered messages: process them
  // on the first loop turn.
  schedule_pump();
}

void BusService::Impl::pump() {
  if (broken_ || in_pump_) return;
  in_pump_ = true;
  try {
    while (conn_->processPendingRequest()) {
    }
  } catch (const sdbus::Error& e) {
    in_pump_ = false;
    connection_lost(e.getMessage());
    return;
  }
  in_pump_ = false;
  drain_outbox();
  arm();
}

void BusService::Impl::arm() {
  if (broken_) return;
  sdbus::IConnection::PollData poll_data{};
  try {
    poll_data = conn_->getEventLoopPollData();
  } catch (const sdbus::Error& e) {
    connection_lost(e.getMessage());
    return;
  }
  std::weak_ptr<int> alive = alive_;
  if ((poll_data.events & POLLIN) != 0 && !read_armed_) {
    read_armed_ = true;
    descriptor_.async_wait(asio::posix::stream_descriptor::wait_read, [this, alive](const asio::error_code& ec) {
      if (alive.expired()) return;
      read_armed_ = false;
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        connection_lost("waiting on the bus fd: " + ec.message());
        return;
      }
      pump();
    });
  }
  if ((poll_data.events & POLLOUT) != 0 && !write_armed_) {
    write_armed_ = true;
    descriptor_.async_wait(asio::posix::stream_descriptor::wait_write, [this, alive](const asio::error_code& ec) {
      if (alive.expired()) return;
      write_armed_ = false;
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        connection_lost("waiting on the bus fd: " + ec.message());
        return;
      }
      pump();
    });
  }
  set_timer(poll_data.timeout_usec);
}

// `deadline_usec` is absolute CLOCK_MONOTONIC µs (sd_bus_get_timeout), which
// is the clock behind std::chrono::steady_clock on Linux (libstdc++ and libc++).
void BusService::Impl::set_timer(std::uint64_t deadline_usec) {
  if (deadline_usec == timer_deadline_) return;
  timer_deadline_ = deadline_usec;
  timer_.cancel();
  if (deadline_usec == kNoTimeout) return;
  using std::chrono::microseconds;
  using std::chrono::steady_clock;
  const auto max_usec = static_cast<std::uint64_t>(
      std::chrono::duration_cast<microseconds>(steady_clock::duration::max()).count());
  auto usec = deadline_usec >= max_usec ? max_usec : deadline_usec;
  timer_.expires_at(steady_clock::time_point(
      std::chrono::duration_cast<steady_clock::duration>(microseconds(static_cast<microseconds::rep>(usec)))));
  std::weak_ptr<int> alive = alive_;
  timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (alive.expired() || ec == asio::error::operation_aborted) return;
    timer_deadline_ = kNoTimeout;
    pump();
  });
}

void BusService::Impl::schedule_pump() {
  if (pump_posted_ || broken_) return;
  pump_posted_ = true;
  std::weak_ptr<int> alive = alive_;
  asio::post(io_, [this, alive] {
    if (alive.expired()) return;
    pump_posted_ = false;
    pump();
  });
}

void BusService::Impl::connection_lost(const std::string& why) {
  if (broken_) return;
  broken_ = true;
  log_.err("D-Bus connection lost: ", why);
  drop_outbox();
  asio::error_code ignored;
  timer_.cancel();
  descriptor_.cancel(ignored);
  if (options_.on_disconnected) {
    std::weak_ptr<int> alive = alive_;
    asio::post(io_, [this, alive, why] {
      if (alive.expired()) return;
      options_.on_disconnected(why);
    });
  }
}

// ---- tree and name -----------------------------------------------------------

void BusService::Impl::add_user(const std::string& id) {
  if (users_.count(id) != 0) return;
  UserEntry entry;
  entry.path = user_object_path(id);
  entry.id = std::make_shared<const std::string>(id);
  entry.last.id = id;
  if (auto snap = backend_.snapshot(id)) entry.last = std::move(*snap);
  if (users_.empty()) {
    try {
      register_user_tree();
    } catch (const sdbus::Error& e) {
      throw std::runtime_error("cannot create the D-Bus object of user " + id + ": " + e.getMessage());
    }
  }
  const UserEntry& user = users_.emplace(id, std::move(entry)).first->second;
  if (name_owned_ && !broken_) {
    // Peer, Introspectable, Properties and User with all its properties, as
    // sdbus-c++'s emitInterfacesAddedSignal() sent them.
    const int r = sd_bus_emit_object_added(raw_bus_, user.path.c_str());
    if (r < 0) log_.warning("InterfacesAdded for user ", id, " failed: ", std::strerror(-r));
    schedule_pump();
  }
  manager_changed();
}

void BusService::Impl::remove_user(const std::string& id) {
  auto it = users_.find(id);
  if (it == users_.end()) return;
  UserEntry* user = &it->second;
  if (name_owned_ && !broken_) {
    // While the user can still be found: sd-bus asks the vtable which
    // interfaces the object has.
    const int r = sd_bus_emit_object_removed(raw_bus_, user->path.c_str());
    if (r < 0) log_.warning("InterfacesRemoved for user ", id, " failed: ", std::strerror(-r));
    schedule_pump();
  }
  if (user->dirty) {
    for (auto& entry : dirty_users_) {
      if (entry == user) entry = nullptr;
    }
  }
  if (user->counters_dirty) {
    for (auto& entry : counter_users_) {
      if (entry == user) entry = nullptr;
    }
  }
  users_.erase(it);
  if (users_.empty()) unregister_user_tree();
  manager_changed();
}

void BusService::Impl::request_name() {
  if (name_owned_) return;
  if (broken_) throw BusUnavailable("the D-Bus connection is lost");
  try {
    // sdbus-c++ 1.2 requests with flags 0, which sd-bus sends as
    // DBUS_NAME_FLAG_DO_NOT_QUEUE: an owned name fails at once (EEXIST)
    // instead of putting us in the queue.
    conn_->requestName(kBusName);
  } catch (const sdbus::Error& e) {
    schedule_pump();
    const std::string& name = e.getName();
    if (name == "org.freedesktop.DBus.Error.FileExists" || name == "System.Error.EEXIST") {
      throw NameTaken("already owned by another process");
    }
    throw BusUnavailable(e.getMessage());
  }
  name_owned_ = true;
  schedule_pump();
}

void BusService::Impl::release_name() {
  if (!name_owned_) return;
  name_owned_ = false;
  if (broken_) return;
  try {
    conn_->releaseName(kBusName);
  } catch (const sdbus::Error& e) {
    log_.warning("releasing ", kBusName, " failed: ", e.getMessage());
  }
  schedule_pump();
}

// ---- properties ----------------------------------------------------------------

void BusService::Impl::user_changed(const std::string& id) {
  auto it = users_.find(id);
  if (it == users_.end()) return;
  UserEntry& user = it->second;
  if (!user.dirty) {
    user.dirty = true;
    dirty_users_.push_back(&user);
  }
  schedule_flush();
}

void BusService::Impl::counters_changed(const std::string& id) {
  auto it = users_.find(id);
  if (it == users_.end()) return;
  UserEntry& user = it->second;
  if (user.dirty || user.counters_dirty) return;  // a flush is coming anyway
  user.counters_dirty = true;
  counter_users_.push_back(&user);
  if (counter_timer_armed_) return;
  counter_timer_armed_ = true;
  counter_timer_.expires_after(kCounterInterval);
  std::weak_ptr<int> alive = alive_;
  counter_timer_.async_wait([this, alive](const std::error_code& ec) {
    if (ec || alive.expired()) return;
    counter_timer_armed_ = false;
    flush_counters();
  });
}

void BusService::Impl::flush_counters() {
  std::vector<UserEntry*> due;
  due.swap(counter_users_);
  for (UserEntry* user : due) {
    if (user == nullptr || !user->counters_dirty) continue;  // removed, or flushed with a state change
    user->counters_dirty = false;
    flush_user(*user);
  }
  schedule_pump();
}

void BusService::Impl::manager_changed() {
  manager_dirty_ = true;
  schedule_flush();
}

void BusService::Impl::schedule_flush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  std::weak_ptr<int> alive = alive_;
  asio::post(io_, [this, alive] {
    if (alive.expired()) return;
    flush_posted_ = false;
    flush_properties();
  });
}

void BusService::Impl::flush_properties() {
  std::vector<UserEntry*> dirty;
  dirty.swap(dirty_users_);
  for (UserEntry* user : dirty) {
    if (user == nullptr) continue;  // removed since it was marked
    user->dirty = false;
    user->counters_dirty = false;  // this flush announces the counters too
    flush_user(*user);
  }
  if (manager_dirty_) {
    manager_dirty_ = false;
    const std::uint32_t users = user_count();
    std::uint32_t open = last_open_count_;
    try {
      open = backend_.open_count();
    } catch (const std::exception& e) {
      log_.warning("open_count failed: ", e.what());
    }
    const bool users_changed = users != last_user_count_;
    const bool open_changed = open != last_open_count_;
    last_user_count_ = users;
    last_open_count_ = open;
    if ((users_changed || open_changed) && !broken_) {
      try {
        enqueue(properties_changed(raw_bus_, kManagerPath, kManagerInterface,
                                   [&](sd_bus_message* m) {
                                     if (open_changed) append_entry(m, "OpenCount", open);
                                     if (users_changed) append_entry(m, "UserCount", users);
                                   }),
                nullptr);
      } catch (const sdbus::Error& e) {
        log_.debug("PropertiesChanged on ", kManagerPath, " failed: ", e.getMessage());
      }
    }
  }
  schedule_pump();
}

void BusService::Impl::flush_user(UserEntry& user) {
  std::optional<UserSnapshot> snap;
  try {
    snap = backend_.snapshot(*user.id);
  } catch (const std::exception& e) {
    log_.warning("snapshot of user ", *user.id, " failed: ", e.what());
    return;
  }
  if (!snap) return;
  const UserSnapshot& now = *snap;
  const UserSnapshot& last = user.last;
  // RoundTripUsec is not announced (EmitsChangedSignal=false): it changes on
  // every heartbeat, and 10,000 users would mean 2,000 signals/s of noise.
  // In name order, as a std::map gave them before.
  const bool last_message = now.last_message_usec != last.last_message_usec;
  const bool dropped = now.dropped != last.dropped;
  const bool received = now.received != last.received;
  const bool sent = now.sent != last.sent;
  const bool reconnects = now.reconnects != last.reconnects;
  const bool state = now.state != last.state;
  const bool reason = now.reason != last.reason;
  const bool since = now.state_since_usec != last.state_since_usec;
  const bool url = now.url != last.url;
  const bool any = last_message || dropped || received || sent || reconnects || state || reason || since || url;
  if (any && !broken_) {
    try {
      enqueue(properties_changed(raw_bus_, user.path.c_str(), kUserInterface,
                                 [&](sd_bus_message* m) {
                                   if (last_message) append_entry(m, "LastMessageAt", now.last_message_usec);
                                   if (dropped) append_entry(m, "MessagesDropped", now.dropped);
                                   if (received) append_entry(m, "MessagesReceived", now.received);
                                   if (sent) append_entry(m, "MessagesSent", now.sent);
                                   if (reconnects) append_entry(m, "Reconnects", now.reconnects);
                                   if (state) append_entry(m, "State", now.state);
                                   if (reason) append_entry(m, "StateReason", now.reason);
                                   if (since) append_entry(m, "StateSince", now.state_since_usec);
                                   if (url) append_entry(m, "Url", now.url);
                                 }),
              nullptr);
    } catch (const sdbus::Error& e) {
      log_.debug("PropertiesChanged for user ", *user.id, " failed: ", e.getMessage());
    }
  }
  user.last = std::move(*snap);
}

// ---- signals -------------------------------------------------------------------

bool BusService::Impl::sd_bus_has_output() const {
  // Asked per message: the raw bus directly, not getEventLoopPollData() (which
  // also computes the fd and the timeout under sdbus-c++'s mutex).
  const int events = sd_bus_get_events(raw_bus_);
  if (events < 0) throw sdbus::createError(-events, "Failed to get the bus events");
  return (events & POLLOUT) != 0;
}

void BusService::Impl::enqueue(MessagePtr signal, const std::shared_ptr<const std::string>& user) {
  if (outbox_.empty()) {
    bool has_output = true;
    try {
      has_output = sd_bus_has_output();
    } catch (const sdbus::Error&) {  // the pump will notice a broken connection
    }
    if (!has_output) {
      if (sd_bus_send(raw_bus_, signal.get(), nullptr) < 0 && user) backend_.bus_dropped(*user);
      schedule_pump();  // a partial write leaves output queued: watch for POLLOUT
      return;
    }
  }
  if (outbox_.size() >= kOutboxLimit) {
    if (user) backend_.bus_dropped(*user);
    return;
  }
  outbox_.push_back(Outgoing{std::move(signal), user});
  schedule_pump();
}

void BusService::Impl::drain_outbox() {
  try {
    while (!outbox_.empty() && !sd_bus_has_output()) {
      Outgoing& next = outbox_.front();
      if (sd_bus_send(raw_bus_, next.signal.get(), nullptr) < 0 && next.user) backend_.bus_dropped(*next.user);
      outbox_.pop_front();
    }
  } catch (const sdbus::Error& e) {
    connection_lost(e.getMessage());
  }
}

void BusService::Impl::drop_outbox() {
  for (const auto& o : outbox_) {
    if (o.user) backend_.bus_dropped(*o.user);
  }
  outbox_.clear();
}

void BusService::Impl::emit_message(const std::string& id, const supervisor::Message& message) {
  auto it = users_.find(id);
  if (it == users_.end()) return;
  if (broken_) {
    backend_.bus_dropped(id);
    return;
  }
  const UserEntry& user = it->second;
  const char* member = message.binary ? "BinaryMessageReceived" : "MessageReceived";

  std::optional<std::uint32_t> restricted;
  if (options_.kind == BusKind::System) {
    try {
      restricted = backend_.unix_uid(id);
    } catch (const std::exception&) {
      backend_.bus_dropped(id);  // not knowing who may read it, we do not send it
      return;
    }
  }
  auto build_and_enqueue = [&](const char* destination) {
    try {
      MessagePtr signal = new_signal(raw_bus_, user.path.c_str(), kUserInterface, member);
      if (destination != nullptr) {
        check(sd_bus_message_set_destination(signal.get(), destination), "Failed to set the destination");
      }
      check(sd_bus_message_append_basic(signal.get(), 't', &message.seq), "Failed to append seq");
      if (message.binary) {
        append_bytes(signal.get(), message.data);
      } else {
        append_text(signal.get(), message.data);
      }
      enqueue(std::move(signal), user.id);
    } catch (const sdbus::Error&) {
      backend_.bus_dropped(id);  // e.g. text that is not valid UTF-8
    }
  };
  if (!restricted) {
    build_and_enqueue(nullptr);
  } else {
    for (const auto& [name, subscriber] : subscribers_) {
      if (subscriber.uid == 0 || subscriber.uid == *restricted) build_and_enqueue(name.c_str());
    }
  }
}

void BusService::Impl::emit_state(const std::string& id, supervisor::State old_state, supervisor::State new_state,
                                  const std::string& reason) {
  auto it = users_.find(id);
  if (it == users_.end() || broken_) return;
  try {
    MessagePtr signal = new_signal(raw_bus_, it->second.path.c_str(), kUserInterface, "StateChanged");
    check(sd_bus_message_append(signal.get(), "sss", state_word(old_state).c_str(), state_word(new_state).c_str(),
                                reason.c_str()),
          "Failed to append StateChanged");
    enqueue(std::move(signal), nullptr);
  } catch (const sdbus::Error& e) {
    log_.debug("StateChanged for user ", id, " could not be sent: ", e.getMessage());
  }
}

void BusService::Impl::flush() {
  flush_posted_ = false;  // a posted flush finds nothing left to do
  counter_timer_.cancel();
  counter_timer_armed_ = false;
  flush_counters();
  flush_properties();
  if (broken_) return;
  if (in_pump_) {
    // Called from inside a bus callback: sd-bus cannot process re-entrantly.
    drain_outbox();
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + kFlushBudget;
  try {
    for (;;) {
      drain_outbox();
      if (broken_) return;
      auto poll_data = conn_->getEventLoopPollData();
      if ((poll_data.events & POLLOUT) == 0 && outbox_.empty()) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        log_.warning("D-Bus output not fully flushed within ", kFlushBudget.count(), " s");
        break;
      }
      pollfd p{poll_data.fd, POLLOUT, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
      while (conn_->processPendingRequest()) {
      }
    }
  } catch (const sdbus::Error& e) {
    connection_lost(e.getMessage());
    return;
  }
  schedule_pump();
}

// ---- peers -----------------------------------------------------------------------

void BusService::Impl::name_owner_changed(sdbus::Message& message) {
  try {
    std::string name;
    std::string old_owner;
    std::string new_owner;
    message >> name >> old_owner >> new_owner;
    if (new_owner.empty() && !name.empty() && name.front() == ':') {
      if (subscribers_.erase(name) != 0) log_.debug("subscriber ", name, " left the bus");
    }
  } catch (const sdbus::Error& e) {
    log_.debug("malformed NameOwnerChanged: ", e.getMessage());
  }
}

uid_t BusService::Impl::caller_uid(const sdbus::IObject& object) {
  const sdbus::Message* call = object.getCurrentlyProcessedMessage();
  if (call == nullptr) throw sdbus::Error(kErrorAccessDenied, "cannot determine the caller's credentials");
  return wsheart::bus::caller_uid(RawMessage::get(*call));
}

void BusService::Impl::on_subscribe(sdbus::IObject& object) {
  const sdbus::Message* call = object.getCurrentlyProcessedMessage();
  if (call == nullptr) return;
  std::string sender = call->getSender();
  if (sender.empty()) return;  // peer-to-peer connection: nothing to address
  uid_t uid = static_cast<uid_t>(-1);
  if (options_.kind == BusKind::System) uid = caller_uid(object);
  subscribers_[sender] = Subscriber{uid};
  log_.debug("subscriber ", sender, " (uid ", uid, ") added");
}

void BusService::Impl::on_unsubscribe(sdbus::IObject& object) {
  const sdbus::Message* call = object.getCurrentlyProcessedMessage();
  if (call == nullptr) return;
  subscribers_.erase(call->getSender());
}

void BusService::Impl::on_reload(sdbus::IObject& object) {
  if (options_.kind == BusKind::System && caller_uid(object) != 0) {
    throw sdbus::Error(kErrorAccessDenied, "only root may reload the configuration");
  }
  std::vector<std::string> problems = backend_.reload();
  if (problems.empty()) return;
  std::string text;
  for (const auto& line : problems) {
    if (!text.empty()) text += '\n';
    text += line;
  }
  throw sdbus::Error(kErrorInvalidConfig, text);
}

void BusService::Impl::check_user_access(const UserEntry& user, sd_bus_message* call) {
  if (options_.kind != BusKind::System) return;
  auto restricted = backend_.unix_uid(*user.id);
  if (!restricted) return;
  uid_t uid = wsheart::bus::caller_uid(call);
  if (uid != 0 && uid != *restricted) {
    throw sdbus::Error(kErrorAccessDenied, "access to user " + *user.id + " denied");
  }
}

bool BusService::Impl::on_send(const UserEntry& user, sd_bus_message* call, std::string text) {
  check_user_access(user, call);
  switch (backend_.send(*user.id, std::move(text))) {
    case SendOutcome::Sent: return false;
    case SendOutcome::Queued: return true;
    case SendOutcome::NoSuchUser: throw no_such_user(*user.id);
    case SendOutcome::Stopped: throw sdbus::Error(kErrorInvalidArgument, "user " + *user.id + " is stopped");
  }
  throw sdbus::Error(kErrorFailed, "unexpected send outcome");
}

void BusService::Impl::on_reconnect(const UserEntry& user, sd_bus_message* call) {
  check_user_access(user, call);
  if (!backend_.reconnect(*user.id)) throw no_such_user(*user.id);
}

// Replies with a(tts). Binary entries are left out: a D-Bus string must be
// valid UTF-8. Their seq numbers show up as gaps (docs/dbus-api.md).
void BusService::Impl::on_recent(const UserEntry& user, sd_bus_message* call, std::uint64_t since) {
  check_user_access(user, call);
  auto messages = backend_.recent(*user.id, since);
  if (!messages) throw no_such_user(*user.id);
  sd_bus_message* raw = nullptr;
  check(sd_bus_message_new_method_return(call, &raw), "Failed to create the reply");
  MessagePtr reply(raw);
  check(sd_bus_message_open_container(reply.get(), 'a', "(tts)"), "Failed to open the array");
  for (const auto& message : *messages) {
    if (message.binary) continue;
    check(sd_bus_message_append(reply.get(), "(tts)", message.seq, message.wall_usec, message.data.c_str()),
          "Failed to serialize a message");
  }
  check(sd_bus_message_close_container(reply.get()), "Failed to close the array");
  check(sd_bus_send(nullptr, reply.get(), nullptr), "Failed to send the reply");
}

// ---- BusService ------------------------------------------------------------------

BusService::BusService(asio::io_context& io, Backend& backend, const Logger& log, BusOptions options)
    : impl_(std::make_unique<Impl>(io, backend, log, std::move(options))) {}

BusService::~BusService() = default;

void BusService::add_user(const std::string& id) { impl_->add_user(id); }
void BusService::remove_user(const std::string& id) { impl_->remove_user(id); }
void BusService::request_name() { impl_->request_name(); }
void BusService::release_name() { impl_->release_name(); }
void BusService::user_changed(const std::string& id) { impl_->user_changed(id); }
void BusService::manager_changed() { impl_->manager_changed(); }
void BusService::emit_message(const std::string& id, const supervisor::Message& message) {
  impl_->emit_message(id, message);
}
void BusService::emit_state(const std::string& id, supervisor::State old_state, supervisor::State new_state,
                            const std::string& reason) {
  impl_->emit_state(id, old_state, new_state, reason);
}
void BusService::flush() { impl_->flush(); }
void BusService::counters_changed(const std::string& id) { impl_->counters_changed(id); }
bool BusService::owns_name() const { return impl_->owns_name(); }
std::size_t BusService::subscriber_count() const { return impl_->subscriber_count(); }
std::size_t BusService::queued_signals() const { return impl_->queued_signals(); }

}  // namespace wsheart::bus
