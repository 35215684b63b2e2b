// Resume end to end: wsheartd against a server that replays like ntfy
// (ntfy_like_server.py), a private dbus-daemon, gdbus as the subscriber that
// checks what reached the bus, seq by seq.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <csignal>
#include <deque>
#include <fstream>
#include <regex>
#include <sstream>

#include "harness.hpp"

namespace wsheart::test {
namespace {

class NtfyLikeServer {
 public:
  NtfyLikeServer(const std::string& store, const std::string& mode, bool inclusive = false, std::uint16_t port = 0) {
    std::vector<std::string> argv{kSystemPython, WSHEART_RESUME_SERVER, "--store", store, "--mode", mode,
                                  "--port", std::to_string(port)};
    if (inclusive) argv.push_back("--inclusive");
    proc_.emplace(argv);
    const auto line = proc_->wait_for_line([](const std::string& l) { return l.rfind("PORT ", 0) == 0; });
    if (!line) throw std::runtime_error("ntfy_like_server did not start: " + proc_->err());
    port_ = static_cast<std::uint16_t>(std::stoul(line->substr(5)));
  }
  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path_and_query) const {
    return "ws://127.0.0.1:" + std::to_string(port_) + path_and_query;
  }
  // The CONNECT/FIRST lines that the last command's wait read past are kept
  // for next(): a reconnect can announce itself before the OK of a command
  // sent right after a drop. Older ones are forgotten.
  bool command(const std::string& cmd) {
    passed_.clear();
    proc_->write_stdin(cmd + "\n");
    return proc_
        ->wait_for_line([&](const std::string& l) {
          if (l.rfind("CONNECT ", 0) == 0 || l.rfind("FIRST ", 0) == 0) passed_.push_back(l);
          return l == "OK " + cmd;
        })
        .has_value();
  }
  // The next "CONNECT"/"FIRST" line: one the last command read past, else
  // the next one the server prints.
  std::optional<std::string> next(const std::string& prefix) {
    for (auto it = passed_.begin(); it != passed_.end(); ++it) {
      if (it->rfind(prefix, 0) == 0) {
        std::string line = *it;
        passed_.erase(passed_.begin(), std::next(it));
        return line;
      }
    }
    passed_.clear();
    return proc_->wait_for_line([&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
  }
  void stop() { proc_.reset(); }

 private:
  std::optional<Subprocess> proc_;
  std::uint16_t port_ = 0;
  std::deque<std::string> passed_;
};


const std::string kFast =
    "[defaults]\n"
    "heartbeat = \"ping\"\n"
    "heartbeat_interval = \"200ms\"\n"
    "heartbeat_timeout = \"500ms\"\n"
    "connect_timeout = \"2s\"\n"
    "reconnect_initial = \"20ms\"\n"
    "reconnect_max = \"100ms\"\n"
    "cursor = { id = \"json:/id\" }\n"
    "cursor_if = \"json:/event=message\"\n";

// One republished message as the subscriber saw it.
struct Seen {
  std::uint64_t seq;
  std::string text;
};

std::vector<Seen> messages(SignalMonitor& monitor, const std::string& id) {
  std::vector<Seen> out;
  std::istringstream in(monitor.process().out());
  const std::string prefix = "/org/wsheartd1/user/" + id + ": org.wsheartd1.User.MessageReceived (uint64 ";
  for (std::string l; std::getline(in, l);) {
    if (l.rfind(prefix, 0) != 0) continue;
    const std::size_t comma = l.find(", ", prefix.size());
    out.push_back({std::stoull(l.substr(prefix.size())), l.substr(comma + 2)});
  }
  return out;
}

// The ids of the stored messages ("m0001" ...) in the order they reached the bus.
std::vector<std::string> message_ids(const std::vector<Seen>& seen) {
  std::vector<std::string> ids;
  const std::regex id_re(R"re("id": "(m\d{4})")re");
  for (const auto& s : seen) {
    std::smatch m;
    if (std::regex_search(s.text, m, id_re)) ids.push_back(m[1]);
  }
  return ids;
}

std::vector<std::string> expected_ids(int n) {
  std::vector<std::string> ids;
  char buffer[16];  // "m" and any int: -O1 (TSan build) checks the bound for every int
  for (int i = 1; i <= n; ++i) {
    std::snprintf(buffer, sizeof buffer, "m%04d", i);
    ids.emplace_back(buffer);
  }
  return ids;
}

// Every seq exactly once, consecutive from the first.
void expect_consecutive(const std::vector<Seen>& seen) {
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_EQ(seen[i].seq, seen[i - 1].seq + 1) << "at " << i;
}

bool wait_ids(SignalMonitor& monitor, const std::string& user, int n) {
  return eventually([&] { return message_ids(messages(monitor, user)).size() >= static_cast<std::size_t>(n); });
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

class Resume : public ::testing::Test {
 protected:
  std::string state_home() const { return h.dir().path() + "/state-home"; }
  std::string state_file() const { return state_home() + "/wsheartd/state.json"; }
  std::string store() const { return h.dir().path() + "/store.jsonl"; }
  bool start(const EnvOverrides& extra = {}) {
    EnvOverrides env{{"XDG_STATE_HOME", state_home()}};
    for (const auto& [k, v] : extra) env[k] = v;
    return h.start({}, env);
  }
  DaemonHarness h;
};

TEST_F(Resume, ServerRestartLosesAndRepeatsNothing) {
  std::optional<NtfyLikeServer> server(std::in_place, store(), "url");
  const std::uint16_t port = server->port();
  h.write_config(kFast + "[[user]]\nid = \"alice\"\nurl = \"" + server->url("/t/ws?since={cursor.id}&poll=0") +
                 "\"\n");
  ASSERT_TRUE(start()) << h.daemon().err();
  SignalMonitor monitor(h.bus());  // once the name is owned
  const auto first = server->next("CONNECT ");
  ASSERT_TRUE(first);
  EXPECT_NE(first->find(R"("path": "/t/ws?poll=0")"), std::string::npos) << *first;  // no since= yet
  ASSERT_TRUE(h.wait_state("alice", "open"));
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(server->command("publish a" + std::to_string(i)));
  ASSERT_TRUE(wait_ids(monitor, "alice", 3));
  EXPECT_EQ(h.user_property("alice", "Cursor"), "1 \"id\" \"m0003\"");

  // The server goes away; two messages are stored while nobody is connected.
  server.reset();
  {
    std::ofstream out(store(), std::ios::app);
    out << R"({"id": "m0004", "event": "message", "message": "while down 1"})" << "\n"
        << R"({"id": "m0005", "event": "message", "message": "while down 2"})" << "\n";
  }
  server.emplace(store(), "url", false, port);
  const auto again = server->next("CONNECT ");
  ASSERT_TRUE(again);
  EXPECT_NE(again->find(R"("path": "/t/ws?since=m0003&poll=0")"), std::string::npos) << *again;
  ASSERT_TRUE(server->command("publish a6"));
  ASSERT_TRUE(wait_ids(monitor, "alice", 6));
  const auto seen = messages(monitor, "alice");
  EXPECT_EQ(message_ids(seen), expected_ids(6));
  expect_consecutive(seen);
  EXPECT_EQ(h.user_property("alice", "MessagesDuplicate"), "0");
}

TEST_F(Resume, ReplayOverlapIsDroppedAndCounted) {
  NtfyLikeServer server(store(), "url", /*inclusive=*/true);
  h.write_config(kFast + "[[user]]\nid = \"alice\"\nurl = \"" + server.url("/t/ws?since={cursor.id}") + "\"\n");
  ASSERT_TRUE(start()) << h.daemon().err();
  SignalMonitor monitor(h.bus());  // once the name is owned
  ASSERT_TRUE(h.wait_state("alice", "open"));
  for (int i = 1; i <= 2; ++i) ASSERT_TRUE(server.command("publish a" + std::to_string(i)));
  ASSERT_TRUE(wait_ids(monitor, "alice", 2));
  // The first CONNECT line went by while waiting for the publish replies.
  ASSERT_TRUE(server.command("drop"));  // reconnect: the server replays m0002 again
  const auto resumed = server.next("CONNECT ");
  ASSERT_TRUE(resumed);
  EXPECT_NE(resumed->find("since=m0002"), std::string::npos) << *resumed;
  ASSERT_TRUE(eventually([&] { return h.user_property("alice", "MessagesDuplicate") == "1"; }));
  ASSERT_TRUE(server.command("publish a3"));
  ASSERT_TRUE(wait_ids(monitor, "alice", 3));
  const auto seen = messages(monitor, "alice");
  EXPECT_EQ(message_ids(seen), expected_ids(3));
  expect_consecutive(seen);
}

TEST_F(Resume, SigkillRestartResumesWithSavedCursorAndSeq) {
  NtfyLikeServer server(store(), "url", /*inclusive=*/true);
  h.write_config(kFast + "state_flush = \"50ms\"\n[[user]]\nid = \"alice\"\nurl = \"" +
                 server.url("/t/ws?since={cursor.id}") + "\"\n");
  ASSERT_TRUE(start()) << h.daemon().err();
  SignalMonitor monitor(h.bus());  // once the name is owned
  ASSERT_TRUE(server.next("CONNECT "));
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(server.command("publish a" + std::to_string(i)));
  ASSERT_TRUE(wait_ids(monitor, "alice", 3));
  const auto before = messages(monitor, "alice");
  // Observable: the flush wrote the last cursor and seq.
  ASSERT_TRUE(eventually([&] {
    const std::string text = slurp(state_file());
    return text.find("\"m0003\"") != std::string::npos &&
           text.find("\"seq\": " + std::to_string(before.back().seq)) != std::string::npos;
  })) << slurp(state_file());
  struct stat st {};
  ASSERT_EQ(::stat(state_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  h.daemon().signal(SIGKILL);
  ASSERT_TRUE(h.daemon().wait());
  for (int i = 4; i <= 5; ++i) ASSERT_TRUE(server.command("publish a" + std::to_string(i)));  // missed
  ASSERT_TRUE(start()) << h.daemon().err();
  const auto resumed = server.next("CONNECT ");
  ASSERT_TRUE(resumed);
  EXPECT_NE(resumed->find("since=m0003"), std::string::npos) << *resumed;
  ASSERT_TRUE(wait_ids(monitor, "alice", 5));
  // The replayed m0003 (the overlap the inclusive server sends) is dropped.
  ASSERT_TRUE(eventually([&] { return h.user_property("alice", "MessagesDuplicate") == "1"; }));
  const auto seen = messages(monitor, "alice");
  EXPECT_EQ(message_ids(seen), expected_ids(5));
  expect_consecutive(seen);  // seq continued across the restart
  EXPECT_GT(seen.back().seq, before.back().seq);
}

// `wsheartctl reconnect --fresh` (ReconnectFresh): the next handshake carries
// no cursor, the saved state forgets it too, and seq goes on.
TEST_F(Resume, ReconnectFreshForgetsTheCursor) {
  NtfyLikeServer server(store(), "url");
  h.write_config(kFast + "state_flush = \"50ms\"\n[[user]]\nid = \"alice\"\nurl = \"" +
                 server.url("/t/ws?since={cursor.id}") + "\"\n");
  ASSERT_TRUE(start()) << h.daemon().err();
  SignalMonitor monitor(h.bus());
  ASSERT_TRUE(server.next("CONNECT "));
  for (int i = 1; i <= 2; ++i) ASSERT_TRUE(server.command("publish a" + std::to_string(i)));
  ASSERT_TRUE(wait_ids(monitor, "alice", 2));
  ASSERT_TRUE(eventually([&] { return slurp(state_file()).find("\"m0002\"") != std::string::npos; }));
  h.user_property("alice", "State");  // the user object answers
  const auto r = h.busctl({"call", "org.wsheartd1", "/org/wsheartd1/user/alice", "org.wsheartd1.User",
                           "ReconnectFresh"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto fresh = server.next("CONNECT ");
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->find("since="), std::string::npos) << *fresh;
  EXPECT_EQ(h.user_property("alice", "Cursor").find("m0002"), std::string::npos) << h.user_property("alice", "Cursor");
  ASSERT_TRUE(eventually([&] { return slurp(state_file()).find("\"m0002\"") == std::string::npos; }))
      << slurp(state_file());
}

TEST_F(Resume, CorruptStateFileIsMovedAsideOnce) {
  NtfyLikeServer server(store(), "url");
  ::mkdir(state_home().c_str(), 0700);
  ::mkdir((state_home() + "/wsheartd").c_str(), 0700);
  std::ofstream(state_file()) << "{\"format\": \"wsheartd-state\", \"version\": 1, \"users\": {\"alice\": ";
  h.write_config(kFast + "state_flush = \"50ms\"\n[[user]]\nid = \"alice\"\nurl = \"" +
                 server.url("/t/ws?since={cursor.id}") + "\"\n");
  ASSERT_TRUE(start()) << h.daemon().err();
  SignalMonitor monitor(h.bus());  // once the name is owned
  const auto first = server.next("CONNECT ");
  ASSERT_TRUE(first);
  EXPECT_NE(first->find(R"("path": "/t/ws")"), std::string::npos) << *first;
  const auto warning = h.daemon().wait_for_err_line(
      [](const std::string& l) { return l.find("ignored (not JSON)") != std::string::npos; });
  ASSERT_TRUE(warning);
  EXPECT_EQ(warning->rfind("<4>", 0), 0u) << *warning;  // a warning
  ASSERT_TRUE(server.command("publish a1"));
  ASSERT_TRUE(wait_ids(monitor, "alice", 1));
  ASSERT_TRUE(eventually([&] { return slurp(state_file()).find("\"m0001\"") != std::string::npos; }));
  EXPECT_EQ(run_command({"sh", "-c", "ls '" + state_home() + "/wsheartd' | grep -c '^state.json.bad-'"}).out, "1\n");
}

TEST_F(Resume, UnwritableStateDirectoryWarnsOnceAndKeepsWorking) {
  NtfyLikeServer server(store(), "url");
  h.write_config(kFast + "state_flush = \"20ms\"\n[[user]]\nid = \"alice\"\nurl = \"" +
                 server.url("/t/ws?since={cursor.id}") + "\"\n");
  const std::string blocker = h.dir().write("not-a-dir", "x");  // root may write anywhere, but not below a file
  ASSERT_TRUE(h.start({}, {{"XDG_STATE_HOME", blocker}})) << h.daemon().err();
  SignalMonitor monitor(h.bus());  // once the name is owned
  ASSERT_TRUE(h.wait_state("alice", "open"));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(server.command("publish a" + std::to_string(i)));
    ASSERT_TRUE(wait_ids(monitor, "alice", i));  // one flush per message
  }
  ASSERT_TRUE(h.daemon().wait_for_err_line(
      [](const std::string& l) { return l.find("cannot write the state file") != std::string::npos; }));
  ASSERT_TRUE(server.command("drop"));
  const auto resumed = server.next("CONNECT ");
  ASSERT_TRUE(resumed);
  EXPECT_NE(resumed->find("since=m0003"), std::string::npos) << *resumed;  // cursors kept in memory
  const std::string err = h.daemon().err();
  std::size_t count = 0;
  for (std::size_t at = 0; (at = err.find("cannot write the state file", at)) != std::string::npos; ++at) ++count;
  EXPECT_EQ(count, 1u) << err;
  EXPECT_TRUE(h.daemon().running());
}

TEST_F(Resume, CursorFromAnotherOriginIsDropped) {
  NtfyLikeServer server(store(), "url");
  const std::string user = "[[user]]\nid = \"alice\"\nurl = \"";
  h.write_config(kFast + "state_flush = \"20ms\"\n" + user + server.url("/t/ws?since={cursor.id}") + "\"\n");
  ASSERT_TRUE(start()) << h.daemon().err();
  SignalMonitor monitor(h.bus());  // once the name is owned
  ASSERT_TRUE(server.next("CONNECT "));
  ASSERT_TRUE(server.command("publish a1"));
  ASSERT_TRUE(wait_ids(monitor, "alice", 1));
  ASSERT_TRUE(eventually([&] { return slurp(state_file()).find("\"m0001\"") != std::string::npos; }));
  h.daemon().stop();
  ASSERT_TRUE(h.daemon().wait());
  h.write_config(kFast + user + server.url("/other/ws?since={cursor.id}") + "\"\n");
  ASSERT_TRUE(start()) << h.daemon().err();
  const auto connect = server.next("CONNECT ");
  ASSERT_TRUE(connect);
  EXPECT_NE(connect->find(R"("path": "/other/ws")"), std::string::npos) << *connect;
  EXPECT_TRUE(h.daemon().wait_for_err_line(
      [](const std::string& l) { return l.find("saved cursors came from ws://127.0.0.1:") != std::string::npos; }));
}

TEST_F(Resume, LastEventIdHeader) {
  NtfyLikeServer server(store(), "header");
  h.write_config(kFast + "[[user]]\nid = \"alice\"\nurl = \"" + server.url("/events") +
                 "\"\nheaders = { Last-Event-ID = \"{cursor.id}\", X-Client = \"wsheartd\" }\n");
  ASSERT_TRUE(start()) << h.daemon().err();
  SignalMonitor monitor(h.bus());  // once the name is owned
  const auto first = server.next("CONNECT ");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->find("Last-Event-ID"), std::string::npos) << *first;  // empty: not sent
  EXPECT_NE(first->find(R"("X-Client": "wsheartd")"), std::string::npos) << *first;
  ASSERT_TRUE(h.wait_state("alice", "open"));
  ASSERT_TRUE(server.command("publish a1"));
  ASSERT_TRUE(server.command("publish a2"));
  ASSERT_TRUE(wait_ids(monitor, "alice", 2));
  ASSERT_TRUE(server.command("drop"));
  ASSERT_TRUE(server.command("publish a3"));
  const auto resumed = server.next("CONNECT ");
  ASSERT_TRUE(resumed);
  EXPECT_NE(resumed->find(R"("Last-Event-ID": "m0002")"), std::string::npos) << *resumed;
  ASSERT_TRUE(wait_ids(monitor, "alice", 3));
  EXPECT_EQ(message_ids(messages(monitor, "alice")), expected_ids(3));
}

TEST_F(Resume, PhoenixStyleJoinFrame) {
  NtfyLikeServer server(store(), "join");
  h.write_config(kFast + "[[user]]\nid = \"alice\"\nurl = \"" + server.url("/socket") +
                 "\"\non_open = ['{\"topic\":\"room:1\",\"last_seen_id\":{cursor.id|json}}']\n");
  ASSERT_TRUE(start()) << h.daemon().err();
  SignalMonitor monitor(h.bus());  // once the name is owned
  const auto first = server.next("FIRST ");
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, R"(FIRST "{\"topic\":\"room:1\",\"last_seen_id\":null}")");
  ASSERT_TRUE(server.command("publish a1"));
  ASSERT_TRUE(wait_ids(monitor, "alice", 1));
  ASSERT_TRUE(server.command("drop"));
  ASSERT_TRUE(server.command("publish a2"));
  const auto again = server.next("FIRST ");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, R"(FIRST "{\"topic\":\"room:1\",\"last_seen_id\":\"m0001\"}")");
  ASSERT_TRUE(wait_ids(monitor, "alice", 2));
  EXPECT_EQ(message_ids(messages(monitor, "alice")), expected_ids(2));
}

// The writer thread, not the loop, waits for a slow disk: the watchdog keeps
// pinging and messages keep flowing while a write hangs.
TEST_F(Resume, SlowDiskStallsNeitherWatchdogNorMessages) {
  NtfyLikeServer server(store(), "url");
  h.write_config(kFast + "state_flush = \"20ms\"\n[[user]]\nid = \"alice\"\nurl = \"" +
                 server.url("/t/ws?since={cursor.id}") + "\"\n");
  ASSERT_TRUE(start({{"WSHEARTD_TEST_STATE_WRITE_DELAY_MS", "3000"}, {"WATCHDOG_USEC", "200000"}}))
      << h.daemon().err();
  SignalMonitor monitor(h.bus());  // once the name is owned
  ASSERT_TRUE(h.wait_state("alice", "open"));
  ASSERT_TRUE(server.command("publish a1"));
  ASSERT_TRUE(wait_ids(monitor, "alice", 1));
  // The flush handed the record over; the write now sleeps for 3 s.
  ASSERT_TRUE(h.daemon().wait_for_err_line(
      [](const std::string& l) { return l.find("handed to the writer") != std::string::npos; }));
  const auto began = std::chrono::steady_clock::now();
  auto pings = [&] {
    std::size_t n = 0;
    for (const auto& l : h.notify().received()) if (l == "WATCHDOG=1") ++n;
    return n;
  };
  const std::size_t pings_before = pings();
  for (int i = 2; i <= 4; ++i) ASSERT_TRUE(server.command("publish a" + std::to_string(i)));
  ASSERT_TRUE(wait_ids(monitor, "alice", 4));
  // 1 s of a 200 ms watchdog: at least 5 pings while the write still hangs.
  ASSERT_TRUE(eventually([&] { return pings() >= pings_before + 5; }, 2s));
  EXPECT_LT(std::chrono::steady_clock::now() - began, 2500ms);
  EXPECT_EQ(h.daemon().err().find("state file written"), std::string::npos);  // still writing
}

}  // namespace
}  // namespace wsheart::test
