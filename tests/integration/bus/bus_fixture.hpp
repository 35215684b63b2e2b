// Fixture for BusService tests: a real private dbus-daemon, real clients
// (busctl, gdbus, dbus-monitor, python3-dbus, a second sdbus-c++ connection),
// and an in-test Backend standing in for the daemon core.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>

#include "bus/bus_service.hpp"
#include "bus/names.hpp"
#include "process.hpp"

namespace wsheart::bus::test {

using namespace std::chrono_literals;
using wsheart::test::CommandResult;
using wsheart::test::EnvOverrides;
using wsheart::test::PrivateBus;
using wsheart::test::Subprocess;

struct FakeBackend;

// One user of the core's stand-in: figures the tests set, and what the bus
// did to it, recorded in its backend.
struct FakeUser final : UserSource {
  FakeUser(FakeBackend& backend, std::string user_id) : backend_(backend), id(std::move(user_id)) {}

  const supervisor::Stats& stats() const override { return figures; }
  std::uint64_t duplicates() const override { return duplicate_count; }
  std::map<std::string, std::string> cursor() const override { return cursor_values; }
  supervisor::SendResult send(std::string text) override;
  void reconnect(bool fresh) override;
  std::vector<supervisor::Message> recent(std::uint64_t since_seq) const override;
  void bus_dropped() override;

 private:
  FakeBackend& backend_;

 public:
  std::string id;
  supervisor::Stats figures;
  std::uint64_t duplicate_count = 0;
  std::map<std::string, std::string> cursor_values;
  supervisor::SendResult send_outcome = supervisor::SendResult::Sent;
  std::vector<supervisor::Message> history;
  UserEntry* entry = nullptr;  // from BusTest::add until removed
};

// The daemon core's stand-in: plain data the tests set and inspect.
struct FakeBackend : Backend {
  std::map<std::string, FakeUser> users;  // node-based: a FakeUser stays put
  std::uint32_t open = 0;
  std::vector<std::pair<std::string, std::string>> sent;
  std::vector<std::string> reconnected;  // "id", or "id fresh"
  std::vector<std::string> reload_problems;
  int reload_calls = 0;
  std::map<std::string, int> dropped;

  std::uint32_t open_count() const override { return open; }
  void reload(ReloadDone done) override {
    ++reload_calls;
    done(reload_problems);
  }
};

inline supervisor::SendResult FakeUser::send(std::string text) {
  backend_.sent.emplace_back(id, std::move(text));
  return send_outcome;
}
inline void FakeUser::reconnect(bool fresh) { backend_.reconnected.push_back(fresh ? id + " fresh" : id); }
inline std::vector<supervisor::Message> FakeUser::recent(std::uint64_t since_seq) const {
  std::vector<supervisor::Message> out;
  for (const auto& m : history) {
    if (m.seq > since_seq) out.push_back(m);
  }
  return out;
}
inline void FakeUser::bus_dropped() { ++backend_.dropped[id]; }

// A signal as a test client saw it.
struct SeenSignal {
  std::string path;
  std::string interface;
  std::string member;
  std::string destination;
  std::uint64_t seq = 0;                    // MessageReceived / BinaryMessageReceived
  std::string text;                         // MessageReceived; StateChanged "old new reason"
  std::vector<std::uint8_t> bytes;          // BinaryMessageReceived
  std::vector<std::string> changed;         // PropertiesChanged: names, in order
  std::map<std::string, std::string> values;  // PropertiesChanged: string-ish rendering
};

// A second sdbus-c++ connection on its own thread that records signals.
class SignalRecorder {
 public:
  SignalRecorder(const std::string& address, const std::string& match);
  ~SignalRecorder();
  std::vector<SeenSignal> seen() const;
  std::size_t count() const;
  std::size_t count(const std::string& member) const;
  // Calls a no-argument method asynchronously on this connection; the service
  // must be pumped until done() is true.
  void call_async(const std::string& path, const std::string& interface, const std::string& method);
  bool call_done() const;
  std::string call_error() const;
  // How many signals this connection had received when the reply came.
  std::size_t signals_before_reply() const;
  std::string unique_name() const { return connection_->getUniqueName(); }

 private:
  std::unique_ptr<sdbus::IConnection> connection_;
  sdbus::Slot match_;
  std::unique_ptr<sdbus::IProxy> proxy_;
  mutable std::mutex mutex_;
  std::vector<SeenSignal> seen_;
  bool call_done_ = false;
  std::size_t signals_before_reply_ = 0;
  std::string call_error_;
};

class BusTest : public ::testing::Test {
 protected:
  BusTest();
  ~BusTest() override;

  // Starts the service (on `address`, default: the private bus).
  void start(BusKind kind = BusKind::Session, const std::string& address = "");
  // add_user on the service, for a user of the backend.
  FakeUser& add(const std::string& id, UserProfile profile = {});
  // remove_user on the service; the backend's user stays (its records).
  void remove(const std::string& id);
  // The bus entry of a user added with add().
  UserEntry& entry(const std::string& id);

  // One slice of the loop.
  void turn(std::chrono::milliseconds slice = 2ms);
  // Runs the loop until `condition` holds (bounded).
  bool pump_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s);
  // Runs the loop for about `duration`.
  void pump_for(std::chrono::milliseconds duration);
  // Runs a client to completion while the loop keeps serving the bus.
  CommandResult client(const std::vector<std::string>& argv, const EnvOverrides& env = {},
                       std::chrono::milliseconds timeout = 20s);
  CommandResult busctl(const std::vector<std::string>& args);
  CommandResult gdbus_call(const std::string& path, const std::string& method, const std::vector<std::string>& args = {});
  std::string get_property(const std::string& path, const std::string& interface, const std::string& name);

  const std::string& address() const { return address_.empty() ? bus_.address() : address_; }

  PrivateBus bus_;
  std::string address_;
  asio::io_context io_;
  FakeBackend backend_;
  Logger log_{LogLevel::Warning};
  std::unique_ptr<BusService> service_;
  std::vector<std::string> disconnects_;
  std::size_t queue_max_bytes_ = kDefaultQueueBytes;  // BusOptions for start()
};

std::string user_path(const std::string& id);

}  // namespace wsheart::bus::test
