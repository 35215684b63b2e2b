// Unit tests of command-line parsing, the verb table and usage exit codes.
// Everything here fails before any bus is touched.
#include <gtest/gtest.h>

#include <sstream>

#include "error.hpp"
#include "verbs.hpp"

namespace wsheart::cli {
namespace {

ParsedCommandLine parse(std::vector<std::string> args) { return parse_command_line(args); }

struct RunResult {
  int code;
  std::string out;
  std::string err;
};

RunResult run_args(std::vector<std::string> args) {
  std::ostringstream out;
  std::ostringstream err;
  const int code = run(args, OutputStyle{}, out, err);
  return {code, out.str(), err.str()};
}

TEST(Args, Defaults) {
  const auto p = parse({"status"});
  EXPECT_EQ(p.action, Action::Run);
  ASSERT_NE(p.invocation.verb, nullptr);
  EXPECT_EQ(p.invocation.verb->name, "status");
  EXPECT_EQ(p.invocation.options.bus, BusKind::System);
  EXPECT_FALSE(p.invocation.options.json);
  EXPECT_TRUE(p.invocation.options.legend);
  EXPECT_TRUE(p.invocation.args.empty());
  EXPECT_FALSE(p.invocation.since);
}

TEST(Args, GlobalOptionsAnywhere) {
  const auto p = parse({"--user", "status", "alice", "--json", "bob", "--no-legend"});
  EXPECT_EQ(p.invocation.options.bus, BusKind::Session);
  EXPECT_TRUE(p.invocation.options.json);
  EXPECT_FALSE(p.invocation.options.legend);
  EXPECT_EQ(p.invocation.args, (std::vector<std::string>{"alice", "bob"}));
}

TEST(Args, LastBusOptionWins) {
  EXPECT_EQ(parse({"--user", "--system", "list"}).invocation.options.bus, BusKind::System);
  EXPECT_EQ(parse({"--system", "--user", "list"}).invocation.options.bus, BusKind::Session);
}

TEST(Args, Fresh) {
  EXPECT_TRUE(parse({"reconnect", "alice", "--fresh"}).invocation.fresh);
  EXPECT_TRUE(parse({"--fresh", "reconnect", "alice"}).invocation.fresh);
  EXPECT_FALSE(parse({"reconnect", "alice"}).invocation.fresh);
}

TEST(Args, Since) {
  EXPECT_EQ(parse({"recent", "alice", "--since", "42"}).invocation.since, 42U);
  EXPECT_EQ(parse({"recent", "--since=7", "alice"}).invocation.since, 7U);
  EXPECT_EQ(parse({"recent", "alice"}).invocation.since, std::nullopt);
  EXPECT_EQ(parse({"recent", "alice", "--since", "18446744073709551615"}).invocation.since,
            18446744073709551615ULL);
}

TEST(Args, DoubleDashEndsOptions) {
  const auto p = parse({"send", "alice", "--", "--json"});
  EXPECT_EQ(p.invocation.args, (std::vector<std::string>{"alice", "--json"}));
  EXPECT_FALSE(p.invocation.options.json);
  EXPECT_EQ(parse({"send", "alice", "-"}).invocation.args.at(1), "-");
}

TEST(Args, HelpAndVersion) {
  EXPECT_EQ(parse({"--help"}).action, Action::Help);
  EXPECT_EQ(parse({"-h"}).action, Action::Help);
  EXPECT_EQ(parse({"bogus", "--help"}).action, Action::Help);
  EXPECT_EQ(parse({"--version"}).action, Action::Version);
}

TEST(Args, VerbTableArity) {
  for (const auto& verb : verb_table()) {
    EXPECT_LE(verb.min_args, verb.max_args) << verb.name;
    EXPECT_NE(verb.handler, nullptr) << verb.name;
    EXPECT_EQ(find_verb(verb.name), &verb);
    EXPECT_NE(help_text().find(std::string(verb.name)), std::string::npos) << verb.name;
  }
  EXPECT_EQ(find_verb("nope"), nullptr);
  EXPECT_EQ(verb_table().size(), 8U);
}

struct UsageCase {
  std::vector<std::string> args;
  std::string message;
};

class UsageErrors : public ::testing::TestWithParam<UsageCase> {};

TEST_P(UsageErrors, ExitTwoOneLineNothingOnStdout) {
  const auto& c = GetParam();
  const RunResult r = run_args(c.args);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "wsheartctl: " + c.message + " Try 'wsheartctl --help'.\n");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, UsageErrors,
    ::testing::Values(UsageCase{{}, "missing command."},
                      UsageCase{{"--json"}, "missing command."},
                      UsageCase{{"bogus"}, "unknown command 'bogus'."},
                      UsageCase{{"--bogus", "status"}, "unknown option '--bogus'."},
                      UsageCase{{"-x", "status"}, "unknown option '-x'."},
                      UsageCase{{"--json=yes", "status"}, "option '--json' takes no value."},
                      UsageCase{{"list", "alice"}, "too many arguments for 'list'."},
                      UsageCase{{"reload", "now"}, "too many arguments for 'reload'."},
                      UsageCase{{"send"}, "command 'send' needs ID TEXT."},
                      UsageCase{{"send", "alice"}, "command 'send' needs ID TEXT."},
                      UsageCase{{"send", "alice", "a", "b"}, "too many arguments for 'send'."},
                      UsageCase{{"reconnect"}, "command 'reconnect' needs ID [--fresh]."},
                      UsageCase{{"status", "--fresh"}, "option '--fresh' is only valid with 'reconnect'."},
                      UsageCase{{"reconnect", "alice", "--fresh=1"}, "option '--fresh' takes no value."},
                      UsageCase{{"recent"}, "command 'recent' needs ID [--since SEQ]."},
                      UsageCase{{"recent", "alice", "--since"}, "option '--since' needs a sequence number."},
                      UsageCase{{"recent", "alice", "--since", "x1"}, "invalid sequence number 'x1'."},
                      UsageCase{{"recent", "alice", "--since", "-1"}, "invalid sequence number '-1'."},
                      UsageCase{{"recent", "alice", "--since="}, "invalid sequence number ''."},
                      UsageCase{{"recent", "alice", "--since", "18446744073709551616"},
                                "invalid sequence number '18446744073709551616'."},
                      UsageCase{{"status", "--since", "3"}, "option '--since' is only valid with 'recent'."},
                      UsageCase{{"bad\x1b[2Jverb"}, "unknown command 'bad\\x1b[2Jverb'."}));

TEST(Run, HelpGoesToStdout) {
  const RunResult r = run_args({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("wsheartctl [OPTIONS...] COMMAND [ARGS...]\n", 0), 0U);
  EXPECT_NE(r.out.find("  recent ID [--since SEQ]"), std::string::npos);
  EXPECT_NE(r.out.find("--no-legend"), std::string::npos);
}

TEST(Run, Version) {
  const RunResult r = run_args({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("wsheartctl ", 0), 0U);
  EXPECT_EQ(r.out.back(), '\n');
}

TEST(Errors, ExitCodesMatchTheContract) {
  EXPECT_EQ(to_int(Exit::Ok), 0);
  EXPECT_EQ(to_int(Exit::Failure), 1);
  EXPECT_EQ(to_int(Exit::Usage), 2);
  EXPECT_EQ(to_int(Exit::NotOpen), 3);
  EXPECT_EQ(to_int(Exit::NotReachable), 4);
  EXPECT_EQ(to_int(Exit::NoSuchUser), 5);
}

}  // namespace
}  // namespace wsheart::cli
