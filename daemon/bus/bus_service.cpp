// The org.wsheartd1 service: sdbus-c++ 1.2 (the v1 API) for the connection
// and the manager object, raw sd-bus for the user objects and every signal.
// This file builds the service, keeps the object tree and the name, and puts
// every outgoing signal through the ordered outbox; see service_impl.hpp for
// where the other parts live.

#include <poll.h>

#include <chrono>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

#include <asio/post.hpp>

#include "bus/service_impl.hpp"

namespace wsheart::bus {

namespace {

constexpr auto kFlushBudget = std::chrono::seconds(2);
// How long the bus daemon may take to answer: the connection handshake at
// start-up, and each synchronous call (AddMatch, RequestName, ReleaseName,
// a caller's credentials). sd-bus's own bounds are 90 s and 25 s.
constexpr auto kBusAnswerBudget = std::chrono::seconds(5);

struct BusUnref {
  void operator()(sd_bus* bus) const noexcept { sd_bus_close_unref(bus); }
};

// As sdbus-c++ words a failed call: "what (strerror)".
std::string failure(const char* what, int r) { return sdbus::createError(r < 0 ? -r : r, what).getMessage(); }

// sdbus-c++ opens its connection and then waits, bounded only by sd-bus's
// 90 s authentication timeout, for the bus daemon to answer. A wedged bus
// daemon (stopped, overloaded) would hold start-up until systemd gives up. So
// a connection of our own must first get through the handshake (SASL and
// Hello) within kBusAnswerBudget. Throws BusUnavailable with the cause.
void wait_for_bus(const BusOptions& options) {
  sd_bus* raw = nullptr;
  int r = 0;
  if (!options.address.empty()) {
    r = sd_bus_new(&raw);
    if (r >= 0) r = sd_bus_set_address(raw, options.address.c_str());
    if (r >= 0) r = sd_bus_set_bus_client(raw, 1);
    if (r >= 0) r = sd_bus_start(raw);
  } else if (options.kind == BusKind::System) {
    r = sd_bus_open_system(&raw);
  } else {
    r = sd_bus_open_user(&raw);
  }
  std::unique_ptr<sd_bus, BusUnref> bus(raw);
  const std::string where = options.address.empty() ? "" : options.address + ": ";
  if (r < 0) throw BusUnavailable(where + failure("Failed to open bus", r));
  const auto deadline = std::chrono::steady_clock::now() + kBusAnswerBudget;
  for (;;) {
    r = sd_bus_is_ready(bus.get());
    if (r > 0) return;
    if (r >= 0) r = sd_bus_process(bus.get(), nullptr);
    if (r < 0) throw BusUnavailable(where + failure("Failed to connect to the bus", r));
    if (r > 0) continue;
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      throw BusUnavailable(where + "the bus daemon did not answer within " + std::to_string(kBusAnswerBudget.count()) +
                           " s (stopped or overloaded?)");
    }
    r = sd_bus_wait(bus.get(), static_cast<std::uint64_t>(left.count()));
    if (r < 0) throw BusUnavailable(where + failure("Failed to wait for the bus", r));
  }
}

}  // namespace

// ---- construction ----------------------------------------------------------

BusService::Impl::Impl(asio::io_context& io, Backend& backend, const Logger& log, BusOptions options)
    : io_(io), backend_(backend), log_(log), options_(std::move(options)),
      outbox_(options_.queue_max_bytes),
      counter_timer_(io) {
  wait_for_bus(options_);
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
    manager_ = std::make_unique<ManagerObject>(*conn_, *this);
    // sdbus-c++ 1.2 does not hand out its sd_bus, but every message it
    // creates knows it. This one is never sent.
    sdbus::Signal probe = manager_->object().createSignal(kPropertiesInterface, kPropertiesChanged);
    raw_bus_ = sd_bus_message_get_bus(RawMessage::get(probe));
    if (raw_bus_ == nullptr) throw BusUnavailable("cannot reach the sd-bus connection");
    const auto call_timeout = std::chrono::duration_cast<std::chrono::microseconds>(kBusAnswerBudget);
    check(sd_bus_set_method_call_timeout(raw_bus_, static_cast<std::uint64_t>(call_timeout.count())),
          "Failed to set the method call timeout");
    outbox_.attach(raw_bus_);
    // Subscribers that leave the bus are forgotten. One match for the whole
    // bus keeps this race-free: a peer's Subscribe call always reaches us
    // before the NameOwnerChanged that announces its disconnection.
    owner_watch_ = conn_->addMatch(
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
        "interface='org.freedesktop.DBus',member='NameOwnerChanged'",
        [this](sdbus::Message& message) { name_owner_changed(message); });
  } catch (const sdbus::Error& e) {
    throw BusUnavailable(e.getMessage());
  }
  loop_ = std::make_unique<BusLoop>(
      io_, *conn_, [this] { drain_outbox(); }, [this](const std::string& why) { connection_lost(why); });
  loop_->start();
}

BusService::Impl::~Impl() {
  alive_.reset();
  if (loop_) loop_->stop();
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

void BusService::Impl::connection_lost(const std::string& why) {
  log_.err("D-Bus connection lost: ", why);
  outbox_.drop_all();
  if (options_.on_disconnected) {
    std::weak_ptr<int> alive = alive_;
    asio::post(io_, [this, alive, why] {
      if (alive.expired()) return;
      options_.on_disconnected(why);
    });
  }
}

// ---- tree and name -----------------------------------------------------------

UserEntry& BusService::Impl::add_user(const std::string& id, UserSource& source, UserProfile profile) {
  std::string path = user_object_path(id);
  if (users_.count(path) != 0) throw std::invalid_argument("user " + id + " is already on the bus");
  if (users_.empty()) {
    try {
      register_user_tree();
    } catch (const sdbus::Error& e) {
      throw std::runtime_error("cannot create the D-Bus object of user " + id + ": " + e.getMessage());
    }
  }
  auto it = users_.try_emplace(std::move(path), id, source, std::move(profile)).first;
  UserEntry& user = it->second;
  user.path = &it->first;
  user.announced = source.stats();
  user.announced_duplicates = source.duplicates();
  if (name_owned_ && !loop_->broken()) {
    // Peer, Introspectable, Properties and User with all its properties, as
    // sdbus-c++'s emitInterfacesAddedSignal() sent them. sd-bus builds the
    // signal from the vtable as it sends it, so behind queued signals it is
    // sent when the queue reaches it, if the user is still there.
    outbox_.run_in_order([this, path = *user.path] {
      auto found = users_.find(path);
      if (found == users_.end()) return;
      const int r = sd_bus_emit_object_added(raw_bus_, path.c_str());
      if (r < 0) {
        const std::string& added = found->second.id;
        log_.log_for(LogLevel::Warning, user_fields(added), "InterfacesAdded for user ", added, " failed: ",
                     std::strerror(-r));
      }
    });
    loop_->schedule_pump();
  }
  manager_changed();
  return user;
}

void BusService::Impl::remove_user(UserEntry& user) {
  if (name_owned_ && !loop_->broken()) {
    // Behind the user's queued messages, never before them. Built here with
    // the interfaces sd_bus_emit_object_removed() names (it would send at once).
    try {
      outbox_.enqueue_always(interfaces_removed(raw_bus_, kManagerPath, user.path->c_str(),
                                                {"org.freedesktop.DBus.Peer", "org.freedesktop.DBus.Introspectable",
                                                 kPropertiesInterface, kUserInterface}));
    } catch (const sdbus::Error& e) {
      log_.log_for(LogLevel::Warning, user_fields(user.id), "InterfacesRemoved for user ", user.id, " failed: ",
                   e.getMessage());
    }
    loop_->schedule_pump();
  }
  if (user.dirty) {
    for (auto& entry : dirty_users_) {
      if (entry == &user) entry = nullptr;
    }
  }
  if (user.counters_dirty) {
    for (auto& entry : counter_users_) {
      if (entry == &user) entry = nullptr;
    }
  }
  users_.erase(users_.find(*user.path));
  if (users_.empty()) unregister_user_tree();
  manager_changed();
}

void BusService::Impl::set_profile(UserEntry& user, UserProfile profile) {
  user.url_changed = user.url_changed || profile.url != user.profile.url;
  user.proxy_changed = user.proxy_changed || profile.proxy != user.profile.proxy;
  user.profile = std::move(profile);
  if (user.url_changed || user.proxy_changed) user_changed(user);
}

void BusService::Impl::request_name() {
  if (name_owned_) return;
  if (loop_->broken()) throw BusUnavailable("the D-Bus connection is lost");
  try {
    // sdbus-c++ 1.2 requests with flags 0, which sd-bus sends as
    // DBUS_NAME_FLAG_DO_NOT_QUEUE: an owned name fails at once (EEXIST)
    // instead of putting us in the queue.
    conn_->requestName(kBusName);
  } catch (const sdbus::Error& e) {
    loop_->schedule_pump();
    const std::string& name = e.getName();
    if (name == "org.freedesktop.DBus.Error.FileExists" || name == "System.Error.EEXIST") {
      throw NameTaken("already owned by another process");
    }
    throw BusUnavailable(e.getMessage());
  }
  name_owned_ = true;
  loop_->schedule_pump();
}

void BusService::Impl::release_name() {
  if (!name_owned_) return;
  name_owned_ = false;
  if (loop_->broken()) return;
  try {
    conn_->releaseName(kBusName);
  } catch (const sdbus::Error& e) {
    log_.warning("releasing ", kBusName, " failed: ", e.getMessage());
  }
  loop_->schedule_pump();
}

// ---- output ----------------------------------------------------------------------

void BusService::Impl::enqueue(MessagePtr signal, const MessageOwnerPtr& owner, std::size_t payload) {
  outbox_.enqueue(std::move(signal), owner, payload);
  loop_->schedule_pump();  // a partial write leaves output queued: watch for POLLOUT
}

void BusService::Impl::send_reply(MessagePtr reply) {
  outbox_.enqueue_always(std::move(reply));
  loop_->schedule_pump();
}

void BusService::Impl::drain_outbox() {
  try {
    outbox_.drain();
  } catch (const sdbus::Error& e) {
    loop_->fail(e.getMessage());
  }
}

void BusService::Impl::emit_message(UserEntry& user, const supervisor::Message& message) {
  if (loop_->broken()) {
    user.source->bus_dropped();
    return;
  }
  const char* member = message.binary ? "BinaryMessageReceived" : "MessageReceived";
  auto build_and_enqueue = [&](const char* destination) {
    try {
      MessagePtr signal = new_signal(raw_bus_, user.path->c_str(), kUserInterface, member);
      if (destination != nullptr) {
        check(sd_bus_message_set_destination(signal.get(), destination), "Failed to set the destination");
      }
      check(sd_bus_message_append_basic(signal.get(), 't', &message.seq), "Failed to append seq");
      if (message.binary) {
        append_bytes(signal.get(), message.data);
      } else {
        append_text(signal.get(), message.data);
      }
      enqueue(std::move(signal), user.owner, message.data.size());
    } catch (const sdbus::Error&) {
      user.source->bus_dropped();  // e.g. text that is not valid UTF-8
    }
  };
  // A restricted user's messages go to its allowed subscribers only (system bus).
  const std::optional<std::uint32_t>& owner_uid = user.profile.owner_uid;
  if (options_.kind != BusKind::System || !owner_uid) {
    build_and_enqueue(nullptr);
  } else {
    subscribers_.for_each_allowed(*owner_uid, [&](const std::string& name) { build_and_enqueue(name.c_str()); });
  }
}

void BusService::Impl::emit_state(UserEntry& user, supervisor::State old_state, supervisor::State new_state,
                                  const std::string& reason) {
  if (loop_->broken()) return;
  try {
    MessagePtr signal = new_signal(raw_bus_, user.path->c_str(), kUserInterface, "StateChanged");
    check(sd_bus_message_append(signal.get(), "sss", state_word(old_state).c_str(), state_word(new_state).c_str(),
                                reason.c_str()),
          "Failed to append StateChanged");
    enqueue(std::move(signal), nullptr, reason.size());
  } catch (const sdbus::Error& e) {
    log_.log_for(LogLevel::Debug, user_fields(user.id), "StateChanged for user ", user.id, " could not be sent: ",
                 e.getMessage());
  }
}

void BusService::Impl::flush() {
  flush_posted_ = false;  // a posted flush finds nothing left to do
  counter_timer_.cancel();
  counter_timer_armed_ = false;
  flush_counters();
  flush_properties();
  if (loop_->broken()) return;
  if (loop_->in_pump()) {
    // Called from inside a bus callback: sd-bus cannot process re-entrantly.
    drain_outbox();
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + kFlushBudget;
  try {
    for (;;) {
      drain_outbox();
      if (loop_->broken()) return;
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
    loop_->fail(e.getMessage());
    return;
  }
  loop_->schedule_pump();
}

// ---- BusService ------------------------------------------------------------------

BusService::BusService(asio::io_context& io, Backend& backend, const Logger& log, BusOptions options)
    : impl_(std::make_unique<Impl>(io, backend, log, std::move(options))) {}

BusService::~BusService() = default;

UserEntry& BusService::add_user(const std::string& id, UserSource& source, UserProfile profile) {
  return impl_->add_user(id, source, std::move(profile));
}
void BusService::remove_user(UserEntry& user) { impl_->remove_user(user); }
void BusService::set_profile(UserEntry& user, UserProfile profile) { impl_->set_profile(user, std::move(profile)); }
void BusService::request_name() { impl_->request_name(); }
void BusService::release_name() { impl_->release_name(); }
void BusService::user_changed(UserEntry& user) { impl_->user_changed(user); }
void BusService::manager_changed() { impl_->manager_changed(); }
void BusService::emit_message(UserEntry& user, const supervisor::Message& message) {
  impl_->emit_message(user, message);
}
void BusService::emit_state(UserEntry& user, supervisor::State old_state, supervisor::State new_state,
                            const std::string& reason) {
  impl_->emit_state(user, old_state, new_state, reason);
}
void BusService::flush() { impl_->flush(); }
void BusService::counters_changed(UserEntry& user) { impl_->counters_changed(user); }
bool BusService::owns_name() const { return impl_->owns_name(); }
std::size_t BusService::subscriber_count() const { return impl_->subscriber_count(); }
std::size_t BusService::queued_signals() const { return impl_->queued_signals(); }
std::size_t BusService::queued_bytes() const { return impl_->queued_bytes(); }
void BusService::set_queue_max_bytes(std::size_t bytes) { impl_->set_queue_max_bytes(bytes); }
void BusService::shutdown() {
  impl_->flush();
  try {
    impl_->release_name();
  } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): release_name logs; shutdown goes on
  }
}

}  // namespace wsheart::bus
