// The org.wsheartd1.User objects. ONE registration serves every user: a
// fallback vtable on kUserPathPrefix (a static sd_bus_vtable, the
// org.wsheartd1.User interface of org.wsheartd1.xml with sdbus-c++'s member
// order and flags, so introspection is unchanged), a find callback that maps
// an object path to the user, and a node enumerator that lists the users for
// Introspect and GetManagedObjects. A per-user sdbus-c++ object cost ~7 KB
// (its maps of std::function callbacks, its own vtable, and sd-bus's
// per-member hashmap entries) and a third of start-up at 10,000 users; a user
// is a UserEntry of a few hundred bytes. The callbacks run inside
// processPendingRequest(), on the loop thread.

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "bus/service_impl.hpp"

namespace wsheart::bus {

namespace {

// True when `prefix` is `path` or one of its ancestors ("/" included).
bool encloses(const char* prefix, const char* path) {
  const std::size_t n = std::strlen(prefix);
  if (std::strncmp(path, prefix, n) != 0) return false;
  return path[n] == '\0' || path[n] == '/' || (n == 1 && prefix[0] == '/');
}

// What the properties read: the figures where the core keeps them, the
// profile the core handed over, the id the entry was made with.
template <auto Field>
const auto& stat(const UserEntry& user) {
  return user.source->stats().*Field;
}
std::uint64_t duplicates(const UserEntry& user) { return user.source->duplicates(); }
const std::string& id(const UserEntry& user) { return user.id; }
const std::string& url(const UserEntry& user) { return user.profile.url; }
const std::string& proxy(const UserEntry& user) { return user.profile.proxy; }

using supervisor::Stats;

}  // namespace

// ---- the vtable ----------------------------------------------------------------

// As org.wsheartd1.xml declares it, in the order and with the flags sdbus-c++
// 1.2 used (members sorted by name: methods, signals, properties), so that
// Introspect answers byte for byte as before. Methods are UNPRIVILEGED: on the
// system bus sd-bus would otherwise demand CAP_SYS_ADMIN; access is ours to
// check (check_access). Properties: EMITS_CHANGE unless the XML says
// "const" (Id) or "false" (RoundTripUsec).
const sd_bus_vtable BusService::Impl::kUserVtable[] = {
    SD_BUS_VTABLE_START(SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_METHOD_WITH_NAMES("RecentMessages", "t", SD_BUS_PARAM(since_seq), "a(tts)", SD_BUS_PARAM(messages),
                             &Impl::method_recent, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Reconnect", "", "", &Impl::method_reconnect<false>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("ReconnectFresh", "", "", &Impl::method_reconnect<true>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Send", "s", SD_BUS_PARAM(text), "b", SD_BUS_PARAM(queued), &Impl::method_send,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL_WITH_NAMES("BinaryMessageReceived", "tay", SD_BUS_PARAM(seq) SD_BUS_PARAM(data), 0),
    SD_BUS_SIGNAL_WITH_NAMES("MessageReceived", "ts", SD_BUS_PARAM(seq) SD_BUS_PARAM(text), 0),
    SD_BUS_SIGNAL_WITH_NAMES("StateChanged", "sss", SD_BUS_PARAM(old) SD_BUS_PARAM(new) SD_BUS_PARAM(reason), 0),
    SD_BUS_PROPERTY("Cursor", "a{ss}", &Impl::get_cursor, 0, 0),
    SD_BUS_PROPERTY("Id", "s", &Impl::get_property<&id>, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("LastMessageAt", "t", &Impl::get_property<&stat<&Stats::last_message_usec>>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("MessagesDropped", "t", &Impl::get_property<&stat<&Stats::dropped>>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("MessagesDuplicate", "t", &Impl::get_property<&duplicates>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("MessagesReceived", "t", &Impl::get_property<&stat<&Stats::received>>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("MessagesSent", "t", &Impl::get_property<&stat<&Stats::sent>>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Proxy", "s", &Impl::get_property<&proxy>, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Reconnects", "u", &Impl::get_property<&stat<&Stats::reconnects>>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("RoundTripUsec", "t", &Impl::get_property<&stat<&Stats::rtt_usec>>, 0, 0),
    SD_BUS_PROPERTY("State", "s", &Impl::get_property<&stat<&Stats::state>>, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("StateReason", "s", &Impl::get_property<&stat<&Stats::reason>>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("StateSince", "t", &Impl::get_property<&stat<&Stats::state_since_usec>>, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Url", "s", &Impl::get_property<&url>, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_VTABLE_END,
};

BusService::Impl& BusService::Impl::dispatching(sd_bus* bus) {
  return *static_cast<Impl*>(sd_bus_slot_get_userdata(sd_bus_get_current_slot(bus)));
}

// The user behind an object path, or null. Only the canonical spelling of a
// user's path counts (sd_bus_path_decode would also accept e.g. "_61lice"
// for "alice"): exactly the paths that have an object.
UserEntry* BusService::Impl::user_at(const char* path) {
  auto it = users_.find(path);
  return it == users_.end() ? nullptr : &it->second;
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
    list[n] = ::strdup(entry.first.c_str());
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

// A method replies itself, through the outbox so that the reply does not
// overtake signals emitted before it, and returns 1 ("handled"); sd-bus would
// otherwise go on looking for the member. Errors are answered by sd-bus.
int BusService::Impl::method_send(sd_bus_message* call, void* userdata, sd_bus_error* error) noexcept {
  return answer(error, [&] {
    const char* text = nullptr;
    check(sd_bus_message_read_basic(call, 's', &text), "Failed to read the text");
    Impl& impl = dispatching(sd_bus_message_get_bus(call));
    const bool queued = impl.on_send(*static_cast<const UserEntry*>(userdata), call, text);
    MessagePtr reply = new_method_return(call);
    check(sd_bus_message_append(reply.get(), "b", static_cast<int>(queued)), "Failed to append the result");
    impl.send_reply(std::move(reply));
    return 1;
  });
}

// Reconnect (Fresh = false) and ReconnectFresh.
template <bool Fresh>
int BusService::Impl::method_reconnect(sd_bus_message* call, void* userdata, sd_bus_error* error) noexcept {
  return answer(error, [&] {
    Impl& impl = dispatching(sd_bus_message_get_bus(call));
    impl.on_reconnect(*static_cast<const UserEntry*>(userdata), call, Fresh);
    impl.send_reply(new_method_return(call));
    return 1;
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

template <auto Read>
int BusService::Impl::get_property(sd_bus* /*bus*/, const char* /*path*/, const char* /*interface*/,
                                   const char* /*property*/, sd_bus_message* reply, void* userdata,
                                   sd_bus_error* error) noexcept {
  return answer(error, [&] { return append_value(reply, Read(*static_cast<const UserEntry*>(userdata))); });
}

// Cursor values come out of the user's messages: on the system bus a caller
// who may not read those (check_access) gets an empty map, not an error, so
// that GetAll of the interface still works for everyone.
int BusService::Impl::get_cursor(sd_bus* bus, const char* /*path*/, const char* /*interface*/,
                                 const char* /*property*/, sd_bus_message* reply, void* userdata,
                                 sd_bus_error* error) noexcept {
  return answer(error, [&] {
    const auto& user = *static_cast<const UserEntry*>(userdata);
    try {
      dispatching(bus).check_access(user, sd_bus_get_current_message(bus));
    } catch (const sdbus::Error&) {
      return append_value(reply, std::map<std::string, std::string>{});
    }
    return append_value(reply, user.source->cursor());
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

// ---- method bodies -----------------------------------------------------------

void BusService::Impl::check_access(const UserEntry& user, sd_bus_message* call) const {
  if (options_.kind != BusKind::System) return;
  check_user_access(user.profile.owner_uid, call, user.id);
}

bool BusService::Impl::on_send(const UserEntry& user, sd_bus_message* call, std::string text) {
  check_access(user, call);
  switch (user.source->send(std::move(text))) {
    case supervisor::SendResult::Sent: return false;
    case supervisor::SendResult::Queued: return true;
    case supervisor::SendResult::Stopped: throw sdbus::Error(kErrorInvalidArgument, "user " + user.id + " is stopped");
  }
  throw sdbus::Error(kErrorFailed, "unexpected send outcome");
}

void BusService::Impl::on_reconnect(const UserEntry& user, sd_bus_message* call, bool fresh) {
  check_access(user, call);
  user.source->reconnect(fresh);
}

// Replies with a(tts). Binary entries are left out: a D-Bus string must be
// valid UTF-8. Their seq numbers show up as gaps (docs/dbus-api.md).
void BusService::Impl::on_recent(const UserEntry& user, sd_bus_message* call, std::uint64_t since) {
  check_access(user, call);
  const auto messages = user.source->recent(since);
  MessagePtr reply = new_method_return(call);
  check(sd_bus_message_open_container(reply.get(), 'a', "(tts)"), "Failed to open the array");
  for (const auto& message : messages) {
    if (message.binary) continue;
    check(sd_bus_message_append(reply.get(), "(tts)", message.seq, message.wall_usec, message.data.c_str()),
          "Failed to serialize a message");
  }
  check(sd_bus_message_close_container(reply.get()), "Failed to close the array");
  send_reply(std::move(reply));
}

}  // namespace wsheart::bus
