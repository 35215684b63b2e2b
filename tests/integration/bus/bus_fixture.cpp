#include "bus_fixture.hpp"

#include <thread>

namespace wsheart::bus::test {

using Clock = std::chrono::steady_clock;

std::string user_path(const std::string& id) { return user_object_path(id); }

// ---- SignalRecorder -----------------------------------------------------------

namespace {

std::string render(const sdbus::Variant& v) {
  if (v.containsValueOfType<std::string>()) return v.get<std::string>();
  if (v.containsValueOfType<std::uint64_t>()) return std::to_string(v.get<std::uint64_t>());
  if (v.containsValueOfType<std::uint32_t>()) return std::to_string(v.get<std::uint32_t>());
  return "<" + v.peekValueType() + ">";
}

}  // namespace

SignalRecorder::SignalRecorder(const std::string& address, const std::string& match) {
  connection_ = sdbus::createSessionBusConnectionWithAddress(address);
  match_ = connection_->addMatch(match, [this](sdbus::Message& message) {
    SeenSignal s;
    s.path = message.getPath();
    s.interface = message.getInterfaceName();
    s.member = message.getMemberName();
    s.destination = message.getDestination();
    if (s.member == "MessageReceived") {
      message >> s.seq >> s.text;
    } else if (s.member == "BinaryMessageReceived") {
      message >> s.seq >> s.bytes;
    } else if (s.member == "StateChanged") {
      std::string a;
      std::string b;
      std::string c;
      message >> a >> b >> c;
      s.text = a + " " + b + " " + c;
    } else if (s.member == "PropertiesChanged") {
      std::string iface;
      std::map<std::string, sdbus::Variant> changed;
      message >> iface >> changed;
      s.text = iface;
      for (const auto& [name, value] : changed) {
        s.changed.push_back(name);
        s.values[name] = render(value);
      }
    } else if (s.member == "InterfacesAdded" || s.member == "InterfacesRemoved") {
      sdbus::ObjectPath path;
      message >> path;
      s.text = path;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    seen_.push_back(std::move(s));
  });
  proxy_ = sdbus::createProxy(*connection_, kBusName, kManagerPath);
  connection_->enterEventLoopAsync();
}

SignalRecorder::~SignalRecorder() {
  try {
    connection_->leaveEventLoop();
  } catch (...) {  // NOLINT(bugprone-empty-catch)
  }
}

std::vector<SeenSignal> SignalRecorder::seen() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return seen_;
}

std::size_t SignalRecorder::count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return seen_.size();
}

std::size_t SignalRecorder::count(const std::string& member) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t n = 0;
  for (const auto& s : seen_) n += s.member == member ? 1u : 0u;
  return n;
}

void SignalRecorder::call_async(const std::string& path, const std::string& interface, const std::string& method) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    call_done_ = false;
    call_error_.clear();
  }
  if (path != proxy_->getObjectPath()) proxy_ = sdbus::createProxy(*connection_, kBusName, path);
  proxy_->callMethodAsync(method).onInterface(interface).uponReplyInvoke([this](const sdbus::Error* error) {
    std::lock_guard<std::mutex> lock(mutex_);
    call_done_ = true;
    signals_before_reply_ = seen_.size();
    if (error != nullptr) call_error_ = error->getName();
  });
}

std::size_t SignalRecorder::signals_before_reply() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return signals_before_reply_;
}

bool SignalRecorder::call_done() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return call_done_;
}

std::string SignalRecorder::call_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return call_error_;
}

// ---- BusTest --------------------------------------------------------------------

BusTest::BusTest() = default;

BusTest::~BusTest() {
  service_.reset();
  // Run what the destroyed service left queued: its handlers must be inert.
  io_.restart();
  io_.poll();
}

void BusTest::start(BusKind kind, const std::string& address) {
  if (!address.empty()) address_ = address;
  BusOptions options;
  options.kind = kind;
  options.version = "0.1.0-test";
  options.address = this->address();
  options.on_disconnected = [this](const std::string& why) { disconnects_.push_back(why); };
  options.queue_max_bytes = queue_max_bytes_;
  service_ = std::make_unique<BusService>(io_, backend_, log_, options);
}

FakeUser& BusTest::add(const std::string& id, UserProfile profile) {
  FakeUser& u = backend_.users.try_emplace(id, backend_, id).first->second;
  u.entry = &service_->add_user(id, u, std::move(profile));
  return u;
}

void BusTest::remove(const std::string& id) {
  FakeUser& u = backend_.users.at(id);
  service_->remove_user(*u.entry);
  u.entry = nullptr;
}

UserEntry& BusTest::entry(const std::string& id) { return *backend_.users.at(id).entry; }

void BusTest::turn(std::chrono::milliseconds slice) {
  io_.restart();
  io_.run_for(slice);
}

bool BusTest::pump_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    turn();
  }
}

void BusTest::pump_for(std::chrono::milliseconds duration) {
  const auto deadline = Clock::now() + duration;
  while (Clock::now() < deadline) turn();
}

CommandResult BusTest::client(const std::vector<std::string>& argv, const EnvOverrides& env,
                              std::chrono::milliseconds timeout) {
  Subprocess child(argv, env);
  CommandResult result;
  bool done = pump_until(
      [&] {
        (void)child.out();
        return !child.running();
      },
      timeout);
  if (!done) {
    child.stop();
    result.exit_code = -1;
  } else {
    result.exit_code = child.wait(0ms).value_or(-1);
  }
  result.out = child.out();
  result.err = child.err();
  return result;
}

CommandResult BusTest::busctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"busctl", "--address=" + address(), "--json=short"};
  argv.insert(argv.end(), args.begin(), args.end());
  return client(argv);
}

CommandResult BusTest::gdbus_call(const std::string& path, const std::string& method,
                                  const std::vector<std::string>& args) {
  std::vector<std::string> argv{"gdbus",         "call",        "--address", address(), "--dest", kBusName,
                                "--object-path", path,          "--method",  method};
  argv.insert(argv.end(), args.begin(), args.end());
  return client(argv);
}

std::string BusTest::get_property(const std::string& path, const std::string& interface, const std::string& name) {
  auto r = busctl({"get-property", kBusName, path, interface, name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

}  // namespace wsheart::bus::test
