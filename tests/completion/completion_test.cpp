// bash completion of wsheartctl (completion/wsheartctl.bash), driven through
// bash itself (tests/completion/complete.sh) against the real wsheartd on a
// private session bus: verbs and options as wsheartctl knows them, user ids
// read live from the daemon, nothing once the daemon is gone.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "process.hpp"
#include "verbs.hpp"

namespace {

using namespace std::chrono_literals;
using wsheart::test::CommandResult;
using wsheart::test::EnvOverrides;
using wsheart::test::PrivateBus;
using wsheart::test::Subprocess;
using wsheart::test::TempDir;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class Completion : public ::testing::Test {
 protected:
  void SetUp() override {
    // carol is refused and backs off: ids come from the config, not from the state.
    config_ = dir_.write("config.toml",
                         "[defaults]\n"
                         "url = \"ws://127.0.0.1:1/{id}\"\n"
                         "reconnect_initial = \"1h\"\n"
                         "reconnect_max = \"1h\"\n"
                         "[[user]]\nid = \"alice\"\n"
                         "[[user]]\nid = \"albert\"\n"
                         "[[user]]\nid = \"bob\"\n"
                         "[[user]]\nid = \"carol x\"\n");
    EnvOverrides env = bus_.env();
    env["NOTIFY_SOCKET"] = notify_.path();
    daemon_.emplace(std::vector<std::string>{wsheart::test::wsheartd_bin(), "--user", "--config", config_}, env);
    ASSERT_TRUE(notify_.wait_for("READY=1", 20s)) << daemon_->err();
  }

  // Completions for the last word; the first word is the wsheartctl under test.
  std::vector<std::string> complete(std::vector<std::string> words) {
    std::vector<std::string> argv{WSHEART_COMPLETE_SH, WSHEART_BASH_COMPLETION, wsheart::test::wsheartctl_bin()};
    argv.insert(argv.end(), words.begin(), words.end());
    EnvOverrides env = bus_.env();
    // No system bus here: a completion without --user must offer no ids.
    env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=" + dir_.path() + "/no-system-bus";
    std::vector<std::string> cmd{"/bin/bash"};
    cmd.insert(cmd.end(), argv.begin(), argv.end());
    const CommandResult result = wsheart::test::run_command(cmd, env, 20s);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.err, "");
    return sorted(lines(result.out));
  }

  TempDir dir_;
  PrivateBus bus_;
  wsheart::test::NotifySocket notify_;
  std::string config_;
  std::optional<Subprocess> daemon_;
};

TEST_F(Completion, EveryVerb) {
  std::vector<std::string> verbs;
  for (const auto& verb : wsheart::cli::verb_table()) verbs.emplace_back(verb.name);
  EXPECT_EQ(complete({""}), sorted(verbs));
  EXPECT_EQ(complete({"re"}), (std::vector<std::string>{"recent", "reconnect", "reload"}));
  EXPECT_EQ(complete({"--user", "st"}), (std::vector<std::string>{"status"}));
}

TEST_F(Completion, EveryOptionOfTheHelp) {
  std::set<std::string> help_options;
  const std::string help = wsheart::cli::help_text();
  const std::regex option(R"((--[a-z][a-z-]*))");
  for (auto it = std::sregex_iterator(help.begin(), help.end(), option); it != std::sregex_iterator(); ++it) {
    help_options.insert((*it)[1]);
  }
  ASSERT_GE(help_options.size(), 7u);
  const std::vector<std::string> offered = complete({"--"});
  EXPECT_EQ(std::set<std::string>(offered.begin(), offered.end()), help_options);
  EXPECT_EQ(complete({"--no"}), (std::vector<std::string>{"--no-legend"}));
  // --since belongs to recent only.
  const std::vector<std::string> after_status = complete({"status", "--"});
  EXPECT_EQ(std::count(after_status.begin(), after_status.end(), "--since"), 0);
  const std::vector<std::string> after_recent = complete({"recent", "alice", "--s"});
  EXPECT_EQ(after_recent, (std::vector<std::string>{"--since", "--system"}));
  EXPECT_EQ(complete({"--user", "recent", "alice", "--since", ""}), std::vector<std::string>{});
  // The notify options belong to notify only, and their values are not ids.
  EXPECT_EQ(std::count(after_status.begin(), after_status.end(), "--quiet-for"), 0);
  EXPECT_EQ(complete({"notify", "--q"}), (std::vector<std::string>{"--quiet-for"}));
  EXPECT_EQ(complete({"notify", "--s"}), (std::vector<std::string>{"--summary", "--system"}));
  EXPECT_EQ(complete({"--user", "notify", "--summary", ""}), std::vector<std::string>{});
}

TEST_F(Completion, LiveUserIds) {
  EXPECT_EQ(complete({"--user", "send", ""}), (std::vector<std::string>{"albert", "alice", "bob", "carol\\ x"}));
  EXPECT_EQ(complete({"--user", "send", "al"}), (std::vector<std::string>{"albert", "alice"}));
  EXPECT_EQ(complete({"send", "--user", "b"}), (std::vector<std::string>{"bob"}));  // options anywhere
  EXPECT_EQ(complete({"--user", "send", "alice", ""}), std::vector<std::string>{});  // TEXT: nothing to offer
  EXPECT_EQ(complete({"--user", "reconnect", "c"}), (std::vector<std::string>{"carol\\ x"}));
  EXPECT_EQ(complete({"--user", "status", "alice", "b"}), (std::vector<std::string>{"bob"}));  // several ids
  EXPECT_EQ(complete({"--user", "notify", "--quiet-for", "5s", "alice", "b"}), (std::vector<std::string>{"bob"}));
  EXPECT_EQ(complete({"--user", "list", ""}), std::vector<std::string>{});
  // The system bus (the default) has no daemon here: no ids, no error output.
  EXPECT_EQ(complete({"send", ""}), std::vector<std::string>{});

  // A reload that adds a user is seen at the next completion.
  dir_.write("config.toml", std::string("[defaults]\nurl = \"ws://127.0.0.1:1/{id}\"\n") +
                                "reconnect_initial = \"1h\"\nreconnect_max = \"1h\"\n" +
                                "[[user]]\nid = \"alice\"\n[[user]]\nid = \"dora\"\n");
  const CommandResult reload =
      wsheart::test::run_command({wsheart::test::wsheartctl_bin(), "--user", "reload"}, bus_.env(), 20s);
  ASSERT_EQ(reload.exit_code, 0) << reload.err;
  EXPECT_EQ(complete({"--user", "monitor", ""}), (std::vector<std::string>{"alice", "dora"}));

  // The daemon gone: no ids.
  daemon_->signal(SIGTERM);
  ASSERT_TRUE(daemon_->wait(10s));
  EXPECT_EQ(complete({"--user", "send", ""}), std::vector<std::string>{});
}

}  // namespace
