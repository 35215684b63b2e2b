// The org.wsheartd1 service on sdbus-c++ 1.2 (the v1 API).
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
#include <map>
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
constexpr std::uint64_t kNoTimeout = UINT64_MAX;
constexpr auto kFlushBudget = std::chrono::seconds(2);
// Signals waiting for the socket (about 30 MiB of small messages at most).
constexpr std::size_t kOutboxLimit = 65536;

// sdbus-c++ 1.2 takes names as const std::string&; building them once keeps
// heap allocations off the per-message path.
struct Names {
  std::string user_interface{kUserInterface};
  std::string manager_interface{kManagerInterface};
  std::string message_received{"MessageReceived"};
  std::string binary_received{"BinaryMessageReceived"};
  std::string state_changed{"StateChanged"};
  std::string properties_interface{"org.freedesktop.DBus.Properties"};
  std::string properties_changed{"PropertiesChanged"};
};

// sdbus-c++ 1.2 serialises std::vector<uint8_t> one byte per call. For "ay" we
// append the whole array with sd_bus_message_append_array on the underlying
// message. Forming a pointer to the protected member through a derived class
// is ordinary C++ ([class.protected]); the class is never instantiated.
struct RawMessage : sdbus::Message {
  static sd_bus_message* get(sdbus::Message& message) {
    return static_cast<sd_bus_message*>(message.*(&RawMessage::msg_));
  }
};

void append_bytes(sdbus::Message& message, const std::string& bytes) {
  int r = sd_bus_message_append_array(RawMessage::get(message), 'y', bytes.data(), bytes.size());
  if (r < 0) throw sdbus::createError(-r, "Failed to append byte array");
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
void append_text(sdbus::Message& message, const std::string& text) {
  if (!plain_ascii(text)) {
    message << text;
    return;
  }
  char* space = nullptr;
  int r = sd_bus_message_append_string_space(RawMessage::get(message), text.size(), &space);
  if (r < 0) throw sdbus::createError(-r, "Failed to append a string");
  if (!text.empty()) std::memcpy(space, text.data(), text.size());
}

std::string state_word(supervisor::State state) { return std::string(supervisor::to_string(state)); }

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

  class UserObject final
      : public sdbus::AdaptorInterfaces<org::wsheartd1::User_adaptor, sdbus::ManagedObject_adaptor,
                                        sdbus::Properties_adaptor> {
   public:
    UserObject(sdbus::IConnection& connection, Impl& impl, const std::string& id)
        : AdaptorInterfaces(connection, user_object_path(id)),
          impl_(impl),
          id_(std::make_shared<const std::string>(id)) {
      last_.id = id;
      registerAdaptor();
    }
    ~UserObject() {
      try {
        unregisterAdaptor();
      } catch (...) {  // NOLINT(bugprone-empty-catch): nothing to do in a destructor
      }
    }
    UserObject(const UserObject&) = delete;
    UserObject& operator=(const UserObject&) = delete;

    sdbus::IObject& object() { return getObject(); }
    const std::string& id() const { return *id_; }
    const std::shared_ptr<const std::string>& shared_id() const { return id_; }

    UserSnapshot last_;   // what PropertiesChanged last announced
    bool dirty_ = false;  // queued for the next flush
    bool counters_dirty_ = false;  // queued for the next counter flush

   private:
    bool Send(const std::string& text) override {
      return guarded([&] { return impl_.on_send(*this, text); });
    }
    void Reconnect() override {
      guarded([&] { impl_.on_reconnect(*this); });
    }
    std::vector<sdbus::Struct<uint64_t, uint64_t, std::string>> RecentMessages(const uint64_t& since_seq) override {
      return guarded([&] { return impl_.on_recent(*this, since_seq); });
    }

    std::string Id() override { return *id_; }
    std::string Url() override { return snap().url; }
    std::string State() override { return state_word(snap().state); }
    std::string StateReason() override { return snap().reason; }
    uint64_t StateSince() override { return snap().state_since_usec; }
    uint64_t RoundTripUsec() override { return snap().rtt_usec; }
    uint32_t Reconnects() override { return snap().reconnects; }
    uint64_t MessagesReceived() override { return snap().received; }
    uint64_t MessagesSent() override { return snap().sent; }
    uint64_t MessagesDropped() override { return snap().dropped; }
    uint64_t LastMessageAt() override { return snap().last_message_usec; }

    const UserSnapshot& snap() {
      auto fresh = guarded([&] { return impl_.backend_.snapshot(*id_); });
      if (!fresh) throw no_such_user(*id_);
      scratch_ = std::move(*fresh);
      return scratch_;
    }

    Impl& impl_;
    std::shared_ptr<const std::string> id_;  // shared with queued signals, for drop accounting
    UserSnapshot scratch_;
  };

  struct Subscriber {
    uid_t uid;
  };

  struct Outgoing {
    sdbus::Signal signal;
    std::shared_ptr<const std::string> user;  // counted as dropped if it cannot be sent; null: not a message
  };

  // ---- method bodies -----------------------------------------------------
  void on_reload(sdbus::IObject& object);
  void on_subscribe(sdbus::IObject& object);
  void on_unsubscribe(sdbus::IObject& object);
  bool on_send(UserObject& user, const std::string& text);
  void on_reconnect(UserObject& user);
  std::vector<sdbus::Struct<uint64_t, uint64_t, std::string>> on_recent(UserObject& user, std::uint64_t since);
  void check_user_access(UserObject& user);
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
  void flush_user(UserObject& user);
  void connection_lost(const std::string& why);
  void name_owner_changed(sdbus::Message& message);
  void enqueue(sdbus::Signal&& signal, const std::shared_ptr<const std::string>& user);
  bool sd_bus_has_output() const;
  void drain_outbox();
  void drop_outbox();

  asio::io_context& io_;
  Backend& backend_;
  const Logger& log_;
  BusOptions options_;
  Names names_;

  // Handlers posted to the loop hold a weak_ptr to this token and do nothing
  // once it is gone, so the service can be destroyed with work still queued.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);

  std::unique_ptr<sdbus::IConnection> conn_;
  sdbus::Slot owner_watch_;
  std::unique_ptr<ManagerObject> manager_;
  std::unordered_map<std::string, std::unique_ptr<UserObject>> users_;
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

  std::vector<UserObject*> dirty_users_;
  bool manager_dirty_ = false;
  bool flush_posted_ = false;
  // Message counters are announced on their own, slower clock: a steady
  // stream of messages must not add one PropertiesChanged per message.
  std::vector<UserObject*> counter_users_;
  asio::steady_timer counter_timer_;
  bool counter_timer_armed_ = false;
  std::uint32_t last_user_count_ = 0;
  std::uint32_t last_open_count_ = 0;

  bool name_owned_ = false;
  sd_bus* raw_bus_ = nullptr;  // conn_'s sd_bus (not owned), learnt from the first signal
};

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
    users_.clear();  // children first: the ObjectManager lives on the manager object
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
  std::unique_ptr<UserObject> object;
  try {
    object = std::make_unique<UserObject>(*conn_, *this, id);
  } catch (const sdbus::Error& e) {
    throw std::runtime_error("cannot create the D-Bus object of user " + id + ": " + e.getMessage());
  }
  if (auto snap = backend_.snapshot(id)) object->last_ = std::move(*snap);
  UserObject& user = *object;
  users_.emplace(id, std::move(object));
  if (name_owned_ && !broken_) {
    try {
      user.emitInterfacesAddedSignal();
    } catch (const sdbus::Error& e) {
      log_.warning("InterfacesAdded for user ", id, " failed: ", e.getMessage());
    }
    schedule_pump();
  }
  manager_changed();
}

void BusService::Impl::remove_user(const std::string& id) {
  auto it = users_.find(id);
  if (it == users_.end()) return;
  UserObject* user = it->second.get();
  if (name_owned_ && !broken_) {
    try {
      user->emitInterfacesRemovedSignal();
    } catch (const sdbus::Error& e) {
      log_.warning("InterfacesRemoved for user ", id, " failed: ", e.getMessage());
    }
    schedule_pump();
  }
  if (user->dirty_) {
    for (auto& entry : dirty_users_) {
      if (entry == user) entry = nullptr;
    }
  }
  if (user->counters_dirty_) {
    for (auto& entry : counter_users_) {
      if (entry == user) entry = nullptr;
    }
  }
  users_.erase(it);
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
  UserObject& user = *it->second;
  if (!user.dirty_) {
    user.dirty_ = true;
    dirty_users_.push_back(&user);
  }
  schedule_flush();
}

void BusService::Impl::counters_changed(const std::string& id) {
  auto it = users_.find(id);
  if (it == users_.end()) return;
  UserObject& user = *it->second;
  if (user.dirty_ || user.counters_dirty_) return;  // a flush is coming anyway
  user.counters_dirty_ = true;
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
  std::vector<UserObject*> due;
  due.swap(counter_users_);
  for (UserObject* user : due) {
    if (user == nullptr || !user->counters_dirty_) continue;  // removed, or flushed with a state change
    user->counters_dirty_ = false;
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
  std::vector<UserObject*> dirty;
  dirty.swap(dirty_users_);
  for (UserObject* user : dirty) {
    if (user == nullptr) continue;  // removed since it was marked
    user->dirty_ = false;
    user->counters_dirty_ = false;  // this flush announces the counters too
    flush_user(*user);
  }
  if (manager_dirty_) {
    manager_dirty_ = false;
    std::map<std::string, sdbus::Variant> changed;
    const std::uint32_t users = user_count();
    std::uint32_t open = last_open_count_;
    try {
      open = backend_.open_count();
    } catch (const std::exception& e) {
      log_.warning("open_count failed: ", e.what());
    }
    if (users != last_user_count_) changed.emplace("UserCount", sdbus::Variant(users));
    if (open != last_open_count_) changed.emplace("OpenCount", sdbus::Variant(open));
    last_user_count_ = users;
    last_open_count_ = open;
    if (!changed.empty() && !broken_) {
      try {
        sdbus::Signal signal =
            manager_->object().createSignal(names_.properties_interface, names_.properties_changed);
        signal << names_.manager_interface << changed << std::vector<std::string>{};
        enqueue(std::move(signal), nullptr);
      } catch (const sdbus::Error& e) {
        log_.debug("PropertiesChanged on ", kManagerPath, " failed: ", e.getMessage());
      }
    }
  }
  schedule_pump();
}

void BusService::Impl::flush_user(UserObject& user) {
  std::optional<UserSnapshot> snap;
  try {
    snap = backend_.snapshot(user.id());
  } catch (const std::exception& e) {
    log_.warning("snapshot of user ", user.id(), " failed: ", e.what());
    return;
  }
  if (!snap) return;
  const UserSnapshot& last = user.last_;
  std::map<std::string, sdbus::Variant> changed;
  if (snap->url != last.url) changed.emplace("Url", sdbus::Variant(snap->url));
  if (snap->state != last.state) changed.emplace("State", sdbus::Variant(state_word(snap->state)));
  if (snap->reason != last.reason) changed.emplace("StateReason", sdbus::Variant(snap->reason));
  if (snap->state_since_usec != last.state_since_usec) {
    changed.emplace("StateSince", sdbus::Variant(snap->state_since_usec));
  }
  // RoundTripUsec is not announced (EmitsChangedSignal=false): it changes on
  // every heartbeat, and 10,000 users would mean 2,000 signals/s of noise.
  if (snap->reconnects != last.reconnects) changed.emplace("Reconnects", sdbus::Variant(snap->reconnects));
  if (snap->received != last.received) changed.emplace("MessagesReceived", sdbus::Variant(snap->received));
  if (snap->sent != last.sent) changed.emplace("MessagesSent", sdbus::Variant(snap->sent));
  if (snap->dropped != last.dropped) changed.emplace("MessagesDropped", sdbus::Variant(snap->dropped));
  if (snap->last_message_usec != last.last_message_usec) {
    changed.emplace("LastMessageAt", sdbus::Variant(snap->last_message_usec));
  }
  if (!changed.empty() && !broken_) {
    try {
      sdbus::Signal signal = user.object().createSignal(names_.properties_interface, names_.properties_changed);
      signal << names_.user_interface << changed << std::vector<std::string>{};
      enqueue(std::move(signal), nullptr);
    } catch (const sdbus::Error& e) {
      log_.debug("PropertiesChanged for user ", user.id(), " failed: ", e.getMessage());
    }
  }
  user.last_ = std::move(*snap);
}

// ---- signals -------------------------------------------------------------------

bool BusService::Impl::sd_bus_has_output() const {
  // The raw bus, once known, is asked directly: getEventLoopPollData() also
  // computes the fd and the timeout under sdbus-c++'s mutex, once per message.
  if (raw_bus_ != nullptr) {
    const int events = sd_bus_get_events(raw_bus_);
    if (events < 0) throw sdbus::createError(-events, "Failed to get the bus events");
    return (events & POLLOUT) != 0;
  }
  return (conn_->getEventLoopPollData().events & POLLOUT) != 0;
}

void BusService::Impl::enqueue(sdbus::Signal&& signal, const std::shared_ptr<const std::string>& user) {
  if (raw_bus_ == nullptr) raw_bus_ = sd_bus_message_get_bus(RawMessage::get(signal));
  if (outbox_.empty()) {
    bool has_output = true;
    try {
      has_output = sd_bus_has_output();
    } catch (const sdbus::Error&) {  // the pump will notice a broken connection
    }
    if (!has_output) {
      try {
        signal.send();
      } catch (const sdbus::Error&) {
        if (user) backend_.bus_dropped(*user);
      }
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
      try {
        next.signal.send();
      } catch (const sdbus::Error&) {
        if (next.user) backend_.bus_dropped(*next.user);
      }
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
  UserObject& user = *it->second;
  const std::string& member = message.binary ? names_.binary_received : names_.message_received;

  std::optional<std::uint32_t> restricted;
  if (options_.kind == BusKind::System) {
    try {
      restricted = backend_.unix_uid(id);
    } catch (const std::exception&) {
      backend_.bus_dropped(id);  // not knowing who may read it, we do not send it
      return;
    }
  }
  auto build_and_enqueue = [&](const std::string* destination) {
    try {
      sdbus::Signal signal = user.object().createSignal(names_.user_interface, member);
      if (destination != nullptr) signal.setDestination(*destination);
      signal << message.seq;
      if (message.binary) {
        append_bytes(signal, message.data);
      } else {
        append_text(signal, message.data);
      }
      enqueue(std::move(signal), user.shared_id());
    } catch (const sdbus::Error&) {
      backend_.bus_dropped(id);  // e.g. text that is not valid UTF-8
    }
  };
  if (!restricted) {
    build_and_enqueue(nullptr);
  } else {
    for (const auto& [name, subscriber] : subscribers_) {
      if (subscriber.uid == 0 || subscriber.uid == *restricted) build_and_enqueue(&name);
    }
  }
}

void BusService::Impl::emit_state(const std::string& id, supervisor::State old_state, supervisor::State new_state,
                                  const std::string& reason) {
  auto it = users_.find(id);
  if (it == users_.end() || broken_) return;
  try {
    sdbus::Signal signal = it->second->object().createSignal(names_.user_interface, names_.state_changed);
    signal << state_word(old_state) << state_word(new_state) << reason;
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
  try {
    return call->getCredsUid();
  } catch (const sdbus::Error& e) {
    throw sdbus::Error(kErrorAccessDenied, "cannot determine the caller's credentials: " + e.getMessage());
  }
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

void BusService::Impl::check_user_access(UserObject& user) {
  if (options_.kind != BusKind::System) return;
  auto restricted = backend_.unix_uid(user.id());
  if (!restricted) return;
  uid_t uid = caller_uid(user.object());
  if (uid != 0 && uid != *restricted) {
    throw sdbus::Error(kErrorAccessDenied, "access to user " + user.id() + " denied");
  }
}

bool BusService::Impl::on_send(UserObject& user, const std::string& text) {
  check_user_access(user);
  switch (backend_.send(user.id(), text)) {
    case SendOutcome::Sent: return false;
    case SendOutcome::Queued: return true;
    case SendOutcome::NoSuchUser: throw no_such_user(user.id());
    case SendOutcome::Stopped: throw sdbus::Error(kErrorInvalidArgument, "user " + user.id() + " is stopped");
  }
  throw sdbus::Error(kErrorFailed, "unexpected send outcome");
}

void BusService::Impl::on_reconnect(UserObject& user) {
  check_user_access(user);
  if (!backend_.reconnect(user.id())) throw no_such_user(user.id());
}

// Binary entries are left out: a D-Bus string must be valid UTF-8. Their seq
// numbers show up as gaps (docs/dbus-api.md).
std::vector<sdbus::Struct<uint64_t, uint64_t, std::string>> BusService::Impl::on_recent(UserObject& user,
                                                                                       std::uint64_t since) {
  check_user_access(user);
  auto messages = backend_.recent(user.id(), since);
  if (!messages) throw no_such_user(user.id());
  std::vector<sdbus::Struct<uint64_t, uint64_t, std::string>> out;
  out.reserve(messages->size());
  for (auto& message : *messages) {
    if (message.binary) continue;
    out.emplace_back(message.seq, message.wall_usec, std::move(message.data));
  }
  return out;
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
