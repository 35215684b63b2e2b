// The metrics file's text, exactly.
#include "metrics/exposition.hpp"

#include <gtest/gtest.h>

namespace wsheart::metrics {
namespace {

using supervisor::State;

TEST(Exposition, ExactTextSortedByUser) {
  Snapshot snapshot;
  snapshot.version = "1.2.3";
  snapshot.handshakes_in_flight = 2;
  snapshot.users.push_back(UserSample{"bob", State::Backoff, 3, 0, 1, 2, 0, 0});
  snapshot.users.push_back(UserSample{"alice", State::Open, 0, 42, 7, 0, 1234, 1700000000123456});
  const std::string expected =
      "# HELP wsheartd_build_info Always 1; the version label is the running wsheartd's.\n"
      "# TYPE wsheartd_build_info gauge\n"
      "wsheartd_build_info{version=\"1.2.3\"} 1\n"
      "# HELP wsheartd_handshakes_in_flight TCP+TLS+HTTP upgrade handshakes in progress (at most [daemon] "
      "max_handshakes).\n"
      "# TYPE wsheartd_handshakes_in_flight gauge\n"
      "wsheartd_handshakes_in_flight 2\n"
      "# HELP wsheartd_user_up 1 while the user's WebSocket connection is open, else 0.\n"
      "# TYPE wsheartd_user_up gauge\n"
      "wsheartd_user_up{user=\"alice\"} 1\n"
      "wsheartd_user_up{user=\"bob\"} 0\n"
      "# HELP wsheartd_user_state 1 for the user's current connection state, 0 for the others.\n"
      "# TYPE wsheartd_user_state gauge\n"
      "wsheartd_user_state{user=\"alice\",state=\"connecting\"} 0\n"
      "wsheartd_user_state{user=\"alice\",state=\"open\"} 1\n"
      "wsheartd_user_state{user=\"alice\",state=\"closing\"} 0\n"
      "wsheartd_user_state{user=\"alice\",state=\"backoff\"} 0\n"
      "wsheartd_user_state{user=\"alice\",state=\"stopped\"} 0\n"
      "wsheartd_user_state{user=\"bob\",state=\"connecting\"} 0\n"
      "wsheartd_user_state{user=\"bob\",state=\"open\"} 0\n"
      "wsheartd_user_state{user=\"bob\",state=\"closing\"} 0\n"
      "wsheartd_user_state{user=\"bob\",state=\"backoff\"} 1\n"
      "wsheartd_user_state{user=\"bob\",state=\"stopped\"} 0\n"
      "# HELP wsheartd_user_reconnects_total Connection attempts after the first one.\n"
      "# TYPE wsheartd_user_reconnects_total counter\n"
      "wsheartd_user_reconnects_total{user=\"alice\"} 0\n"
      "wsheartd_user_reconnects_total{user=\"bob\"} 3\n"
      "# HELP wsheartd_user_messages_received_total Inbound messages republished on the bus (heartbeat replies "
      "excluded).\n"
      "# TYPE wsheartd_user_messages_received_total counter\n"
      "wsheartd_user_messages_received_total{user=\"alice\"} 42\n"
      "wsheartd_user_messages_received_total{user=\"bob\"} 0\n"
      "# HELP wsheartd_user_messages_sent_total Text frames sent for the user (heartbeats excluded).\n"
      "# TYPE wsheartd_user_messages_sent_total counter\n"
      "wsheartd_user_messages_sent_total{user=\"alice\"} 7\n"
      "wsheartd_user_messages_sent_total{user=\"bob\"} 1\n"
      "# HELP wsheartd_user_messages_dropped_total Messages dropped: send queue overflow, oversize inbound, or a "
      "bus that could not take them.\n"
      "# TYPE wsheartd_user_messages_dropped_total counter\n"
      "wsheartd_user_messages_dropped_total{user=\"alice\"} 0\n"
      "wsheartd_user_messages_dropped_total{user=\"bob\"} 2\n"
      "# HELP wsheartd_user_rtt_seconds Last heartbeat round-trip time; 0 until one was measured.\n"
      "# TYPE wsheartd_user_rtt_seconds gauge\n"
      "wsheartd_user_rtt_seconds{user=\"alice\"} 0.001234\n"
      "wsheartd_user_rtt_seconds{user=\"bob\"} 0\n"
      "# HELP wsheartd_user_last_message_timestamp_seconds Unix time of the last republished message; 0 before "
      "the first.\n"
      "# TYPE wsheartd_user_last_message_timestamp_seconds gauge\n"
      "wsheartd_user_last_message_timestamp_seconds{user=\"alice\"} 1700000000.123456\n"
      "wsheartd_user_last_message_timestamp_seconds{user=\"bob\"} 0\n";
  EXPECT_EQ(format_exposition(snapshot), expected);
}

TEST(Exposition, NoUsersStillNamesEveryFamily) {
  const std::string text = format_exposition(Snapshot{"0.1", 0, {}});
  for (const char* family : {"wsheartd_build_info", "wsheartd_handshakes_in_flight", "wsheartd_user_up",
                             "wsheartd_user_state", "wsheartd_user_reconnects_total",
                             "wsheartd_user_messages_received_total", "wsheartd_user_messages_sent_total",
                             "wsheartd_user_messages_dropped_total", "wsheartd_user_rtt_seconds",
                             "wsheartd_user_last_message_timestamp_seconds"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
  }
  EXPECT_EQ(text.find("{user="), std::string::npos);
}

TEST(Exposition, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(escape_label_value("é {x}"), "é {x}");  // UTF-8 and braces are fine as they are
  Snapshot snapshot{"1\"", 0, {UserSample{"we\"ird\\id", State::Open, 0, 0, 0, 0, 0, 0}}};
  const std::string text = format_exposition(snapshot);
  EXPECT_NE(text.find("wsheartd_build_info{version=\"1\\\"\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("wsheartd_user_up{user=\"we\\\"ird\\\\id\"} 1\n"), std::string::npos);
}

TEST(Exposition, SecondsAreExactDecimals) {
  EXPECT_EQ(usec_as_seconds(0), "0");
  EXPECT_EQ(usec_as_seconds(1), "0.000001");
  EXPECT_EQ(usec_as_seconds(500000), "0.5");
  EXPECT_EQ(usec_as_seconds(2000000), "2");
  EXPECT_EQ(usec_as_seconds(18446744073709551615ULL), "18446744073709.551615");
}

TEST(Exposition, EveryStateIsListed) {
  for (const auto state : {State::Connecting, State::Open, State::Closing, State::Backoff, State::Stopped}) {
    bool found = false;
    for (const auto listed : kAllStates) found = found || listed == state;
    EXPECT_TRUE(found) << supervisor::to_string(state);
  }
}

}  // namespace
}  // namespace wsheart::metrics
