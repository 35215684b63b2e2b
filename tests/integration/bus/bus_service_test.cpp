// BusService against a real dbus-daemon, witnessed by third-party clients.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <asio/post.hpp>

#include "bus_fixture.hpp"

namespace wsheart::bus::test {
namespace {

using wsheart::test::kSystemPython;
using wsheart::test::TempDir;

const char* kUser = "org.wsheartd1.User";
const char* kManager = "org.wsheartd1.Manager";

std::string json_s(const std::string& s) { return R"({"type":"s","data":")" + s + "\"}"; }
std::string json_t(std::uint64_t v) { return R"({"type":"t","data":)" + std::to_string(v) + "}"; }
std::string json_u(std::uint32_t v) { return R"({"type":"u","data":)" + std::to_string(v) + "}"; }

supervisor::Message text_message(std::uint64_t seq, std::string text) {
  supervisor::Message m;
  m.seq = seq;
  m.wall_usec = 1000 * seq;
  m.data = std::move(text);
  return m;
}

// sd_bus_path_encode, restated: [A-Za-z0-9] kept (a leading digit escaped),
// every other byte as _xx; the empty id is "_".
std::string reference_encode(const std::string& id) {
  if (id.empty()) return "_";
  std::string out;
  for (std::size_t i = 0; i < id.size(); ++i) {
    auto c = static_cast<unsigned char>(id[i]);
    bool keep = std::isalpha(c) != 0 || (i > 0 && std::isdigit(c) != 0);
    if (keep && c < 0x80) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "_%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string script_path() { return std::string(WSHEART_BUS_TEST_DIR) + "/subscriber.py"; }

const std::string kSignalsFromService = "type='signal',sender='org.wsheartd1'";

// ---- tree, names, introspection ----------------------------------------------------

TEST(BusPathTest, EncodesIdsAsSdBusPathEncodeDoes) {
  EXPECT_EQ(user_object_path("alice"), "/org/wsheartd1/user/alice");
  EXPECT_EQ(user_object_path("a-b.c"), "/org/wsheartd1/user/a_2db_2ec");
  EXPECT_EQ(user_object_path("0day"), "/org/wsheartd1/user/_30day");
  EXPECT_EQ(user_object_path("ünï"), "/org/wsheartd1/user/_c3_bcn_c3_af");
  std::string long_id(255, 'x');
  long_id[0] = '9';
  long_id[100] = '.';
  EXPECT_EQ(user_object_path(long_id), "/org/wsheartd1/user/" + reference_encode(long_id));
  for (const std::string id : {"alice", "a-b.c", "0day", "ünï", "A_B", "x y/z"}) {
    EXPECT_EQ(user_object_path(id), "/org/wsheartd1/user/" + reference_encode(id)) << id;
  }
}

TEST_F(BusTest, PathEncodedObjectsAnswerWithTheirIdOnTheBus) {
  start();
  std::string long_id;
  while (long_id.size() < 254) long_id += "é";  // 2 bytes each
  long_id += "z";
  ASSERT_EQ(long_id.size(), 255u);
  const std::vector<std::string> ids{"alice", "a-b.c", "0day", "ünï", long_id};
  for (const auto& id : ids) add(id);
  service_->request_name();

  auto tree = busctl({"tree", "--list", kBusName});
  ASSERT_EQ(tree.exit_code, 0) << tree.err;
  for (const auto& id : ids) {
    const std::string path = user_path(id);
    EXPECT_NE(tree.out.find(path + "\n"), std::string::npos) << path << "\n" << tree.out;
    EXPECT_EQ(get_property(path, kUser, "Id"), json_s(id)) << path;
  }
}

TEST_F(BusTest, IntrospectionMatchesTheContract) {
  start();
  add("alice");
  service_->request_name();

  auto user = client({"gdbus", "introspect", "--address", address(), "--dest", kBusName, "--object-path",
                      user_path("alice")});
  ASSERT_EQ(user.exit_code, 0) << user.err;
  for (const char* needle :
       {"interface org.wsheartd1.User", "Send(in  s text,", "out b queued);", "Reconnect();", "ReconnectFresh();",
        "RecentMessages(in  t since_seq,", "out a(tts) messages);", "MessageReceived(t seq,", "s text);",
        "BinaryMessageReceived(t seq,", "ay data);", "StateChanged(s old,", "s new,", "s reason);",
        "readonly s Id", "readonly s Url", "readonly s State ", "readonly s StateReason", "readonly t StateSince",
        "readonly t RoundTripUsec", "readonly u Reconnects", "readonly t MessagesReceived", "readonly t MessagesSent",
        "readonly t MessagesDropped", "readonly t LastMessageAt", "interface org.freedesktop.DBus.Properties"}) {
    EXPECT_NE(user.out.find(needle), std::string::npos) << needle << "\n" << user.out;
  }

  auto manager = client({"gdbus", "introspect", "--address", address(), "--dest", kBusName, "--object-path",
                         kManagerPath});
  ASSERT_EQ(manager.exit_code, 0) << manager.err;
  for (const char* needle :
       {"interface org.wsheartd1.Manager", "Reload();", "Subscribe();", "Unsubscribe();", "readonly s Version",
        "readonly u UserCount", "readonly u OpenCount", "interface org.freedesktop.DBus.ObjectManager",
        "GetManagedObjects(out a{oa{sa{sv}}} object_paths_interfaces_and_properties);", "node user"}) {
    EXPECT_NE(manager.out.find(needle), std::string::npos) << needle << "\n" << manager.out;
  }
}

TEST_F(BusTest, ManagerProperties) {
  start();
  backend_.open = 1;
  add("alice");
  add("bob");
  service_->request_name();
  EXPECT_EQ(get_property(kManagerPath, kManager, "Version"), json_s("0.1.0-test"));
  EXPECT_EQ(get_property(kManagerPath, kManager, "UserCount"), json_u(2));
  EXPECT_EQ(get_property(kManagerPath, kManager, "OpenCount"), json_u(1));
  remove("bob");
  EXPECT_EQ(get_property(kManagerPath, kManager, "UserCount"), json_u(1));
}

TEST_F(BusTest, UserPropertiesComeFromTheUsersFiguresAndProfile) {
  start();
  auto& u = add("alice", UserProfile{"wss://crm.example.com/wsCrm?jspCode=***", "", std::nullopt});
  u.figures.state = supervisor::State::Backoff;
  u.figures.reason = "http_401: unauthorized";
  u.figures.state_since_usec = 1700000000000001;
  u.figures.rtt_usec = 1234;
  u.figures.reconnects = 7;
  u.figures.received = 42;
  u.figures.sent = 5;
  u.figures.dropped = 3;
  u.figures.last_message_usec = 1700000000000999;
  service_->request_name();
  const std::string path = user_path("alice");
  EXPECT_EQ(get_property(path, kUser, "Id"), json_s("alice"));
  EXPECT_EQ(get_property(path, kUser, "Url"), json_s("wss://crm.example.com/wsCrm?jspCode=***"));
  EXPECT_EQ(get_property(path, kUser, "State"), json_s("backoff"));
  EXPECT_EQ(get_property(path, kUser, "StateReason"), json_s("http_401: unauthorized"));
  EXPECT_EQ(get_property(path, kUser, "StateSince"), json_t(1700000000000001));
  EXPECT_EQ(get_property(path, kUser, "RoundTripUsec"), json_t(1234));
  EXPECT_EQ(get_property(path, kUser, "Reconnects"), json_u(7));
  EXPECT_EQ(get_property(path, kUser, "MessagesReceived"), json_t(42));
  EXPECT_EQ(get_property(path, kUser, "MessagesSent"), json_t(5));
  EXPECT_EQ(get_property(path, kUser, "MessagesDropped"), json_t(3));
  EXPECT_EQ(get_property(path, kUser, "LastMessageAt"), json_t(1700000000000999));

  const std::pair<supervisor::State, const char*> states[] = {{supervisor::State::Connecting, "connecting"},
                                                              {supervisor::State::Open, "open"},
                                                              {supervisor::State::Closing, "closing"},
                                                              {supervisor::State::Backoff, "backoff"},
                                                              {supervisor::State::Stopped, "stopped"}};
  for (const auto& [state, word] : states) {
    u.figures.state = state;
    EXPECT_EQ(get_property(path, kUser, "State"), json_s(word));
  }
}

TEST_F(BusTest, GetManagedObjectsListsEveryUser) {
  start();
  add("alice").figures.state = supervisor::State::Open;
  add("a-b.c");
  service_->request_name();
  auto r = busctl({"call", kBusName, kManagerPath, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(R"("org.wsheartd1.User":{"Cursor":{"type":"a{ss}","data":{}},"Id":{"type":"s","data":"alice"})"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(R"("State":{"type":"s","data":"open"})"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("/org/wsheartd1/user/a_2db_2ec":)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("/org/wsheartd1/user/alice":)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("org.wsheartd1.User":{"Cursor":{"type":"a{ss}","data":{}},"Id":{"type":"s","data":"a-b.c"})"), std::string::npos) << r.out;
}

TEST_F(BusTest, InterfacesAddedAndRemovedAfterTheNameIsOwned) {
  start();
  add("alice");  // before the name: part of the initial tree, no signal
  service_->request_name();
  SignalRecorder recorder(address(), kSignalsFromService + ",interface='org.freedesktop.DBus.ObjectManager'");
  // A third-party witness too.
  Subprocess monitor({"dbus-monitor", "--address", address(), kSignalsFromService});
  ASSERT_TRUE(monitor.wait_for_line([](const std::string& l) { return l.find("NameLost") != std::string::npos; }))
      << monitor.err();

  add("bob");
  ASSERT_TRUE(pump_until([&] { return recorder.count("InterfacesAdded") == 1; }));
  remove("bob");
  ASSERT_TRUE(pump_until([&] { return recorder.count("InterfacesRemoved") == 1; }));
  auto seen = recorder.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].path, kManagerPath);
  EXPECT_EQ(seen[0].text, user_path("bob"));
  EXPECT_EQ(seen[1].text, user_path("bob"));

  ASSERT_TRUE(pump_until([&] {
    return monitor.out().find("member=InterfacesRemoved") != std::string::npos;
  })) << monitor.out();
  const std::string& out = monitor.out();
  EXPECT_NE(out.find("member=InterfacesAdded"), std::string::npos);
  EXPECT_NE(out.find("object path \"/org/wsheartd1/user/bob\""), std::string::npos) << out;
  EXPECT_NE(out.find("string \"org.wsheartd1.User\""), std::string::npos) << out;

  // The removed object is gone: D-Bus itself answers.
  auto r = gdbus_call(user_path("bob"), "org.wsheartd1.User.Reconnect");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("org.freedesktop.DBus.Error.UnknownObject"), std::string::npos) << r.err;
}

// ---- names -----------------------------------------------------------------------

TEST_F(BusTest, SecondOwnerGetsNameTaken) {
  start();
  service_->request_name();
  EXPECT_TRUE(service_->owns_name());
  asio::io_context other_io;
  BusOptions options;
  options.address = address();
  BusService second(other_io, backend_, log_, options);
  try {
    second.request_name();
    FAIL() << "the second request_name succeeded";
  } catch (const NameTaken& e) {
    EXPECT_STREQ(e.what(), "already owned by another process");
  }
  EXPECT_FALSE(second.owns_name());
  // Not queued either: when the first owner lets go, the second does not get it.
  service_->release_name();
  auto r = client({"gdbus", "call", "--address", address(), "--dest", "org.freedesktop.DBus", "--object-path",
                   "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus.NameHasOwner", "org.wsheartd1"});
  EXPECT_EQ(r.out, "(false,)\n") << r.err;
  service_->request_name();
  EXPECT_TRUE(service_->owns_name());
}

TEST(BusUnavailableTest, UnreachableBusThrowsWithAClearMessage) {
  asio::io_context io;
  FakeBackend backend;
  Logger log(LogLevel::Err);
  BusOptions options;
  options.address = "unix:path=/nonexistent/wsheart-test-bus";
  try {
    BusService service(io, backend, log, options);
    FAIL() << "connected to a bus that does not exist";
  } catch (const BusUnavailable& e) {
    std::string what = e.what();
    EXPECT_EQ(what.rfind("unix:path=/nonexistent/wsheart-test-bus: Failed to open bus", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos);
  }
}

TEST_F(BusTest, LostBusIsReportedOnce) {
  start();
  add("alice");
  service_->request_name();
  ASSERT_EQ(::kill(bus_.pid(), SIGKILL), 0);
  ASSERT_TRUE(pump_until([&] { return !disconnects_.empty(); }));
  pump_for(50ms);
  EXPECT_EQ(disconnects_.size(), 1u);
  // Inert but safe afterwards.
  service_->emit_message(entry("alice"), text_message(1, "x"));
  service_->user_changed(entry("alice"));
  service_->flush();
  pump_for(20ms);
  EXPECT_EQ(backend_.dropped["alice"], 1);
}

// ---- methods --------------------------------------------------------------------

TEST_F(BusTest, SendReturnsQueuedFlag) {
  start();
  add("alice");
  add("bob");
  backend_.users.at("bob").send_outcome = supervisor::SendResult::Queued;
  service_->request_name();
  auto r = busctl({"call", kBusName, user_path("alice"), kUser, "Send", "s", "hello there"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"type\":\"b\",\"data\":[false]}\n");
  r = busctl({"call", kBusName, user_path("bob"), kUser, "Send", "s", "later"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"type\":\"b\",\"data\":[true]}\n");
  ASSERT_EQ(backend_.sent.size(), 2u);
  EXPECT_EQ(backend_.sent[0], std::make_pair(std::string("alice"), std::string("hello there")));
  EXPECT_EQ(backend_.sent[1], std::make_pair(std::string("bob"), std::string("later")));
}

TEST_F(BusTest, SendToStoppedUserIsInvalidArgument) {
  start();
  add("alice");
  backend_.users.at("alice").send_outcome = supervisor::SendResult::Stopped;
  service_->request_name();
  auto r = gdbus_call(user_path("alice"), "org.wsheartd1.User.Send", {"hi"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("GDBus.Error:org.wsheartd1.Error.InvalidArgument: user alice is stopped"), std::string::npos)
      << r.err;
}

// The core hands over Url and Proxy at add_user and on reload (set_profile);
// the bus announces a change once and serves the new values itself.
TEST_F(BusTest, SetProfileAnnouncesUrlAndProxyOnceAndTheGettersFollow) {
  start();
  add("alice", UserProfile{"ws://a.example/x", "", std::nullopt});
  service_->request_name();
  const std::string path = user_path("alice");
  EXPECT_EQ(get_property(path, kUser, "Url"), json_s("ws://a.example/x"));
  EXPECT_EQ(get_property(path, kUser, "Proxy"), json_s(""));
  SignalRecorder recorder(address(), kSignalsFromService + ",member='PropertiesChanged'");
  const UserProfile next{"ws://b.example/y?token=***", "http://proxy.example:3128", std::nullopt};
  service_->set_profile(entry("alice"), next);
  ASSERT_TRUE(pump_until([&] { return recorder.count() == 1; }));
  auto seen = recorder.seen();
  EXPECT_EQ(seen[0].changed, (std::vector<std::string>{"Proxy", "Url"}));
  EXPECT_EQ(seen[0].values["Url"], "ws://b.example/y?token=***");
  EXPECT_EQ(seen[0].values["Proxy"], "http://proxy.example:3128");
  EXPECT_EQ(get_property(path, kUser, "Url"), json_s("ws://b.example/y?token=***"));
  EXPECT_EQ(get_property(path, kUser, "Proxy"), json_s("http://proxy.example:3128"));

  // The same profile again, and a flush: nothing new to announce.
  service_->set_profile(entry("alice"), next);
  backend_.users.at("alice").figures.sent = 1;
  service_->user_changed(entry("alice"));
  ASSERT_TRUE(pump_until([&] { return recorder.count() == 2; }));
  pump_for(150ms);
  seen = recorder.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].changed, std::vector<std::string>{"MessagesSent"});
}

TEST_F(BusTest, WrongArgumentTypesAreRejectedByTheLibrary) {
  start();
  add("alice");
  service_->request_name();
  auto r = client({"dbus-send", "--bus=" + address(), "--print-reply", "--dest=org.wsheartd1", user_path("alice"),
                   "org.wsheartd1.User.Send", "uint32:5"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("org.freedesktop.DBus.Error.InvalidArgs"), std::string::npos) << r.err;
  EXPECT_TRUE(backend_.sent.empty());
}

TEST_F(BusTest, Reconnect) {
  start();
  add("alice");
  service_->request_name();
  auto r = busctl({"call", kBusName, user_path("alice"), kUser, "Reconnect"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = busctl({"call", kBusName, user_path("alice"), kUser, "ReconnectFresh"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(backend_.reconnected, (std::vector<std::string>{"alice", "alice fresh"}));
}

TEST_F(BusTest, RecentMessagesOldestFirstWithoutBinaryEntries) {
  start();
  add("alice");
  auto binary = text_message(2, std::string("\x00\xff", 2));
  binary.binary = true;
  backend_.users.at("alice").history = {text_message(1, "one"), binary, text_message(3, "thrée")};
  service_->request_name();
  auto r = busctl({"call", kBusName, user_path("alice"), kUser, "RecentMessages", "t", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, R"j({"type":"a(tts)","data":[[[1,1000,"one"],[3,3000,"thrée"]]]})j" "\n");
  r = busctl({"call", kBusName, user_path("alice"), kUser, "RecentMessages", "t", "1"});
  EXPECT_EQ(r.out, R"j({"type":"a(tts)","data":[[[3,3000,"thrée"]]]})j" "\n");
  r = busctl({"call", kBusName, user_path("alice"), kUser, "RecentMessages", "t", "3"});
  EXPECT_EQ(r.out, R"j({"type":"a(tts)","data":[[]]})j" "\n");
}

TEST_F(BusTest, ReloadSuccessAndInvalidConfig) {
  start();
  service_->request_name();
  auto r = busctl({"call", kBusName, kManagerPath, kManager, "Reload"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(backend_.reload_calls, 1);

  backend_.reload_problems = {"/etc/wsheartd/config.toml:3:7: unknown key \"urll\"",
                              "/etc/wsheartd/config.toml:9:1: duplicate id \"alice\""};
  r = gdbus_call(kManagerPath, "org.wsheartd1.Manager.Reload");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("GDBus.Error:org.wsheartd1.Error.InvalidConfig: "
                       "/etc/wsheartd/config.toml:3:7: unknown key \"urll\"\n"
                       "/etc/wsheartd/config.toml:9:1: duplicate id \"alice\""),
            std::string::npos)
      << r.err;
  EXPECT_EQ(backend_.reload_calls, 2);
}

TEST_F(BusTest, SubscribeAndUnsubscribeAreIdempotent) {
  start();
  service_->request_name();
  SignalRecorder peer(address(), kSignalsFromService);
  for (const char* method : {"Subscribe", "Subscribe"}) {
    peer.call_async(kManagerPath, kManager, method);
    ASSERT_TRUE(pump_until([&] { return peer.call_done(); }));
    EXPECT_EQ(peer.call_error(), "");
  }
  EXPECT_EQ(service_->subscriber_count(), 1u);
  for (const char* method : {"Unsubscribe", "Unsubscribe"}) {
    peer.call_async(kManagerPath, kManager, method);
    ASSERT_TRUE(pump_until([&] { return peer.call_done(); }));
    EXPECT_EQ(peer.call_error(), "");
  }
  EXPECT_EQ(service_->subscriber_count(), 0u);
}

// ---- signals ---------------------------------------------------------------------

TEST_F(BusTest, MessageBinaryAndStateSignals) {
  start();
  add("alice");
  service_->request_name();
  SignalRecorder recorder(address(), kSignalsFromService + ",interface='org.wsheartd1.User'");
  Subprocess monitor({"dbus-monitor", "--address", address(), kSignalsFromService});
  ASSERT_TRUE(monitor.wait_for_line([](const std::string& l) { return l.find("NameLost") != std::string::npos; }));

  service_->emit_message(entry("alice"), text_message(1, "héllo"));
  auto binary = text_message(2, std::string("\x00\x01\xfe\xff", 4));
  binary.binary = true;
  service_->emit_message(entry("alice"), binary);
  service_->emit_state(entry("alice"), supervisor::State::Open, supervisor::State::Backoff, "heartbeat_timeout");
  ASSERT_TRUE(pump_until([&] { return recorder.count() == 3; }));
  auto seen = recorder.seen();
  EXPECT_EQ(seen[0].member, "MessageReceived");
  EXPECT_EQ(seen[0].path, user_path("alice"));
  EXPECT_EQ(seen[0].seq, 1u);
  EXPECT_EQ(seen[0].text, "héllo");
  EXPECT_EQ(seen[1].member, "BinaryMessageReceived");
  EXPECT_EQ(seen[1].seq, 2u);
  EXPECT_EQ(seen[1].bytes, (std::vector<std::uint8_t>{0x00, 0x01, 0xfe, 0xff}));
  EXPECT_EQ(seen[2].member, "StateChanged");
  EXPECT_EQ(seen[2].text, "open backoff heartbeat_timeout");
  EXPECT_TRUE(seen[0].destination.empty()) << "session bus: broadcast";

  ASSERT_TRUE(pump_until([&] { return monitor.out().find("member=StateChanged") != std::string::npos; }));
  const std::string& out = monitor.out();
  EXPECT_NE(out.find("interface=org.wsheartd1.User; member=MessageReceived"), std::string::npos) << out;
  EXPECT_NE(out.find("uint64 1\n   string \"héllo\""), std::string::npos) << out;
  EXPECT_NE(out.find("member=BinaryMessageReceived"), std::string::npos) << out;
  EXPECT_NE(out.find("string \"open\"\n   string \"backoff\"\n   string \"heartbeat_timeout\""), std::string::npos)
      << out;
  EXPECT_TRUE(backend_.dropped.empty());
}

TEST_F(BusTest, GdbusMonitorSeesMessagesAsDocumented) {
  start();
  add("alice");
  service_->request_name();
  Subprocess monitor({"gdbus", "monitor", "--address", address(), "--dest", kBusName});
  ASSERT_TRUE(monitor.wait_for_line([](const std::string& l) { return l.find("is owned by") != std::string::npos; }))
      << monitor.out() << monitor.err();
  // GLib 2.74 drops signals from a well-known sender until its own lookup of
  // the owner is done: warm up until one gets through.
  ASSERT_TRUE(pump_until([&] {
    service_->emit_state(entry("alice"), supervisor::State::Stopped, supervisor::State::Connecting, "started");
    pump_for(20ms);
    return monitor.out().find("'started'") != std::string::npos;
  })) << monitor.out();
  service_->emit_message(entry("alice"), text_message(17, "hello"));
  service_->emit_state(entry("alice"), supervisor::State::Open, supervisor::State::Backoff, "heartbeat_timeout");
  ASSERT_TRUE(pump_until([&] { return monitor.out().find("heartbeat_timeout") != std::string::npos; }))
      << monitor.out();
  const std::string& out = monitor.out();
  EXPECT_NE(out.find("/org/wsheartd1/user/alice: org.wsheartd1.User.MessageReceived (uint64 17, 'hello')\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("/org/wsheartd1/user/alice: org.wsheartd1.User.StateChanged ('open', 'backoff', "
                     "'heartbeat_timeout')\n"),
            std::string::npos)
      << out;
}

TEST_F(BusTest, MessageTheBusCannotTakeIsCountedAsDropped) {
  start();
  add("alice");
  service_->request_name();
  // Not valid UTF-8: sd-bus refuses to put it in a D-Bus string.
  service_->emit_message(entry("alice"), text_message(1, std::string("\xc3\x28", 2)));
  EXPECT_EQ(backend_.dropped["alice"], 1);
}

TEST_F(BusTest, BurstOfTenThousandArrivesCompleteInOrderWithOnePropertiesChanged) {
  start();
  add("alice");
  service_->request_name();
  const std::string path = user_path("alice");
  SignalRecorder recorder(address(), kSignalsFromService + ",path='" + path + "'");
  constexpr std::uint64_t kBurst = 10000;
  // One loop turn, as a busy WebSocket read would produce.
  asio::post(io_, [&] {
    for (std::uint64_t seq = 1; seq <= kBurst; ++seq) {
      backend_.users.at("alice").figures.received = seq;
      backend_.users.at("alice").figures.last_message_usec = 1000 * seq;
      service_->emit_message(entry("alice"), text_message(seq, "message " + std::to_string(seq)));
      service_->user_changed(entry("alice"));
    }
  });
  ASSERT_TRUE(pump_until([&] { return recorder.count("MessageReceived") == kBurst; }, 60s))
      << recorder.count("MessageReceived");
  ASSERT_TRUE(pump_until([&] { return recorder.count("PropertiesChanged") >= 1; }));
  pump_for(200ms);
  auto seen = recorder.seen();
  std::uint64_t expect = 1;
  std::size_t properties_changed = 0;
  for (const auto& s : seen) {
    if (s.member == "MessageReceived") {
      ASSERT_EQ(s.seq, expect);
      ASSERT_EQ(s.text, "message " + std::to_string(expect));
      ++expect;
    } else if (s.member == "PropertiesChanged") {
      ++properties_changed;
      EXPECT_EQ(expect, kBurst + 1) << "PropertiesChanged comes after the burst";
      EXPECT_EQ(s.text, "org.wsheartd1.User");
      EXPECT_EQ(s.changed, (std::vector<std::string>{"LastMessageAt", "MessagesReceived"}));
      EXPECT_EQ(s.values.at("MessagesReceived"), std::to_string(kBurst));
    }
  }
  EXPECT_EQ(properties_changed, 1u);
  EXPECT_TRUE(backend_.dropped.empty());
}

// The overload is forced, not raced: the bus daemon is stopped (SIGSTOP)
// before the flood, so it reads nothing. Our socket fills after a few hundred
// signals, the outbox takes its 65,536, and the rest must be dropped and
// counted while emitting goes on without waiting. (Without the stop, whether
// anything is dropped depends on who is faster: under ASan the emitter is slow
// enough for the bus daemon to keep up.) After SIGCONT every kept signal
// arrives, in order, and received + dropped = emitted.
TEST_F(BusTest, OverloadDropsAndCountsButNeverBlocksOrReorders) {
  start();
  add("alice");
  service_->request_name();
  // The match is in place when this returns (AddMatch is a synchronous call).
  SignalRecorder recorder(address(), kSignalsFromService + ",member='MessageReceived'");
  constexpr std::uint64_t kFlood = 100000;  // more than the outbox and the socket hold together
  const std::string text(200, 'x');

  wsheart::test::StoppedProcess stopped_bus(bus_.pid());  // whatever happens below, it runs again
  ASSERT_TRUE(stopped_bus.stopped());

  std::chrono::steady_clock::duration spent{};
  bool flooded = false;
  asio::post(io_, [&] {
    auto t0 = std::chrono::steady_clock::now();
    for (std::uint64_t seq = 1; seq <= kFlood; ++seq) service_->emit_message(entry("alice"), text_message(seq, text));
    spent = std::chrono::steady_clock::now() - t0;
    flooded = true;
  });
  ASSERT_TRUE(pump_until([&] { return flooded; }, 60s)) << "emitting blocked on a stopped bus";
  EXPECT_LT(std::chrono::duration_cast<std::chrono::seconds>(spent).count(), 20) << "emitting must not wait for the bus";
  const auto dropped_while_stopped = static_cast<std::uint64_t>(backend_.dropped["alice"]);
  EXPECT_GT(dropped_while_stopped, 0u) << "the outbox is bounded: a stopped bus must cost drops";
  EXPECT_GT(service_->queued_signals(), 0u) << "what fits is kept for later";
  EXPECT_EQ(recorder.count(), 0u) << "the bus daemon was stopped";

  stopped_bus.resume();
  ASSERT_TRUE(pump_until([&] { return service_->queued_signals() == 0; }, 60s)) << service_->queued_signals();
  const auto dropped = static_cast<std::uint64_t>(backend_.dropped["alice"]);
  EXPECT_GE(dropped, dropped_while_stopped);
  ASSERT_TRUE(pump_until([&] { return recorder.count() + dropped == kFlood; }, 60s))
      << recorder.count() << " + " << dropped;
  std::uint64_t last = 0;
  for (const auto& s : recorder.seen()) {
    ASSERT_GT(s.seq, last);
    last = s.seq;
  }
  EXPECT_EQ(recorder.seen().front().seq, 1u);
}

#if defined(__SANITIZE_ADDRESS__)
// Under ASan freed blocks sit in its quarantine (up to 256 MiB) and stay
// resident, so the resident set says nothing about what is held: ASan's own
// count of live allocated bytes does.
// (libasan exports it; g++ ships no header for it, clang's
// sanitizer/allocator_interface.h declares it so.)
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
std::size_t held_kib() { return __sanitizer_get_current_allocated_bytes() / 1024; }
#else
// What this process holds: its peak resident set (VmHWM) in KiB.
std::size_t held_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}
#endif

// Large messages on a stopped bus: the outbox is bounded in bytes, not only
// in count. 256 messages of 1 MiB (the default max_message_size) fit the
// count bound 65,536 times over; with a 16 MiB byte bound the process must
// not grow by what was emitted, the rest is dropped and counted, and what
// was kept arrives in order once the bus runs again.
TEST_F(BusTest, LargeMessagesOnAStoppedBusAreBoundedInBytes) {
  queue_max_bytes_ = std::size_t{16} << 20;
  start();
  add("alice");
  service_->request_name();
  SignalRecorder recorder(address(), kSignalsFromService + ",member='MessageReceived'");
  constexpr std::uint64_t kBurst = 256;
  const std::string text(std::size_t{1} << 20, 'x');

  wsheart::test::StoppedProcess stopped_bus(bus_.pid());  // whatever happens below, it runs again
  ASSERT_TRUE(stopped_bus.stopped());

  const std::size_t held_before = held_kib();
  bool flooded = false;
  asio::post(io_, [&] {
    for (std::uint64_t seq = 1; seq <= kBurst; ++seq) service_->emit_message(entry("alice"), text_message(seq, text));
    flooded = true;
  });
  ASSERT_TRUE(pump_until([&] { return flooded; }, 60s)) << "emitting blocked on a stopped bus";
  const std::size_t grown_kib = held_kib() - held_before;
  EXPECT_LE(service_->queued_bytes(), queue_max_bytes_);
  // 16 MiB queued, the message sd-bus is writing, the kernel's socket buffer
  // is not ours; 256 MiB were emitted.
  EXPECT_LT(grown_kib, 64u * 1024) << "the outbox must be bounded in bytes";
  const auto dropped_while_stopped = static_cast<std::uint64_t>(backend_.dropped["alice"]);
  EXPECT_GT(dropped_while_stopped, kBurst / 2) << "a stopped bus must cost drops";
  EXPECT_GT(service_->queued_signals(), 0u) << "what fits is kept for later";

  stopped_bus.resume();
  ASSERT_TRUE(pump_until([&] { return service_->queued_signals() == 0; }, 60s)) << service_->queued_signals();
  EXPECT_EQ(service_->queued_bytes(), 0u);
  const auto dropped = static_cast<std::uint64_t>(backend_.dropped["alice"]);
  ASSERT_TRUE(pump_until([&] { return recorder.count() + dropped == kBurst; }, 60s))
      << recorder.count() << " + " << dropped;
  std::uint64_t last = 0;
  for (const auto& s : recorder.seen()) {
    ASSERT_GT(s.seq, last);
    EXPECT_EQ(s.text.size(), text.size());
    last = s.seq;
  }
  EXPECT_EQ(recorder.seen().front().seq, 1u);
}

TEST_F(BusTest, PropertiesChangedCarriesOnlyWhatChanged) {
  start();
  auto& alice = add("alice");
  add("bob");
  backend_.open = 0;
  service_->request_name();
  SignalRecorder recorder(address(), kSignalsFromService + ",member='PropertiesChanged'");
  pump_for(20ms);  // flush the tree's own changes (UserCount) before we start counting
  const std::size_t before = recorder.count();

  // Marked dirty, nothing changed: nothing is emitted.
  service_->user_changed(entry("alice"));
  service_->user_changed(entry("bob"));
  service_->manager_changed();
  pump_for(50ms);
  EXPECT_EQ(recorder.count(), before);

  alice.figures.state = supervisor::State::Open;
  alice.figures.reason = "connected";
  backend_.open = 1;
  service_->user_changed(entry("alice"));
  service_->user_changed(entry("alice"));
  service_->manager_changed();
  ASSERT_TRUE(pump_until([&] { return recorder.count() == before + 2; }));
  pump_for(50ms);
  auto seen = recorder.seen();
  ASSERT_EQ(seen.size(), before + 2);
  for (std::size_t i = before; i < seen.size(); ++i) {
    const auto& s = seen[i];
    if (s.path == kManagerPath) {
      EXPECT_EQ(s.text, "org.wsheartd1.Manager");
      EXPECT_EQ(s.changed, std::vector<std::string>{"OpenCount"});
      EXPECT_EQ(s.values.at("OpenCount"), "1");
    } else {
      EXPECT_EQ(s.path, user_path("alice"));
      EXPECT_EQ(s.changed, (std::vector<std::string>{"State", "StateReason"}));
      EXPECT_EQ(s.values.at("State"), "open");
      EXPECT_EQ(s.values.at("StateReason"), "connected");
    }
  }

  // Adding a user announces the new UserCount.
  add("carol");
  ASSERT_TRUE(pump_until([&] { return recorder.count() == before + 3; }));
  auto last = recorder.seen().back();
  EXPECT_EQ(last.path, kManagerPath);
  EXPECT_EQ(last.changed, std::vector<std::string>{"UserCount"});
  EXPECT_EQ(last.values.at("UserCount"), "3");
}

TEST_F(BusTest, FlushSendsPendingPropertiesNow) {
  start();
  auto& alice = add("alice");
  service_->request_name();
  SignalRecorder recorder(address(), kSignalsFromService + ",member='PropertiesChanged',path='" +
                                         user_path("alice") + "'");
  alice.figures.sent = 9;
  service_->user_changed(entry("alice"));
  service_->flush();  // without running the loop
  ASSERT_TRUE(wsheart::test::eventually([&] { return recorder.count() == 1; }));
  pump_for(20ms);
  EXPECT_EQ(recorder.count(), 1u);
  EXPECT_EQ(recorder.seen()[0].changed, std::vector<std::string>{"MessagesSent"});
}

// Shutdown flushes before it releases the name. A subscriber that matches
// on the well-known name (sender='org.wsheartd1', as wsheartctl monitor
// does) stops matching once the name is gone, so anything still queued then
// would be lost to it. The burst goes out while the bus daemon is stopped, so
// most of it waits in the outbox when shutdown() is called.
TEST_F(BusTest, ShutdownDeliversEveryQueuedSignalBeforeReleasingTheName) {
  start();
  add("alice");
  service_->request_name();
  SignalRecorder recorder(address(), kSignalsFromService + ",member='MessageReceived'");
  constexpr std::uint64_t kBurst = 12000;  // 12 MB: more than sd-bus's 8 MiB socket buffer
  const std::string text(1000, 'x');
  std::size_t queued_at_shutdown = 0;
  bool done = false;
  wsheart::test::StoppedProcess stopped_bus(bus_.pid());
  ASSERT_TRUE(stopped_bus.stopped());
  asio::post(io_, [&] {
    for (std::uint64_t seq = 1; seq <= kBurst; ++seq) service_->emit_message(entry("alice"), text_message(seq, text));
    queued_at_shutdown = service_->queued_signals();
    stopped_bus.resume();
    service_->shutdown();
    done = true;
  });
  ASSERT_TRUE(pump_until([&] { return done; }));
  EXPECT_GT(queued_at_shutdown, 0u) << "the burst must still be queued when shutdown begins";
  EXPECT_FALSE(service_->owns_name());
  EXPECT_EQ(service_->queued_signals(), 0u);
  EXPECT_TRUE(backend_.dropped.empty());
  ASSERT_TRUE(pump_until([&] { return recorder.count() == kBurst; }, 20s))
      << recorder.count() << " of " << kBurst << " seen by a subscriber following the name";
  EXPECT_EQ(recorder.seen().back().seq, kBurst);
}

// A removed user's queued messages reach subscribers before its
// InterfacesRemoved, and a user added again is announced after that. The
// burst waits in the outbox (the bus daemon is stopped) while the user goes.
TEST_F(BusTest, ObjectManagerSignalsKeepTheirPlaceBehindQueuedMessages) {
  start();
  add("alice");
  service_->request_name();
  SignalRecorder recorder(address(), kSignalsFromService);
  constexpr std::uint64_t kBurst = 12000;  // 12 MB: more than sd-bus's socket buffer
  const std::string text(1000, 'x');
  std::size_t queued_at_removal = 0;
  bool done = false;
  wsheart::test::StoppedProcess stopped_bus(bus_.pid());
  ASSERT_TRUE(stopped_bus.stopped());
  asio::post(io_, [&] {
    for (std::uint64_t seq = 1; seq <= kBurst; ++seq) service_->emit_message(entry("alice"), text_message(seq, text));
    queued_at_removal = service_->queued_signals();
    remove("alice");
    add("alice");
    stopped_bus.resume();
    done = true;
  });
  ASSERT_TRUE(pump_until([&] { return done; }));
  EXPECT_GT(queued_at_removal, 0u) << "the burst must still be queued when the user is removed";
  ASSERT_TRUE(pump_until([&] { return recorder.count("InterfacesAdded") == 1; }, 30s));
  const auto seen = recorder.seen();
  std::vector<std::string> order;  // the object manager's signals
  std::uint64_t messages = 0;
  std::string first_late;           // the first message after one of them
  for (const auto& s : seen) {
    if (s.member == "MessageReceived") {
      ++messages;
      if (!order.empty() && first_late.empty()) first_late = std::to_string(s.seq) + " after " + order.back();
    } else if (s.member == "InterfacesRemoved" || s.member == "InterfacesAdded") {
      order.push_back(s.member);
    }
  }
  EXPECT_EQ(first_late, "") << "message " << first_late;
  EXPECT_EQ(messages + static_cast<std::uint64_t>(backend_.dropped["alice"]), kBurst);
  EXPECT_EQ(order, (std::vector<std::string>{"InterfacesRemoved", "InterfacesAdded"}));
}

// A method reply does not overtake the signals emitted before it: a caller
// that reads both on one connection sees every queued message first.
TEST_F(BusTest, ReplyComesAfterTheSignalsQueuedBeforeIt) {
  start();
  add("alice");
  service_->request_name();
  SignalRecorder recorder(address(), kSignalsFromService + ",member='MessageReceived'");
  constexpr std::uint64_t kBurst = 12000;
  const std::string text(1000, 'x');
  wsheart::test::StoppedProcess stopped_bus(bus_.pid());
  ASSERT_TRUE(stopped_bus.stopped());
  bool flooded = false;
  asio::post(io_, [&] {
    for (std::uint64_t seq = 1; seq <= kBurst; ++seq) service_->emit_message(entry("alice"), text_message(seq, text));
    flooded = true;
  });
  ASSERT_TRUE(pump_until([&] { return flooded; }));
  // The call waits in the stopped bus daemon; it is dispatched while most of
  // the burst is still in the outbox.
  recorder.call_async(user_path("alice"), kUser, "Reconnect");
  stopped_bus.resume();
  ASSERT_TRUE(pump_until([&] { return recorder.call_done(); }, 30s));
  EXPECT_EQ(recorder.call_error(), "");
  EXPECT_EQ(backend_.reconnected, std::vector<std::string>{"alice"});
  const auto dropped = static_cast<std::uint64_t>(backend_.dropped["alice"]);
  EXPECT_EQ(recorder.signals_before_reply() + dropped, kBurst)
      << "the reply came after " << recorder.signals_before_reply() << " of " << kBurst - dropped << " messages";
}

TEST_F(BusTest, DocumentedPythonSubscriberWorks) {
  // docs/dbus-api.md shows this very script.
  const std::string doc = read_file(std::string(WSHEART_SOURCE_DIR) + "/docs/dbus-api.md");
  const std::string script = read_file(script_path());
  ASSERT_FALSE(script.empty());
  EXPECT_NE(doc.find(script), std::string::npos) << "docs/dbus-api.md and subscriber.py differ";

  start();
  add("alice");
  add("a-b.c");
  service_->request_name();
  Subprocess py({kSystemPython, script_path(), address()});
  ASSERT_TRUE(pump_until([&] { return service_->subscriber_count() == 1; })) << py.err();
  service_->emit_message(entry("alice"), text_message(1, "hello from alice"));
  service_->emit_message(entry("a-b.c"), text_message(7, "and from a-b.c"));
  ASSERT_TRUE(pump_until([&] { return py.out().find("and from") != std::string::npos; })) << py.err();
  EXPECT_EQ(py.out(), "/org/wsheartd1/user/alice 1 hello from alice\n"
                      "/org/wsheartd1/user/a_2db_2ec 7 and from a-b.c\n");
  py.stop();
  ASSERT_TRUE(pump_until([&] { return service_->subscriber_count() == 0; })) << "a subscriber that left is forgotten";
}

// ---- system bus: unicast and access checks ------------------------------------------

// A private bus that other Unix users may connect to as well.
class OpenBus {
 public:
  OpenBus() {
    ::chmod(dir_.path().c_str(), 0755);
    const std::string conf = dir_.write(
        "bus.conf",
        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
        " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
        "<busconfig><type>system</type><listen>unix:path=" +
            dir_.path() +
            "/bus</listen><auth>EXTERNAL</auth>"
            "<policy context=\"default\"><allow user=\"*\"/><allow send_destination=\"*\" eavesdrop=\"true\"/>"
            "<allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>\n");
    daemon_.emplace(std::vector<std::string>{"dbus-daemon", "--config-file=" + conf, "--nofork", "--print-address=1"});
    auto line = daemon_->wait_for_line([](const std::string& l) { return l.rfind("unix:", 0) == 0; });
    if (!line) throw std::runtime_error("dbus-daemon did not start: " + daemon_->err());
    address_ = *line;
    script_ = dir_.write("subscriber.py", read_file(script_path()));
    ::chmod(script_.c_str(), 0644);
  }
  const std::string& address() const { return address_; }
  const std::string& script() const { return script_; }

 private:
  TempDir dir_;
  std::optional<Subprocess> daemon_;
  std::string address_;
  std::string script_;
};

constexpr std::uint32_t kNobody = 65534;

std::vector<std::string> as_nobody(std::vector<std::string> argv) {
  std::vector<std::string> out{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

class SystemBusTest : public BusTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run clients as another user";
    start(BusKind::System, open_.address());
    add("mine", UserProfile{"", "", kNobody});   // nobody's user
    add("theirs", UserProfile{"", "", 4242});    // someone else's
    add("public");                    // no restriction
    service_->request_name();
  }
  void TearDown() override { service_.reset(); }  // before open_'s dbus-daemon goes
  OpenBus open_;
};

TEST_F(SystemBusTest, RestrictedMessagesGoOnlyToSubscribersWithTheRightUid) {
  SignalRecorder bystander(address(), kSignalsFromService + ",member='MessageReceived'");  // root, not subscribed
  Subprocess root_sub({kSystemPython, open_.script(), address()});
  Subprocess nobody_sub(as_nobody({kSystemPython, open_.script(), address()}));
  ASSERT_TRUE(pump_until([&] { return service_->subscriber_count() == 2; }))
      << root_sub.err() << nobody_sub.err();

  service_->emit_message(entry("mine"), text_message(1, "for nobody"));
  service_->emit_message(entry("theirs"), text_message(1, "for 4242"));
  service_->emit_message(entry("public"), text_message(1, "for all"));
  service_->emit_message(entry("public"), text_message(2, "end"));
  ASSERT_TRUE(pump_until([&] {
    return root_sub.out().find(" 2 end") != std::string::npos && nobody_sub.out().find(" 2 end") != std::string::npos &&
           bystander.count() == 2;
  })) << root_sub.out() << "\n--\n" << nobody_sub.out() << nobody_sub.err();
  pump_for(50ms);
  EXPECT_EQ(root_sub.out(), "/org/wsheartd1/user/mine 1 for nobody\n"
                            "/org/wsheartd1/user/theirs 1 for 4242\n"
                            "/org/wsheartd1/user/public 1 for all\n"
                            "/org/wsheartd1/user/public 2 end\n");
  EXPECT_EQ(nobody_sub.out(), "/org/wsheartd1/user/mine 1 for nobody\n"
                              "/org/wsheartd1/user/public 1 for all\n"
                              "/org/wsheartd1/user/public 2 end\n");
  auto seen = bystander.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].text, "for all");
  EXPECT_TRUE(seen[0].destination.empty());

  nobody_sub.stop();
  ASSERT_TRUE(pump_until([&] { return service_->subscriber_count() == 1; }));
}

// A reload that gives a user another unix_user moves its messages and its
// methods to the new owner at once: the bus keeps the owner, pushed to it.
TEST_F(SystemBusTest, SetProfileMovesTheRestrictionToTheNewOwner) {
  Subprocess nobody_sub(as_nobody({kSystemPython, open_.script(), address()}));
  ASSERT_TRUE(pump_until([&] { return service_->subscriber_count() == 1; })) << nobody_sub.err();
  service_->emit_message(entry("theirs"), text_message(1, "not for nobody"));
  service_->set_profile(entry("theirs"), UserProfile{"", "", kNobody});
  service_->emit_message(entry("theirs"), text_message(2, "now for nobody"));
  ASSERT_TRUE(pump_until([&] { return nobody_sub.out().find(" 2 now") != std::string::npos; }))
      << nobody_sub.out() << nobody_sub.err();
  EXPECT_EQ(nobody_sub.out(), "/org/wsheartd1/user/theirs 2 now for nobody\n");
  auto r = client(as_nobody({"gdbus", "call", "--address", address(), "--dest", kBusName, "--object-path",
                             user_path("theirs"), "--method", "org.wsheartd1.User.Reconnect"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;

  service_->set_profile(entry("theirs"), UserProfile{"", "", 4242});
  r = client(as_nobody({"gdbus", "call", "--address", address(), "--dest", kBusName, "--object-path",
                        user_path("theirs"), "--method", "org.wsheartd1.User.Reconnect"}));
  EXPECT_NE(r.err.find("GDBus.Error:org.wsheartd1.Error.AccessDenied"), std::string::npos) << r.err;
  EXPECT_EQ(backend_.reconnected, std::vector<std::string>{"theirs"});
}

TEST_F(SystemBusTest, MethodsOnARestrictedUserNeedTheOwnerOrRoot) {
  auto nobody_call = [&](const std::string& path, const std::string& method, std::vector<std::string> args) {
    std::vector<std::string> argv{"gdbus", "call", "--address", address(), "--dest", kBusName,
                                  "--object-path", path, "--method", method};
    argv.insert(argv.end(), args.begin(), args.end());
    return client(as_nobody(argv));
  };
  const std::string denied = "GDBus.Error:org.wsheartd1.Error.AccessDenied";
  for (const auto& [method, args] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"org.wsheartd1.User.Send", {"hi"}},
           {"org.wsheartd1.User.Reconnect", {}},
           {"org.wsheartd1.User.ReconnectFresh", {}},
           {"org.wsheartd1.User.RecentMessages", {"0"}}}) {
    auto r = nobody_call(user_path("theirs"), method, args);
    EXPECT_NE(r.exit_code, 0) << method;
    EXPECT_NE(r.err.find(denied), std::string::npos) << method << ": " << r.err;
    r = nobody_call(user_path("mine"), method, args);
    EXPECT_EQ(r.exit_code, 0) << method << ": " << r.err;
    r = nobody_call(user_path("public"), method, args);
    EXPECT_EQ(r.exit_code, 0) << method << ": " << r.err;
    r = gdbus_call(user_path("theirs"), method, args);  // root
    EXPECT_EQ(r.exit_code, 0) << method << ": " << r.err;
  }
  EXPECT_EQ(backend_.sent.size(), 3u);

  // Properties stay readable (GetManagedObjects must not fail for anyone).
  auto r = client(as_nobody({"busctl", "--address=" + address(), "get-property", kBusName, user_path("theirs"), kUser,
                             "State"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;

  // Reload: root only.
  r = nobody_call(kManagerPath, "org.wsheartd1.Manager.Reload", {});
  EXPECT_NE(r.err.find(denied + ": only root may reload the configuration"), std::string::npos) << r.err;
  EXPECT_EQ(backend_.reload_calls, 0);
  r = gdbus_call(kManagerPath, "org.wsheartd1.Manager.Reload");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(backend_.reload_calls, 1);
}

}  // namespace
}  // namespace wsheart::bus::test
