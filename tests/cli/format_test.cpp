// Unit tests of wsheartctl's pure formatting: ages, RTTs, times, summaries,
// status/list/recent/monitor rendering.
#include <gtest/gtest.h>

#include <cstdlib>

#include "format.hpp"
#include "text.hpp"

namespace wsheart::cli {
namespace {

constexpr std::int64_t kSec = 1000000;

TEST(FormatAge, Seconds) {
  EXPECT_EQ(format_age(0), "0s");
  EXPECT_EQ(format_age(999999), "0s");
  EXPECT_EQ(format_age(3 * kSec), "3s");
  EXPECT_EQ(format_age(59 * kSec + 999999), "59s");
}

TEST(FormatAge, MinutesHoursDays) {
  EXPECT_EQ(format_age(60 * kSec), "1m");
  EXPECT_EQ(format_age(302 * kSec), "5m 2s");
  EXPECT_EQ(format_age(3599 * kSec), "59m 59s");
  EXPECT_EQ(format_age(3600 * kSec), "1h");
  EXPECT_EQ(format_age((2 * 3600 + 10 * 60 + 59) * kSec), "2h 10m");
  EXPECT_EQ(format_age(86399 * kSec), "23h 59m");
  EXPECT_EQ(format_age(3 * 86400 * kSec), "3d");
  EXPECT_EQ(format_age((3 * 86400 + 4 * 3600 + 5) * kSec), "3d 4h");
  EXPECT_EQ(format_age(400LL * 86400 * kSec), "400d");
}

TEST(FormatAge, NegativeIsZero) { EXPECT_EQ(format_age(-5 * kSec), "0s"); }

TEST(FormatRtt, Units) {
  EXPECT_EQ(format_rtt(0), "-");
  EXPECT_EQ(format_rtt(1), "1us");
  EXPECT_EQ(format_rtt(850), "850us");
  EXPECT_EQ(format_rtt(999), "999us");
  EXPECT_EQ(format_rtt(1000), "1.0ms");
  EXPECT_EQ(format_rtt(1234), "1.2ms");
  EXPECT_EQ(format_rtt(1250), "1.3ms");
  EXPECT_EQ(format_rtt(9949), "9.9ms");
  EXPECT_EQ(format_rtt(12345), "12ms");
  EXPECT_EQ(format_rtt(999499), "999ms");
  EXPECT_EQ(format_rtt(1500000), "1.5s");
  EXPECT_EQ(format_rtt(12000000), "12s");
}

class LocalTimeUtc : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    if (tz != nullptr) saved_ = tz;
    had_ = tz != nullptr;
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  void TearDown() override {
    if (had_) {
      ::setenv("TZ", saved_.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::string saved_;
  bool had_ = false;
};

TEST_F(LocalTimeUtc, Clock) {
  // 2024-05-01 12:03:04.123456 UTC
  const std::uint64_t t = 1714564984123456ULL;
  EXPECT_EQ(format_clock(t, false), "12:03:04.123");
  EXPECT_EQ(format_clock(t, true), "2024-05-01 12:03:04.123");
  EXPECT_EQ(format_clock(0, true), "-");
}

TEST(Text, EscapeForTerminal) {
  EXPECT_EQ(escape_for_terminal("plain text"), "plain text");
  EXPECT_EQ(escape_for_terminal("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  EXPECT_EQ(escape_for_terminal("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(escape_for_terminal(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(escape_for_terminal("\x7f"), "\\x7f");
  EXPECT_EQ(escape_for_terminal("\xc2\x9b" "2J"), "\\u009b2J");  // C1 CSI
  EXPECT_EQ(escape_for_terminal("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(escape_for_terminal("bad\xff"), "bad\\xff");
  EXPECT_EQ(escape_for_terminal("back\\slash"), "back\\slash");
}

TEST(Text, DisplayWidth) {
  EXPECT_EQ(display_width(""), 0U);
  EXPECT_EQ(display_width("abc"), 3U);
  EXPECT_EQ(display_width("caf\xc3\xa9"), 4U);            // é
  EXPECT_EQ(display_width("e\xcc\x81"), 1U);              // e + combining acute
  EXPECT_EQ(display_width("\xe6\x97\xa5\xe6\x9c\xac"), 4U);  // 日本
  EXPECT_EQ(display_width("\xf0\x9f\x98\x80"), 2U);       // emoji
  EXPECT_EQ(display_width("\xff"), 1U);
}

TEST(Text, Ellipsize) {
  EXPECT_EQ(ellipsize("hello", 10), "hello");
  EXPECT_EQ(ellipsize("hello", 5), "hello");
  EXPECT_EQ(ellipsize("hello world", 5), "hell\xe2\x80\xa6");
  EXPECT_EQ(ellipsize("hello", 1), "\xe2\x80\xa6");
  EXPECT_EQ(ellipsize("hello", 0), "");
  // Never splits a multi-byte character; a wide one that does not fit is dropped.
  EXPECT_EQ(ellipsize("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 4), "\xe6\x97\xa5\xe2\x80\xa6");
}

UserStatus user(std::string id, std::string state, std::string reason, std::uint64_t since, std::uint64_t rtt,
                std::uint64_t rx, std::uint64_t tx, std::uint32_t reconnects, std::string url) {
  UserStatus u;
  u.id = std::move(id);
  u.state = std::move(state);
  u.reason = std::move(reason);
  u.state_since_usec = since;
  u.rtt_usec = rtt;
  u.received = rx;
  u.sent = tx;
  u.reconnects = reconnects;
  u.url = std::move(url);
  return u;
}

constexpr std::uint64_t kNow = 1714564984000000ULL;

DaemonStatus sample_status() {
  DaemonStatus s;
  s.version = "0.1.0";
  s.user_count = 3;
  s.open_count = 1;
  s.users = {
      user("alice", "open", "connected", kNow - 302 * kSec, 1234, 12, 3, 0, "wss://crm.example.com/ws?id=alice"),
      user("bob", "backoff", "heartbeat_timeout", kNow - 42 * kSec, 0, 7, 1, 4, "wss://crm.example.com/ws?id=bob"),
      user("carol", "stopped", "http_401", kNow - 7900 * kSec, 0, 0, 0, 1, "ws://127.0.0.1:9/carol"),
  };
  return s;
}

TEST(Status, Summary) {
  DaemonStatus s = sample_status();
  EXPECT_EQ(status_summary(s), "3 users: 1 open, 1 backoff, 1 stopped (wsheartd 0.1.0)");
  s.users.resize(1);
  EXPECT_EQ(status_summary(s), "1 user: 1 open (wsheartd 0.1.0)");
  s.users.clear();
  s.version.clear();
  EXPECT_EQ(status_summary(s), "no users configured");
  s.users = {user("x", "hibernating", "", 0, 0, 0, 0, 0, "")};  // a state this CLI does not know
  EXPECT_EQ(status_summary(s), "1 user: 1 hibernating");
}

TEST(Status, TextTable) {
  const DaemonStatus s = sample_status();
  OutputStyle style;
  EXPECT_EQ(render_status(s, s.users, kNow, style),
            "3 users: 1 open, 1 backoff, 1 stopped (wsheartd 0.1.0)\n"
            "ID    STATE    SINCE   RTT RX TX RECONNECTS URL                               REASON\n"
            "alice open     5m 2s 1.2ms 12  3          0 wss://crm.example.com/ws?id=alice -\n"
            "bob   backoff    42s     -  7  1          4 wss://crm.example.com/ws?id=bob   heartbeat_timeout\n"
            "carol stopped 2h 11m     -  0  0          1 ws://127.0.0.1:9/carol            http_401\n");
}

TEST(Status, NoLegendDropsSummaryAndHeader) {
  const DaemonStatus s = sample_status();
  OutputStyle style;
  style.legend = false;
  EXPECT_EQ(render_status(s, {s.users[0]}, kNow, style),
            "alice open 5m 2s 1.2ms 12 3 0 wss://crm.example.com/ws?id=alice -\n");
}

TEST(Status, NoUsersPrintsOnlyTheSummary) {
  DaemonStatus s;
  s.version = "0.1.0";
  EXPECT_EQ(render_status(s, {}, kNow, OutputStyle{}), "no users configured (wsheartd 0.1.0)\n");
}

TEST(Status, ColourOnlyOnTheStateCell) {
  const DaemonStatus s = sample_status();
  OutputStyle style;
  style.color = true;
  style.legend = false;
  EXPECT_EQ(render_status(s, {s.users[0], s.users[1]}, kNow, style),
            "alice \x1b[0;32mopen\x1b[0m    5m 2s 1.2ms 12 3 0 wss://crm.example.com/ws?id=alice -\n"
            "bob   \x1b[0;31mbackoff\x1b[0m   42s     -  7 1 4 wss://crm.example.com/ws?id=bob   "
            "heartbeat_timeout\n");
}

TEST(Status, FitsTheTerminalByShorteningUrlAndReason) {
  const DaemonStatus s = sample_status();
  OutputStyle style;
  style.width = 80;
  const std::string out = render_status(s, s.users, kNow, style);
  std::size_t start = 0;
  while (start < out.size()) {
    const std::size_t nl = out.find('\n', start);
    EXPECT_LE(display_width(out.substr(start, nl - start)), 80U) << out.substr(start, nl - start);
    start = nl + 1;
  }
  EXPECT_NE(out.find("\xe2\x80\xa6"), std::string::npos);
}

TEST(Status, EscapesHostileStrings) {
  DaemonStatus s;
  s.users = {user("evil\x1b]0;x\x07", "backoff", "server_close_1000: bye\nnow", kNow, 0, 0, 0, 0, "ws://h/")};
  const std::string out = render_status(s, s.users, kNow, OutputStyle{});
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_NE(out.find("evil\\x1b]0;x\\x07"), std::string::npos);
  EXPECT_NE(out.find("bye\\nnow"), std::string::npos);
}

TEST(Status, Json) {
  DaemonStatus s = sample_status();
  s.users.resize(1);
  s.users[0].dropped = 2;
  s.users[0].last_message_usec = kNow - kSec;
  s.users[0].duplicates = 1;
  s.users[0].proxy = "http://proxy.example:3128";
  s.users[0].cursor = {{"epoch", "e\"1"}, {"offset", "42"}};
  OutputStyle style;
  style.json = true;
  EXPECT_EQ(render_status(s, s.users, kNow, style),
            "{\"version\":\"0.1.0\",\"user_count\":3,\"open_count\":1,\"users\":[{\"id\":\"alice\",\"state\":\"open\","
            "\"reason\":\"connected\",\"since_usec\":1714564682000000,\"rtt_usec\":1234,\"rx\":12,\"tx\":3,"
            "\"dropped\":2,\"duplicates\":1,\"reconnects\":0,\"url\":\"wss://crm.example.com/ws?id=alice\","
            "\"proxy\":\"http://proxy.example:3128\",\"last_message_usec\":1714564983000000,\"cursor\":{\"epoch\":\"e\\\"1\",\"offset\":\"42\"}}]}\n");
}

TEST(List, TextAndJson) {
  const DaemonStatus s = sample_status();
  EXPECT_EQ(render_list(s.users, OutputStyle{}), "alice\nbob\ncarol\n");
  OutputStyle json;
  json.json = true;
  EXPECT_EQ(render_list(s.users, json), "[\"alice\",\"bob\",\"carol\"]\n");
  EXPECT_EQ(render_list({}, json), "[]\n");
  EXPECT_EQ(render_list({}, OutputStyle{}), "");
}

TEST(Send, Result) {
  EXPECT_EQ(render_send_result("alice", false, OutputStyle{}), "sent\n");
  EXPECT_EQ(render_send_result("alice", true, OutputStyle{}), "queued\n");
  OutputStyle json;
  json.json = true;
  EXPECT_EQ(render_send_result("alice", true, json), "{\"user\":\"alice\",\"queued\":true}\n");
}

TEST_F(LocalTimeUtc, Recent) {
  const std::vector<HistoryMessage> messages = {{1, 1714564984123456ULL, "hello"},
                                                {2, 1714564985000000ULL, "two\nlines"}};
  EXPECT_EQ(render_recent("alice", messages, OutputStyle{}),
            "1 2024-05-01 12:03:04.123 hello\n"
            "2 2024-05-01 12:03:05.000 two\\nlines\n");
  OutputStyle json;
  json.json = true;
  EXPECT_EQ(render_recent("alice", messages, json),
            "{\"user\":\"alice\",\"messages\":[{\"seq\":1,\"time_usec\":1714564984123456,\"text\":\"hello\"},"
            "{\"seq\":2,\"time_usec\":1714564985000000,\"text\":\"two\\nlines\"}]}\n");
  EXPECT_EQ(render_recent("alice", {}, json), "{\"user\":\"alice\",\"messages\":[]}\n");
}

MonitorEvent message_event(std::string user, std::uint64_t seq, std::string text) {
  MonitorEvent e;
  e.kind = MonitorEvent::Kind::Message;
  e.time_usec = 1714564984123456ULL;
  e.user = std::move(user);
  e.seq = seq;
  e.text = std::move(text);
  return e;
}

TEST_F(LocalTimeUtc, MonitorText) {
  OutputStyle style;
  EXPECT_EQ(render_monitor_event(message_event("alice", 7, "hi\tthere"), 5, style),
            "12:03:04.123 alice message #7 hi\\tthere\n");
  EXPECT_EQ(render_monitor_event(message_event("bo", 8, "x"), 5, style), "12:03:04.123 bo    message #8 x\n");

  MonitorEvent bin = message_event("alice", 9, "");
  bin.kind = MonitorEvent::Kind::Binary;
  bin.data = {1, 2, 3};
  EXPECT_EQ(render_monitor_event(bin, 0, style), "12:03:04.123 alice binary  #9 <3 bytes>\n");
  bin.data = {1};
  EXPECT_EQ(render_monitor_event(bin, 0, style), "12:03:04.123 alice binary  #9 <1 byte>\n");

  MonitorEvent st = message_event("alice", 0, "");
  st.kind = MonitorEvent::Kind::State;
  st.old_state = "open";
  st.new_state = "backoff";
  st.reason = "heartbeat_timeout";
  EXPECT_EQ(render_monitor_event(st, 0, style), "12:03:04.123 alice state   open -> backoff (heartbeat_timeout)\n");
  style.color = true;
  EXPECT_EQ(render_monitor_event(st, 0, style),
            "12:03:04.123 alice state   open -> \x1b[0;31mbackoff\x1b[0m (heartbeat_timeout)\n");
}

TEST_F(LocalTimeUtc, MonitorTruncatesOnlyWithAWidth) {
  const MonitorEvent e = message_event("alice", 1, std::string(200, 'x'));
  OutputStyle style;
  EXPECT_EQ(render_monitor_event(e, 0, style).size(), 200U + 31U);
  style.width = 40;
  const std::string line = render_monitor_event(e, 0, style);
  EXPECT_EQ(display_width(line.substr(0, line.size() - 1)), 40U);
  EXPECT_EQ(line.substr(line.size() - 4), "\xe2\x80\xa6\n");
}

TEST(Monitor, Json) {
  OutputStyle json;
  json.json = true;
  EXPECT_EQ(render_monitor_event(message_event("alice", 7, "q\"uote"), 0, json),
            "{\"time_usec\":1714564984123456,\"user\":\"alice\",\"event\":\"message\",\"seq\":7,"
            "\"text\":\"q\\\"uote\"}\n");
  MonitorEvent bin = message_event("alice", 9, "");
  bin.kind = MonitorEvent::Kind::Binary;
  bin.data = {'a', 'b', 'c'};
  EXPECT_EQ(render_monitor_event(bin, 0, json),
            "{\"time_usec\":1714564984123456,\"user\":\"alice\",\"event\":\"binary\",\"seq\":9,\"size\":3,"
            "\"data_base64\":\"YWJj\"}\n");
  MonitorEvent st = message_event("alice", 0, "");
  st.kind = MonitorEvent::Kind::State;
  st.old_state = "connecting";
  st.new_state = "open";
  st.reason = "connected";
  EXPECT_EQ(render_monitor_event(st, 0, json),
            "{\"time_usec\":1714564984123456,\"user\":\"alice\",\"event\":\"state\",\"old\":\"connecting\","
            "\"new\":\"open\",\"reason\":\"connected\"}\n");
}

}  // namespace
}  // namespace wsheart::cli
