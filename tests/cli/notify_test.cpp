// The notify agent's pure parts: content mapping, the burst collapse, the
// quiet-for state notices, catch-up selection and the state file format.
// Time is passed in (steady clock values made up here): exact, no sleeps.
#include <gtest/gtest.h>

#include "error.hpp"
#include "notify/content.hpp"
#include "notify/policy.hpp"
#include "notify/state_file.hpp"
#include "verbs.hpp"

namespace wsheart::cli::notify {
namespace {

using namespace std::chrono_literals;

const TimePoint t0 = TimePoint{} + 1000h;

TEST(NotifyContent, PlainTextIsUserAndText) {
  const Content c = message_content("alice", "hello <b>", {});
  EXPECT_EQ(c.summary, "alice");
  EXPECT_EQ(c.body, "hello <b>");
  EXPECT_EQ(c.urgency, Urgency::Normal);
}

TEST(NotifyContent, JsonPointers) {
  const ContentPointers p{"/title", "/message", "/priority"};
  const Content c = message_content("alice", R"({"title":"Call","message":"from +4930","priority":9})", p);
  EXPECT_EQ(c.summary, "Call");
  EXPECT_EQ(c.body, "from +4930");
  EXPECT_EQ(c.urgency, Urgency::Critical);
  // Nested, numbers as text, priority as a string.
  const ContentPointers q{"/a/0", "/n", "/p"};
  const Content d = message_content("bob", R"({"a":["x"],"n":42,"p":"2"})", q);
  EXPECT_EQ(d.summary, "x");
  EXPECT_EQ(d.body, "42");
  EXPECT_EQ(d.urgency, Urgency::Low);
}

TEST(NotifyContent, FallsBackWhenNotJsonOrPointerMissing) {
  const ContentPointers p{"/title", "/message", "/priority"};
  const Content plain = message_content("alice", "not json", p);
  EXPECT_EQ(plain.summary, "alice");
  EXPECT_EQ(plain.body, "not json");
  const Content partial = message_content("alice", R"({"title":"T"})", p);
  EXPECT_EQ(partial.summary, "T");
  EXPECT_EQ(partial.body, R"({"title":"T"})");
  EXPECT_EQ(partial.urgency, Urgency::Normal);
  const Content bad_priority = message_content("alice", R"({"priority":"high"})", p);
  EXPECT_EQ(bad_priority.urgency, Urgency::Normal);
}

TEST(NotifyContent, PriorityBands) {
  for (int p : {-5, 0, 3}) EXPECT_EQ(urgency_for_priority(p), Urgency::Low) << p;
  for (int p : {4, 7}) EXPECT_EQ(urgency_for_priority(p), Urgency::Normal) << p;
  for (int p : {8, 10, 99}) EXPECT_EQ(urgency_for_priority(p), Urgency::Critical) << p;
}

TEST(NotifyContent, MarkupEscapeAndShorten) {
  EXPECT_EQ(escape_markup(R"(a & <b> 'c' "d")"), "a &amp; &lt;b&gt; &apos;c&apos; &quot;d&quot;");
  EXPECT_EQ(shorten("abc", 3), "abc");
  EXPECT_EQ(shorten("abcd", 3), "abc…");
  EXPECT_EQ(shorten("a\xc3\xa4x", 2), "a…");  // not inside the ä
}

PolicySettings quick() {
  PolicySettings s;
  s.quiet_for = 30s;
  return s;
}

TEST(NotifyPolicy, FiveMessagesInTenSecondsAreShownTheSixthCollapses) {
  NotifyPolicy p(quick());
  for (int i = 1; i <= 5; ++i) {
    auto n = p.on_message(t0 + i * 100ms, "alice", static_cast<std::uint64_t>(i), "m" + std::to_string(i));
    ASSERT_EQ(n.size(), 1U);
    EXPECT_EQ(n[0].body, "m" + std::to_string(i));
    EXPECT_EQ(n[0].replace_key, "");
    EXPECT_EQ(n[0].category, "im.received");
  }
  auto sixth = p.on_message(t0 + 600ms, "bob", 1, "m6");
  ASSERT_EQ(sixth.size(), 1U);
  EXPECT_EQ(sixth[0].summary, "1 new message");
  EXPECT_EQ(sixth[0].replace_key, "burst:1");
  // Within burst_update (1 s) of the last update: held back, due at 1.6 s.
  EXPECT_TRUE(p.on_message(t0 + 700ms, "alice", 6, "m7").empty());
  EXPECT_TRUE(p.on_message(t0 + 800ms, "alice", 7, "m8").empty());
  EXPECT_EQ(p.next_deadline(), t0 + 1600ms);
  EXPECT_TRUE(p.on_timer(t0 + 1599ms).empty());
  auto update = p.on_timer(t0 + 1600ms);
  ASSERT_EQ(update.size(), 1U);
  EXPECT_EQ(update[0].summary, "3 new messages");
  EXPECT_EQ(update[0].replace_key, "burst:1");
  EXPECT_EQ(update[0].body, "from alice, bob\nlatest: alice: m8");
  EXPECT_EQ(p.next_deadline(), std::nullopt);
}

TEST(NotifyPolicy, BurstEndsAfterAQuietWindowAndTheNextGetsANewNotice) {
  NotifyPolicy p(quick());
  for (int i = 1; i <= 6; ++i) p.on_message(t0, "alice", static_cast<std::uint64_t>(i), "x");
  // 9.999 s after the last one the burst still collapses...
  auto still = p.on_message(t0 + 9999ms, "alice", 7, "x");
  ASSERT_EQ(still.size(), 1U);
  EXPECT_EQ(still[0].summary, "2 new messages");
  // ...10 s of quiet end it; the window has emptied too, so this one is shown.
  auto after = p.on_message(t0 + 9999ms + 10s, "alice", 8, "single");
  ASSERT_EQ(after.size(), 1U);
  EXPECT_EQ(after[0].body, "single");
  for (std::uint64_t i = 9; i <= 13; ++i) p.on_message(t0 + 40s, "alice", i, "y");
  auto second = p.on_message(t0 + 40s, "alice", 14, "y");
  ASSERT_EQ(second.size(), 1U);
  EXPECT_EQ(second[0].replace_key, "burst:2");
}

TEST(NotifyPolicy, SlidingWindowCountsOnlyTheLastTenSeconds) {
  NotifyPolicy p(quick());
  for (int i = 0; i < 5; ++i) p.on_message(t0 + i * 3s, "alice", static_cast<std::uint64_t>(i + 1), "x");
  // At 15 s the messages at 0 s and 3 s are out of the window (3 in it): shown.
  auto n = p.on_message(t0 + 15s, "alice", 6, "shown");
  ASSERT_EQ(n.size(), 1U);
  EXPECT_EQ(n[0].body, "shown");
}

TEST(NotifyPolicy, BurstUrgencyIsTheHighest) {
  PolicySettings s = quick();
  s.pointers.priority = "/p";
  NotifyPolicy p(s);
  for (std::uint64_t i = 1; i <= 5; ++i) p.on_message(t0, "alice", i, R"({"p":1})");
  auto n = p.on_message(t0, "alice", 6, R"({"p":9})");
  ASSERT_EQ(n.size(), 1U);
  EXPECT_EQ(n[0].urgency, Urgency::Critical);
}

TEST(NotifyPolicy, DuplicateSeqIsIgnored) {
  NotifyPolicy p(quick());
  p.set_last_seq("alice", 10);
  EXPECT_TRUE(p.on_message(t0, "alice", 10, "old").empty());
  EXPECT_EQ(p.on_message(t0, "alice", 11, "new").size(), 1U);
  EXPECT_TRUE(p.on_message(t0, "alice", 11, "again").empty());
  EXPECT_EQ(p.last_seqs().at("alice"), 11U);
}

TEST(NotifyPolicy, StateNoticeAfterQuietForThenUpdatedOnRecovery) {
  NotifyPolicy p(quick());
  p.add_user(t0, "alice", "open", "connected", 0s);
  EXPECT_TRUE(p.on_state(t0, "alice", "backoff", "heartbeat_timeout").empty());
  EXPECT_TRUE(p.on_state(t0 + 1s, "alice", "connecting", "connect_failed").empty());
  EXPECT_EQ(p.next_deadline(), t0 + 30s);
  EXPECT_TRUE(p.on_timer(t0 + 30s - 1ms).empty());
  auto down = p.on_timer(t0 + 30s);
  ASSERT_EQ(down.size(), 1U);
  EXPECT_EQ(down[0].summary, "alice: not connected");
  EXPECT_EQ(down[0].body, "connecting for 30s (connect_failed)");
  EXPECT_EQ(down[0].replace_key, "state:alice");
  EXPECT_EQ(down[0].category, "network.disconnected");
  EXPECT_EQ(p.next_deadline(), std::nullopt);  // one notice per outage
  EXPECT_TRUE(p.on_state(t0 + 40s, "alice", "backoff", "connect_failed").empty());
  auto up = p.on_state(t0 + 62s, "alice", "open", "connected");
  ASSERT_EQ(up.size(), 1U);
  EXPECT_EQ(up[0].summary, "alice: connected again");
  EXPECT_EQ(up[0].body, "after 1m 2s (connected)");
  EXPECT_EQ(up[0].replace_key, "state:alice");
  EXPECT_EQ(up[0].urgency, Urgency::Low);
}

TEST(NotifyPolicy, ShortOutageShowsNothing) {
  NotifyPolicy p(quick());
  p.add_user(t0, "alice", "open", "connected", 0s);
  p.on_state(t0, "alice", "backoff", "tcp_reset");
  EXPECT_TRUE(p.on_state(t0 + 29s, "alice", "open", "connected").empty());
  EXPECT_EQ(p.next_deadline(), std::nullopt);
}

TEST(NotifyPolicy, PlannedReasonsNeverNotify) {
  for (const char* reason : {"resume", "network_change", "network_change: wlan0"}) {
    NotifyPolicy p(quick());
    p.add_user(t0, "alice", "open", "connected", 0s);
    p.on_state(t0, "alice", "connecting", reason);
    EXPECT_EQ(p.next_deadline(), std::nullopt) << reason;
    EXPECT_TRUE(p.on_timer(t0 + 1h).empty()) << reason;
    EXPECT_TRUE(p.on_state(t0 + 1h, "alice", "open", "connected").empty()) << reason;
  }
  // A planned reconnect that then fails counts from when open was left.
  NotifyPolicy p(quick());
  p.add_user(t0, "alice", "open", "connected", 0s);
  p.on_state(t0, "alice", "connecting", "network_change");
  auto n = p.on_state(t0 + 31s, "alice", "backoff", "connect_failed");
  ASSERT_EQ(n.size(), 1U);
  EXPECT_EQ(n[0].body, "backoff for 31s (connect_failed)");
}

TEST(NotifyPolicy, UserAlreadyDownAtStartCountsFromStateSince) {
  NotifyPolicy p(quick());
  p.add_user(t0, "carol", "backoff", "connect_failed", 25s);
  EXPECT_EQ(p.next_deadline(), t0 + 5s);
  auto n = p.on_timer(t0 + 5s);
  ASSERT_EQ(n.size(), 1U);
  EXPECT_EQ(n[0].summary, "carol: not connected");
}

TEST(NotifyPolicy, CatchUpShowsTheNewestThreeThenASummary) {
  NotifyPolicy p(quick());
  p.set_last_seq("alice", 2);
  std::vector<CatchUpMessage> missed = {
      {"alice", 3, 300, "a3"}, {"bob", 1, 100, "b1"}, {"alice", 4, 400, "a4"},
      {"bob", 2, 500, "b2"},   {"alice", 2, 50, "a2 (already shown)"}, {"alice", 5, 600, "a5"}};
  auto n = p.catch_up(missed);
  ASSERT_EQ(n.size(), 4U);
  EXPECT_EQ(n[0].body, "a4");
  EXPECT_EQ(n[1].body, "b2");
  EXPECT_EQ(n[2].body, "a5");
  EXPECT_EQ(n[3].summary, "2 earlier messages");
  EXPECT_NE(n[3].body.find("alice, bob"), std::string::npos);
  EXPECT_EQ(p.last_seqs().at("alice"), 5U);
  EXPECT_EQ(p.last_seqs().at("bob"), 2U);
  // Catch-up does not count towards a burst.
  for (std::uint64_t i = 6; i <= 10; ++i) EXPECT_EQ(p.on_message(t0, "alice", i, "x").size(), 1U);
}

TEST(NotifyPolicy, CatchUpOfThreeOrFewerHasNoSummary) {
  NotifyPolicy p(quick());
  auto n = p.catch_up({{"alice", 1, 1, "a"}, {"alice", 2, 2, "b"}});
  ASSERT_EQ(n.size(), 2U);
  EXPECT_TRUE(p.catch_up({}).empty());
}

TEST(NotifyStateFile, RoundTripAndRejects) {
  const LastSeqs seqs = {{"alice", 17}, {"a b\"c", 18446744073709551615ULL}};
  EXPECT_EQ(parse_state(serialize_state(seqs)), seqs);
  EXPECT_EQ(serialize_state({{"alice", 1}}), "{\"last_seq\":{\"alice\":1}}\n");
  EXPECT_EQ(parse_state("{}"), std::nullopt);
  EXPECT_EQ(parse_state("{\"last_seq\":{\"a\":-1}}"), std::nullopt);
  EXPECT_EQ(parse_state("garbage"), std::nullopt);
}

TEST(NotifyStateFile, Path) {
  EXPECT_EQ(state_file_path("/x/state", "/home/a"), "/x/state/wsheartd/notify.state");
  EXPECT_EQ(state_file_path(nullptr, "/home/a"), "/home/a/.local/state/wsheartd/notify.state");
  EXPECT_EQ(state_file_path("relative", "/home/a"), "/home/a/.local/state/wsheartd/notify.state");
  EXPECT_EQ(state_file_path(nullptr, nullptr), "");
}

TEST(NotifyArgs, Options) {
  const auto p = parse_command_line({"notify", "alice", "--summary", "/title", "--body=/message", "--priority",
                                     "/priority", "--quiet-for", "500ms"});
  ASSERT_NE(p.invocation.verb, nullptr);
  EXPECT_EQ(p.invocation.verb->name, "notify");
  EXPECT_EQ(p.invocation.args, std::vector<std::string>{"alice"});
  EXPECT_EQ(p.invocation.notify.summary_pointer, "/title");
  EXPECT_EQ(p.invocation.notify.body_pointer, "/message");
  EXPECT_EQ(p.invocation.notify.priority_pointer, "/priority");
  EXPECT_EQ(p.invocation.notify.quiet_for, 500ms);
  EXPECT_EQ(parse_command_line({"notify"}).invocation.notify.quiet_for, 30s);
}

TEST(NotifyArgs, UsageErrors) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"notify", "--summary", "title"}, {"notify", "--quiet-for", "soon"},
        {"notify", "--quiet-for"}, {"status", "--summary", "/t"}, {"monitor", "--quiet-for", "1s"}}) {
    try {
      parse_command_line(args);
      ADD_FAILURE() << "accepted: " << args.back();
    } catch (const CliError& e) {
      EXPECT_EQ(e.code(), Exit::Usage);
    }
  }
}

}  // namespace
}  // namespace wsheart::cli::notify
