// Valid configs: defaults, inheritance, overrides, {id} substitution, files,
// warnings and the diagnostic format.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"

namespace wsheart::config {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> lines(const LoadResult& result) {
  std::vector<std::string> out;
  for (const Diagnostic& diagnostic : result.diagnostics) out.push_back(diagnostic.to_string());
  return out;
}

// Loads and insists on success, so a test can never pass on an empty config.
Config must_load(const std::string& toml) {
  const LoadResult result = load_string(toml, "t.toml");
  EXPECT_TRUE(result.ok()) << ::testing::PrintToString(lines(result));
  return result.config.value_or(Config{});
}

// Restores an environment variable when the test ends.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A file under a fresh temporary directory, removed afterwards.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/wsheart-config-test-XXXXXX";
    const char* made = mkdtemp(pattern);
    EXPECT_NE(made, nullptr);
    path_ = made != nullptr ? made : "/tmp";
  }
  ~TempDir() {
    for (const std::string& file : files_) unlink(file.c_str());
    rmdir(path_.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, const std::string& content, mode_t mode) {
    const std::string file = path_ + "/" + name;
    std::ofstream(file) << content;
    EXPECT_EQ(chmod(file.c_str(), mode), 0);
    files_.push_back(file);
    return file;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

TEST(Defaults, MatchTheContract) {
  const Config config = must_load("[[user]]\nid = \"alice\"\nurl = \"wss://crm.example.com/wsCrm?jspCode={id}\"\n");
  EXPECT_EQ(config.path, "t.toml");
  EXPECT_EQ(config.daemon.max_handshakes, 8u);
  EXPECT_EQ(config.daemon.bus_queue_size, std::uint64_t{64} << 20);
  EXPECT_EQ(config.daemon.metrics_file, "");
  EXPECT_EQ(config.daemon.metrics_interval, std::chrono::seconds(15));
  ASSERT_EQ(config.users.size(), 1u);
  const UserConfig& user = config.users[0];
  EXPECT_EQ(user.id, "alice");
  EXPECT_EQ(user.url, "wss://crm.example.com/wsCrm?jspCode=alice");
  EXPECT_TRUE(user.headers.empty());
  EXPECT_EQ(user.headers_file, "");
  EXPECT_TRUE(user.on_open.empty());
  EXPECT_EQ(user.heartbeat, HeartbeatMode::Text);
  EXPECT_EQ(user.heartbeat_payload, "HeartBeat");
  EXPECT_EQ(user.heartbeat_reply, "HeartBeat");
  EXPECT_EQ(user.heartbeat_interval, 5s);
  EXPECT_EQ(user.heartbeat_timeout, 5s);
  EXPECT_EQ(user.connect_timeout, 10s);
  EXPECT_EQ(user.reconnect_initial, 1s);
  EXPECT_EQ(user.reconnect_max, 60s);
  EXPECT_EQ(user.reconnect_multiplier, 2.0);
  EXPECT_EQ(user.reconnect_jitter, Jitter::Full);
  EXPECT_EQ(user.stable_after, 10s);
  EXPECT_EQ(user.fatal_backoff, 10min);
  EXPECT_EQ(user.max_message_size, 1024u * 1024u);
  EXPECT_EQ(user.send_queue_limit, 1000u);
  EXPECT_EQ(user.history, 256u);
  EXPECT_TRUE(user.tls_verify);
  EXPECT_EQ(user.ca_file, "");
  EXPECT_EQ(user.unix_user, "");
  EXPECT_FALSE(user.unix_uid.has_value());
  // And the struct defaults agree with what the loader produces.
  UserConfig expected;
  expected.id = "alice";
  expected.url = "wss://crm.example.com/wsCrm?jspCode=alice";
  EXPECT_EQ(user, expected);
  EXPECT_TRUE(load_string("[[user]]\nid = \"alice\"\nurl = \"ws://h/\"\n", "t.toml").diagnostics.empty());
}

// Every key with a non-default value, as TOML lines.
const char* const kEveryKey = R"(
url = "wss://other.example.com:8443/x?u={id}"
headers = { Authorization = "Bearer t", X-Trace = "1" }
headers_file = "/dev/null"
on_open = ["subscribe", "hello {id}"]
heartbeat = "ping"
heartbeat_payload = "ping!"
heartbeat_reply = "pong!"
heartbeat_interval = "1m30s"
heartbeat_timeout = "2.5s"
connect_timeout = "3s"
reconnect_initial = "250ms"
reconnect_max = "2m"
reconnect_multiplier = 1.5
reconnect_jitter = "none"
stable_after = "20s"
fatal_backoff = "1h"
max_message_size = "64KiB"
send_queue_limit = 0
history = 10
tls_verify = false
ca_file = "/dev/null"
client_cert = "/dev/null"
client_key = "/dev/null"
pin_sha256 = ["sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]
unix_user = "root"
)";

UserConfig every_key_expected(const std::string& id) {
  UserConfig user;
  user.id = id;
  user.url = "wss://other.example.com:8443/x?u=" + id;
  user.headers = {{"Authorization", "Bearer t"}, {"X-Trace", "1"}};
  user.headers_file = "/dev/null";
  user.on_open = {"subscribe", "hello {id}"};  // only the url is substituted
  user.heartbeat = HeartbeatMode::Ping;
  user.heartbeat_payload = "ping!";
  user.heartbeat_reply = "pong!";
  user.heartbeat_interval = 90s;
  user.heartbeat_timeout = 2500ms;
  user.connect_timeout = 3s;
  user.reconnect_initial = 250ms;
  user.reconnect_max = 2min;
  user.reconnect_multiplier = 1.5;
  user.reconnect_jitter = Jitter::None;
  user.stable_after = 20s;
  user.fatal_backoff = 1h;
  user.max_message_size = 65536;
  user.send_queue_limit = 0;
  user.history = 10;
  user.tls_verify = false;
  user.ca_file = "/dev/null";
  user.client_cert = "/dev/null";
  user.client_key = "/dev/null";
  user.pin_sha256 = {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="};
  user.unix_user = "root";
  user.unix_uid = 0;
  return user;
}

TEST(Inheritance, EveryDefaultsKeyReachesEveryUser) {
  const Config config = must_load(std::string("[daemon]\nmax_handshakes = 3\nbus_queue_size = \"8MiB\"\n"
                                              "metrics_file = \"wsheartd.prom\"\nmetrics_interval = \"250ms\"\n"
                                              "[defaults]") +
                                  kEveryKey + "[[user]]\nid = \"a\"\n[[user]]\nid = \"b\"\n");
  EXPECT_EQ(config.daemon.max_handshakes, 3u);
  EXPECT_EQ(config.daemon.metrics_file, "wsheartd.prom");
  EXPECT_EQ(config.daemon.metrics_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(config.daemon.bus_queue_size, std::uint64_t{8} << 20);
  ASSERT_EQ(config.users.size(), 2u);
  EXPECT_EQ(config.users[0], every_key_expected("a"));
  EXPECT_EQ(config.users[1], every_key_expected("b"));
}

TEST(Inheritance, EveryKeyCanBeOverriddenPerUser) {
  const Config config = must_load(std::string("[defaults]\nurl = \"ws://default/{id}\"\n") +
                                  "[[user]]\nid = \"plain\"\n[[user]]\nid = \"custom\"" + kEveryKey +
                                  "[[user]]\nid = \"after\"\n");
  ASSERT_EQ(config.users.size(), 3u);
  UserConfig plain;
  plain.id = "plain";
  plain.url = "ws://default/plain";
  EXPECT_EQ(config.users[0], plain);
  EXPECT_EQ(config.users[1], every_key_expected("custom"));
  UserConfig after = plain;
  after.id = "after";
  after.url = "ws://default/after";
  EXPECT_EQ(config.users[2], after);  // overrides do not leak into later users
}

TEST(Inheritance, AUserKeyReplacesTheWholeDefaultsValue) {
  const Config config = must_load(
      "[defaults]\nurl = \"ws://h/\"\nheaders = { A = \"1\", B = \"2\" }\non_open = [\"x\", \"y\"]\n"
      "[[user]]\nid = \"a\"\nheaders = { C = \"3\" }\non_open = []\n");
  ASSERT_EQ(config.users.size(), 1u);
  EXPECT_EQ(config.users[0].headers, (std::vector<Header>{{"C", "3"}}));
  EXPECT_TRUE(config.users[0].on_open.empty());
}

TEST(Inheritance, DefaultsMayComeAfterTheUsers) {
  const Config config = must_load("[[user]]\nid = \"a\"\n[defaults]\nurl = \"ws://h/{id}\"\nheartbeat = \"off\"\n");
  ASSERT_EQ(config.users.size(), 1u);
  EXPECT_EQ(config.users[0].url, "ws://h/a");
  EXPECT_EQ(config.users[0].heartbeat, HeartbeatMode::Off);
}

TEST(Inheritance, InlineArrayOfUserTablesWorks) {
  const Config config = must_load("user = [{ id = \"x\", url = \"ws://h/\" }, { id = \"y\", url = \"ws://i/\" }]\n");
  ASSERT_EQ(config.users.size(), 2u);
  EXPECT_EQ(config.users[1].url, "ws://i/");
}

TEST(Inheritance, UsersKeepFileOrder) {
  const Config config = must_load(
      "[defaults]\nurl = \"ws://h/\"\n[[user]]\nid = \"zed\"\n[[user]]\nid = \"amy\"\n[[user]]\nid = \"mia\"\n");
  ASSERT_EQ(config.users.size(), 3u);
  EXPECT_EQ(config.users[0].id, "zed");
  EXPECT_EQ(config.users[1].id, "amy");
  EXPECT_EQ(config.users[2].id, "mia");
}

TEST(IdSubstitution, IdIsPercentEncodedEverywhereInTheUrl) {
  const Config config = must_load(
      "[defaults]\nurl = \"wss://h/{id}/x?u={id}&v=1\"\n"
      "[[user]]\nid = \"a b/\xc3\xa9?&\"\n[[user]]\nid = \"plain-id_1.2~\"\n");
  ASSERT_EQ(config.users.size(), 2u);
  EXPECT_EQ(config.users[0].id, "a b/\xc3\xa9?&");
  EXPECT_EQ(config.users[0].url, "wss://h/a%20b%2F%C3%A9%3F%26/x?u=a%20b%2F%C3%A9%3F%26&v=1");
  EXPECT_EQ(config.users[1].url, "wss://h/plain-id_1.2~/x?u=plain-id_1.2~&v=1");
}

TEST(IdSubstitution, UrlWithoutPlaceholderIsUsedAsIs) {
  const Config config = must_load("[[user]]\nid = \"a\"\nurl = \"ws://[::1]:9000/ws\"\n");
  ASSERT_EQ(config.users.size(), 1u);
  EXPECT_EQ(config.users[0].url, "ws://[::1]:9000/ws");
}

TEST(Ids, AcceptUpTo255BytesOfUtf8) {
  const std::string longest(255, 'x');
  const Config config = must_load("[defaults]\nurl = \"ws://h/\"\n[[user]]\nid = \"" + longest +
                                  "\"\n[[user]]\nid = \"\xe6\x97\xa5\xe6\x9c\xac\"\n");
  ASSERT_EQ(config.users.size(), 2u);
  EXPECT_EQ(config.users[0].id, longest);
  EXPECT_EQ(config.users[1].id, "\xe6\x97\xa5\xe6\x9c\xac");
}

TEST(Values, NumbersAndUnitsAcceptedForms) {
  const Config config = must_load(
      "[defaults]\nurl = \"ws://h/\"\n"
      "[[user]]\nid = \"a\"\nreconnect_multiplier = 3\nmax_message_size = 4096\n"
      "[[user]]\nid = \"b\"\nmax_message_size = \"1GiB\"\nheartbeat_interval = \"24h\"\nconnect_timeout = \"10ms\"\n"
      "[[user]]\nid = \"c\"\nreconnect_multiplier = 1.0\nsend_queue_limit = 1000000\nhistory = 0\n");
  ASSERT_EQ(config.users.size(), 3u);
  EXPECT_EQ(config.users[0].reconnect_multiplier, 3.0);
  EXPECT_EQ(config.users[0].max_message_size, 4096u);
  EXPECT_EQ(config.users[1].max_message_size, 1024u * 1024u * 1024u);
  EXPECT_EQ(config.users[1].heartbeat_interval, 24h);
  EXPECT_EQ(config.users[1].connect_timeout, 10ms);
  EXPECT_EQ(config.users[2].reconnect_multiplier, 1.0);
  EXPECT_EQ(config.users[2].send_queue_limit, 1'000'000u);
  EXPECT_EQ(config.users[2].history, 0u);
}

TEST(Values, ReconnectMaxMayEqualInitial) {
  const Config config = must_load(
      "[[user]]\nid = \"a\"\nurl = \"ws://h/\"\nreconnect_initial = \"5s\"\nreconnect_max = \"5s\"\n");
  ASSERT_EQ(config.users.size(), 1u);
  EXPECT_EQ(config.users[0].reconnect_max, 5s);
}

TEST(Values, UnixUserByNameNumberOrInteger) {
  const Config config = must_load(
      "[defaults]\nurl = \"ws://h/\"\n[[user]]\nid = \"a\"\nunix_user = \"root\"\n"
      "[[user]]\nid = \"b\"\nunix_user = \"4242\"\n[[user]]\nid = \"c\"\nunix_user = 4343\n"
      "[[user]]\nid = \"d\"\nunix_user = \"\"\n");
  ASSERT_EQ(config.users.size(), 4u);
  EXPECT_EQ(config.users[0].unix_uid, 0u);
  EXPECT_EQ(config.users[1].unix_user, "4242");
  EXPECT_EQ(config.users[1].unix_uid, 4242u);
  EXPECT_EQ(config.users[2].unix_user, "4343");
  EXPECT_EQ(config.users[2].unix_uid, 4343u);
  EXPECT_FALSE(config.users[3].unix_uid.has_value());
}

TEST(Values, HeadersKeepFileOrder) {
  const Config config =
      must_load("[[user]]\nid = \"a\"\nurl = \"ws://h/\"\n[user.headers]\nZ-Last = \"1\"\nA-First = \"2\"\n");
  ASSERT_EQ(config.users.size(), 1u);
  EXPECT_EQ(config.users[0].headers, (std::vector<Header>{{"Z-Last", "1"}, {"A-First", "2"}}));
}

// proxy = "env" with an injected environment: the choice is made at load.
EnvLookup environment(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::vector<std::string> proxy_lines(const std::string& toml, std::map<std::string, std::string> vars) {
  return lines(load_string(toml, "t.toml", environment(std::move(vars))));
}

TEST(Proxy, EnvironmentIsReadAtLoad) {
  const std::string toml = "[[user]]\nid = \"s\"\nurl = \"wss://h.example/\"\n"
                           "[[user]]\nid = \"p\"\nurl = \"ws://h.example/\"\n"
                           "[[user]]\nid = \"n\"\nurl = \"wss://h.example/\"\nproxy = \"none\"\n"
                           "[[user]]\nid = \"c\"\nurl = \"wss://h.example/\"\nproxy = \"http://u:pw@cfg:8080\"\n";
  const LoadResult result =
      load_string(toml, "t.toml", environment({{"https_proxy", "http://sec:3128"}, {"http_proxy", "http://plain:3128"}}));
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(lines(result));
  const auto& users = result.config->users;
  ASSERT_EQ(users.size(), 4u);
  EXPECT_EQ(users[0].proxy, "env");
  ASSERT_TRUE(users[0].proxy_url.has_value());
  EXPECT_EQ(proxy_display(*users[0].proxy_url), "http://sec:3128");
  EXPECT_EQ(users[0].proxy_source, "https_proxy");
  ASSERT_TRUE(users[1].proxy_url.has_value());
  EXPECT_EQ(proxy_display(*users[1].proxy_url), "http://plain:3128");
  EXPECT_EQ(users[1].proxy_source, "http_proxy");
  EXPECT_FALSE(users[2].proxy_url.has_value());
  ASSERT_TRUE(users[3].proxy_url.has_value());
  EXPECT_EQ(users[3].proxy_url->userinfo, "u:pw");
  EXPECT_EQ(users[3].proxy_source, "proxy");
}

TEST(Proxy, NoProxyKeyOverridesTheEnvironmentsList) {
  const std::map<std::string, std::string> env{{"https_proxy", "http://sec:3128"}, {"no_proxy", "other.example"}};
  const std::string base = "[[user]]\nid = \"a\"\nurl = \"wss://h.example:8443/\"\n";
  auto chosen = [&](const std::string& extra) {
    const LoadResult result = load_string(base + extra, "t.toml", environment(env));
    EXPECT_TRUE(result.ok()) << ::testing::PrintToString(lines(result));
    return result.ok() && result.config->users[0].proxy_url.has_value();
  };
  EXPECT_TRUE(chosen(""));
  EXPECT_FALSE(chosen("no_proxy = \".example\"\n"));
  EXPECT_FALSE(chosen("no_proxy = \"h.example:8443\"\n"));
  EXPECT_TRUE(chosen("no_proxy = \"h.example:443\"\n"));
  EXPECT_FALSE(chosen("proxy = \"http://cfg:1\"\nno_proxy = \"*\"\n"));
  const LoadResult bypassed = load_string(base + "no_proxy = \"h.example\"\n", "t.toml", environment(env));
  ASSERT_TRUE(bypassed.ok());
  EXPECT_EQ(bypassed.config->users[0].proxy_source, "");
}

TEST(Proxy, UnusableEnvironmentVariableIsAConfigErrorNeverADirectConnection) {
  const std::string user = "[[user]]\nid = \"a\"\nurl = \"wss://h/\"\n";
  // Not written anywhere: reported at the [[user]].
  EXPECT_EQ(proxy_lines(user, {{"all_proxy", "socks5h://u:pw@s:1080"}}),
            (std::vector<std::string>{"t.toml:1:1: proxy = \"env\": environment variable all_proxy: socks5h:// proxies "
                                      "are not supported (only http:// proxies, through HTTP CONNECT) (user 'a'; set "
                                      "proxy = \"none\" or proxy = \"http://HOST:PORT\" to override it)"}));
  // Written in the user: reported there.
  EXPECT_EQ(proxy_lines(user + "proxy = \"env\"\n", {{"https_proxy", "https://p:443"}}),
            (std::vector<std::string>{"t.toml:4:9: proxy = \"env\": environment variable https_proxy: https:// proxies "
                                      "are not supported (only http:// proxies, through HTTP CONNECT) (user 'a'; set "
                                      "proxy = \"none\" or proxy = \"http://HOST:PORT\" to override it)"}));
  // Written in [defaults]: reported there, once for all users.
  EXPECT_EQ(proxy_lines("[defaults]\nproxy = \"env\"\n" + user + "[[user]]\nid = \"b\"\nurl = \"wss://h/\"\n",
                        {{"HTTPS_PROXY", "http://p:0"}}),
            (std::vector<std::string>{"t.toml:2:9: proxy = \"env\": environment variable HTTPS_PROXY: proxy port must be "
                                      "1-65535 (user 'a'; set proxy = \"none\" or proxy = \"http://HOST:PORT\" to "
                                      "override it)"}));
  // Even when no_proxy would bypass it: the variable is broken, say so.
  EXPECT_EQ(proxy_lines(user + "no_proxy = \"*\"\n", {{"all_proxy", "socks5://s:1"}}).size(), 1u);
  // Not consulted: no error.
  EXPECT_TRUE(proxy_lines(user + "proxy = \"none\"\n", {{"all_proxy", "socks5://s:1"}}).empty());
  EXPECT_TRUE(proxy_lines(user, {{"http_proxy", "socks5://s:1"}}).empty());  // http_proxy is for ws:// only
}

TEST(Proxy, AuthFileResolvesAgainstCredentialsDirectory) {
  TempDir dir;
  dir.write("proxy-auth", "agent:secret\n", 0600);
  ScopedEnv credentials("CREDENTIALS_DIRECTORY", dir.path().c_str());
  const Config config = must_load("[[user]]\nid = \"a\"\nurl = \"ws://h/\"\nproxy = \"http://p:3128\"\n"
                                  "proxy_auth_file = \"proxy-auth\"\n");
  ASSERT_EQ(config.users.size(), 1u);
  EXPECT_EQ(config.users[0].proxy_auth_file, dir.path() + "/proxy-auth");
}

TEST(Proxy, PasswordInTheProxyUrlMakesAReadableFileWarn) {
  TempDir dir;
  const std::string path = dir.write("config.toml",
                                     "[[user]]\nid = \"a\"\nurl = \"ws://h/\"\nproxy = \"http://u:pw@p:3128\"\n", 0644);
  EXPECT_EQ(lines(load_file(path)),
            (std::vector<std::string>{path + ":1:1: warning: file holds credentials but is readable by others (mode 0644)"}));
}

TEST(HeadersFile, RelativePathResolvesAgainstCredentialsDirectory) {
  TempDir dir;
  dir.write("headers", "Authorization: Bearer x\n", 0600);
  ScopedEnv credentials("CREDENTIALS_DIRECTORY", dir.path().c_str());
  const Config config = must_load("[[user]]\nid = \"a\"\nurl = \"ws://h/\"\nheaders_file = \"headers\"\n");
  ASSERT_EQ(config.users.size(), 1u);
  EXPECT_EQ(config.users[0].headers_file, dir.path() + "/headers");
}

TEST(HeadersFile, SecretFilesReadableByOthersAreWarnedAbout) {
  TempDir dir;
  const std::string open_headers = dir.write("headers", "Authorization: Bearer x\n", 0644);
  const std::string open_key = dir.write("client.key", "key\n", 0604);
  const std::string group_key = dir.write("group.key", "key\n", 0640);
  const std::string cert = dir.write("client.pem", "cert\n", 0644);  // public: no warning
  const LoadResult result = load_string("[[user]]\nid = \"a\"\nurl = \"ws://h/\"\nheaders_file = \"" + open_headers +
                                            "\"\nclient_cert = \"" + cert + "\"\nclient_key = \"" + open_key +
                                            "\"\n[[user]]\nid = \"b\"\nurl = \"ws://h/\"\nclient_cert = \"" + cert +
                                            "\"\nclient_key = \"" + group_key + "\"\n",
                                        "t.toml");
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(lines(result),
            (std::vector<std::string>{
                "t.toml:4:16: warning: headers_file: '" + open_headers +
                    "' holds credentials but is readable by others (mode 0644)",
                "t.toml:6:14: warning: client_key: '" + open_key +
                    "' holds credentials but is readable by others (mode 0604)"}));
}

TEST(HeadersFile, RelativePathMissingFromCredentialsDirectoryIsAnError) {
  TempDir dir;
  ScopedEnv credentials("CREDENTIALS_DIRECTORY", dir.path().c_str());
  const LoadResult result = load_string("[[user]]\nid = \"a\"\nurl = \"ws://h/\"\nheaders_file = \"nope\"\n", "t.toml");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(lines(result), (std::vector<std::string>{"t.toml:4:16: headers_file: cannot read '" + dir.path() +
                                                     "/nope': No such file or directory"}));
}

TEST(Warnings, NoUsersIsValidButWarned) {
  for (const char* toml : {"", "[daemon]\nmax_handshakes = 2\n", "user = []\n"}) {
    const LoadResult result = load_string(toml, "t.toml");
    EXPECT_TRUE(result.ok()) << toml;
    ASSERT_EQ(result.diagnostics.size(), 1u) << toml;
    EXPECT_EQ(result.diagnostics[0].severity, Severity::Warning);
    EXPECT_EQ(result.diagnostics[0].to_string(),
              "t.toml:1:1: warning: no [[user]] tables: the daemon will start with nothing to do");
    ASSERT_TRUE(result.config.has_value());
    EXPECT_TRUE(result.config->users.empty());
  }
}

const char* const kSecretHeaders = "[[user]]\nid = \"a\"\nurl = \"ws://h/\"\nheaders = { Authorization = \"x\" }\n";

TEST(Warnings, CredentialsInAWorldReadableFile) {
  TempDir dir;
  const std::string path = dir.write("config.toml", kSecretHeaders, 0644);
  const LoadResult result = load_file(path);
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(lines(result), (std::vector<std::string>{
                               path + ":1:1: warning: file holds credentials but is readable by others (mode 0644)"}));
}

TEST(Warnings, CredentialsInAGroupReadableFile) {
  TempDir dir;
  const std::string path = dir.write("config.toml", "[[user]]\nid = \"a\"\nurl = \"ws://u:p@h/\"\n", 0640);
  EXPECT_EQ(lines(load_file(path)),
            (std::vector<std::string>{path +
                                      ":1:1: warning: file holds credentials but is readable by its group (mode 0640)"}));
}

TEST(Warnings, SecretQueryKeyInDefaultsCounts) {
  TempDir dir;
  const std::string path =
      dir.write("config.toml", "[defaults]\nurl = \"ws://h/?token=abc\"\n[[user]]\nid = \"a\"\n", 0604);
  EXPECT_EQ(lines(load_file(path)),
            (std::vector<std::string>{path + ":1:1: warning: file holds credentials but is readable by others (mode 0604)"}));
}

TEST(Warnings, NoPermissionWarningWhenPrivateOrSecretFreeOrFromAString) {
  TempDir dir;
  const std::string private_file = dir.write("private.toml", kSecretHeaders, 0600);
  EXPECT_TRUE(load_file(private_file).diagnostics.empty());
  const std::string public_file = dir.write("public.toml", "[[user]]\nid = \"a\"\nurl = \"ws://h/?user=a\"\n", 0644);
  EXPECT_TRUE(load_file(public_file).diagnostics.empty());
  EXPECT_TRUE(load_string(kSecretHeaders, "t.toml").diagnostics.empty());
}

TEST(LoadFile, ReadsAndValidatesLikeLoadString) {
  TempDir dir;
  const std::string path = dir.write("c.toml", "[[user]]\nid = \"a\"\nurl = \"ftp://h/\"\n", 0600);
  const LoadResult result = load_file(path);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(lines(result),
            (std::vector<std::string>{path + ":3:7: url: unsupported scheme 'ftp' (only ws:// and wss://)"}));
}

TEST(LoadFile, MissingFileHasNoPosition) {
  const LoadResult result = load_file("/nonexistent/wsheartd.toml");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(lines(result), (std::vector<std::string>{
                               "/nonexistent/wsheartd.toml:0:0: cannot open config file: No such file or directory"}));
}

TEST(LoadFile, DirectoryIsNotAConfig) {
  TempDir dir;
  EXPECT_EQ(lines(load_file(dir.path())), (std::vector<std::string>{dir.path() + ":0:0: not a regular file"}));
}

TEST(DiagnosticFormat, ErrorsAndWarnings) {
  EXPECT_EQ((Diagnostic{Severity::Error, "/etc/x.toml", 3, 7, "boom"}).to_string(), "/etc/x.toml:3:7: boom");
  EXPECT_EQ((Diagnostic{Severity::Warning, "x.toml", 1, 1, "hmm"}).to_string(), "x.toml:1:1: warning: hmm");
}

TEST(Equality, EveryFieldTakesPart) {
  const UserConfig base = every_key_expected("a");
  const std::vector<std::function<void(UserConfig&)>> changes = {
      [](UserConfig& u) { u.id = "b"; },
      [](UserConfig& u) { u.url += "x"; },
      [](UserConfig& u) { u.headers[0].value = "other"; },
      [](UserConfig& u) { u.headers[0].name = "Other"; },
      [](UserConfig& u) { u.headers.pop_back(); },
      [](UserConfig& u) { u.headers_file = "/x"; },
      [](UserConfig& u) { u.on_open.push_back("more"); },
      [](UserConfig& u) { u.heartbeat = HeartbeatMode::Off; },
      [](UserConfig& u) { u.heartbeat_payload = "p"; },
      [](UserConfig& u) { u.heartbeat_reply = "r"; },
      [](UserConfig& u) { u.heartbeat_interval += 1ms; },
      [](UserConfig& u) { u.heartbeat_timeout += 1ms; },
      [](UserConfig& u) { u.connect_timeout += 1ms; },
      [](UserConfig& u) { u.reconnect_initial += 1ms; },
      [](UserConfig& u) { u.reconnect_max += 1ms; },
      [](UserConfig& u) { u.reconnect_multiplier += 0.25; },
      [](UserConfig& u) { u.reconnect_jitter = Jitter::Full; },
      [](UserConfig& u) { u.stable_after += 1ms; },
      [](UserConfig& u) { u.fatal_backoff += 1ms; },
      [](UserConfig& u) { u.max_message_size += 1; },
      [](UserConfig& u) { u.send_queue_limit += 1; },
      [](UserConfig& u) { u.history += 1; },
      [](UserConfig& u) { u.tls_verify = !u.tls_verify; },
      [](UserConfig& u) { u.ca_file = "/y"; },
      [](UserConfig& u) { u.client_cert = "/c"; },
      [](UserConfig& u) { u.client_key = "/k"; },
      [](UserConfig& u) { u.pin_sha256.pop_back(); },
      [](UserConfig& u) { u.unix_user = "nobody"; },
      [](UserConfig& u) { u.unix_uid = 65534; },
      [](UserConfig& u) { u.unix_uid.reset(); },
      [](UserConfig& u) { u.proxy = "none"; },
      [](UserConfig& u) { u.no_proxy = "x"; },
      [](UserConfig& u) { u.proxy_auth_file = "/a"; },
      [](UserConfig& u) { u.proxy_url = ProxyUrl{"p", 1, ""}; },
      [](UserConfig& u) { u.proxy_source = "https_proxy"; },
  };
  EXPECT_EQ(base, every_key_expected("a"));
  for (std::size_t i = 0; i < changes.size(); ++i) {
    UserConfig changed = base;
    changes[i](changed);
    EXPECT_NE(changed, base) << "change #" << i << " went unnoticed";
    EXPECT_FALSE(changed == base) << "change #" << i;
  }
}

TEST(EnumNames, RoundTripWithTheConfigWords) {
  EXPECT_EQ(to_string(HeartbeatMode::Text), "text");
  EXPECT_EQ(to_string(HeartbeatMode::Ping), "ping");
  EXPECT_EQ(to_string(HeartbeatMode::Off), "off");
  EXPECT_EQ(to_string(Jitter::Full), "full");
  EXPECT_EQ(to_string(Jitter::None), "none");
}

TEST(DefaultPaths, SystemAndUser) {
  EXPECT_EQ(default_system_path(), "/etc/wsheartd/config.toml");
  {
    ScopedEnv xdg("XDG_CONFIG_HOME", "/xdg");
    EXPECT_EQ(default_user_path(), "/xdg/wsheartd/config.toml");
  }
  {
    ScopedEnv xdg("XDG_CONFIG_HOME", nullptr);
    ScopedEnv home("HOME", "/home/tester");
    EXPECT_EQ(default_user_path(), "/home/tester/.config/wsheartd/config.toml");
  }
  {
    ScopedEnv xdg("XDG_CONFIG_HOME", "relative/ignored");
    ScopedEnv home("HOME", "/home/tester");
    EXPECT_EQ(default_user_path(), "/home/tester/.config/wsheartd/config.toml");
  }
}

}  // namespace
}  // namespace wsheart::config
