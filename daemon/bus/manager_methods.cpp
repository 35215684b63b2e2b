// The org.wsheartd1.Manager methods (Reload, Subscribe, Unsubscribe) and the
// subscribers that restricted messages are addressed to.

#include <memory>

#include "bus/service_impl.hpp"

namespace wsheart::bus {

void BusService::Impl::name_owner_changed(sdbus::Message& message) {
  try {
    std::string name;
    std::string old_owner;
    std::string new_owner;
    message >> name >> old_owner >> new_owner;
    if (new_owner.empty() && !name.empty() && name.front() == ':') {
      if (subscribers_.remove(name)) log_.debug("subscriber ", name, " left the bus");
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
  subscribers_.add(sender, uid);
  log_.debug("subscriber ", sender, " (uid ", uid, ") added");
}

void BusService::Impl::on_unsubscribe(sdbus::IObject& object) {
  const sdbus::Message* call = object.getCurrentlyProcessedMessage();
  if (call == nullptr) return;
  subscribers_.remove(call->getSender());
}

void BusService::Impl::on_reload(sdbus::IObject& object, sdbus::Result<>&& result) {
  if (options_.kind == BusKind::System && caller_uid(object) != 0) {
    throw sdbus::Error(kErrorAccessDenied, "only root may reload the configuration");
  }
  // The answer comes later, from the loop (the config is read off it).
  auto pending = std::make_shared<sdbus::Result<>>(std::move(result));
  backend_.reload([pending](const std::vector<std::string>& problems) {
    if (problems.empty()) {
      pending->returnResults();
      return;
    }
    std::string text;
    for (const auto& line : problems) {
      if (!text.empty()) text += '\n';
      text += line;
    }
    pending->returnError(sdbus::Error(kErrorInvalidConfig, text));
  });
}

}  // namespace wsheart::bus
