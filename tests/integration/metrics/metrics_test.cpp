// The metrics file against the real textfile collector of Debian's
// prometheus-node-exporter, scraped over HTTP on loopback: the values are
// those of `wsheartctl status --json`, and the collector never sees a torn
// file while the daemon rewrites it every 100 ms under a message flood.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace wsheart::test {
namespace {

constexpr const char* kNodeExporter = "/usr/bin/prometheus-node-exporter";

std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

// GET http://127.0.0.1:PORT/metrics; the body, or nullopt without an HTTP 200.
std::optional<std::string> http_get_metrics(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buffer[65536];
      ssize_t n = 0;
      while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) response.append(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  if (response.rfind("HTTP/1.0 200", 0) != 0 && response.rfind("HTTP/1.1 200", 0) != 0) return std::nullopt;
  const auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? std::nullopt : std::optional<std::string>(response.substr(body + 4));
}

// "name{labels} value" lines -> {"name{labels}": "value"}.
std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = text.find('\n', at);
    const std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? text.size() : end + 1;
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space != std::string::npos) out[line.substr(0, space)] = line.substr(space + 1);
  }
  return out;
}

// node_exporter prints floats in Go's %g-like shortest form ("0.001234",
// "1.700000000123456e+09"): compare as numbers.
bool same_number(const std::string& text, double expected) {
  if (text.empty()) return false;
  const double value = std::stod(text);
  return value == expected || std::abs(value - expected) <= 1e-9 * std::max(1.0, std::abs(expected));
}

class NodeExporter {
 public:
  explicit NodeExporter(const std::string& directory) : port_(free_loopback_port()) {
    process_.emplace(std::vector<std::string>{kNodeExporter, "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                              "--collector.disable-defaults", "--collector.textfile",
                                              "--collector.textfile.directory=" + directory});
  }
  std::uint16_t port() const { return port_; }
  bool ready() {
    return eventually([this] { return http_get_metrics(port_).has_value(); }, 10s, 20ms);
  }
  std::map<std::string, std::string> scrape() {
    const auto body = http_get_metrics(port_);
    return body ? samples(*body) : std::map<std::string, std::string>{};
  }
  Subprocess& process() { return *process_; }

 private:
  std::uint16_t port_;
  std::optional<Subprocess> process_;
};

class Metrics : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kNodeExporter, X_OK) != 0) GTEST_SKIP() << kNodeExporter << " missing: run scripts/install-deps";
    textfile_dir_ = h_.dir().path() + "/textfile";
    ASSERT_EQ(::mkdir(textfile_dir_.c_str(), 0755), 0);
    metrics_file_ = textfile_dir_ + "/wsheartd.prom";
  }

  std::string config(const std::string& metrics_file) {
    // carol's server refuses the upgrade: she sits in backoff and reconnects.
    return "[daemon]\nmetrics_file = \"" + metrics_file + "\"\nmetrics_interval = \"100ms\"\n"
           "[defaults]\nheartbeat_interval = \"300ms\"\nreconnect_initial = \"50ms\"\nreconnect_max = \"200ms\"\n"
           "send_queue_limit = 2\n"
           "[[user]]\nid = \"alice\"\nurl = \"" + echo_.url("/a") + "\"\n"
           "[[user]]\nid = \"bob\"\nurl = \"" + echo_.url("/b") + "\"\n"
           "[[user]]\nid = \"carol\"\nurl = \"" + refusing_.url("/c") + "\"\n";
  }

  CommandResult ctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{wsheartctl_bin(), "--user"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, h_.bus().env());
  }
  std::optional<nlohmann::json> status_json() {
    const auto result = ctl({"--json", "status"});
    if (result.out.empty()) return std::nullopt;
    return nlohmann::json::parse(result.out, nullptr, false);
  }

  // Every wsheartd_* sample of a user equals the status --json field it comes from.
  static std::string mismatch(const std::map<std::string, std::string>& m, const nlohmann::json& status) {
    if (!same_number(m.count("wsheartd_build_info{version=\"" + status["version"].get<std::string>() + "\"}")
                         ? m.at("wsheartd_build_info{version=\"" + status["version"].get<std::string>() + "\"}")
                         : "",
                     1)) {
      return "build_info";
    }
    for (const auto& user : status["users"]) {
      const std::string id = user["id"].get<std::string>();
      const std::string label = "{user=\"" + id + "\"}";
      const auto value = [&](const std::string& family) {
        const auto it = m.find(family + label);
        return it == m.end() ? std::string() : it->second;
      };
      const std::string state = user["state"].get<std::string>();
      const std::vector<std::pair<std::string, double>> expected{
          {"wsheartd_user_up", state == "open" ? 1.0 : 0.0},
          {"wsheartd_user_reconnects_total", user["reconnects"].get<double>()},
          {"wsheartd_user_messages_received_total", user["rx"].get<double>()},
          {"wsheartd_user_messages_sent_total", user["tx"].get<double>()},
          {"wsheartd_user_messages_dropped_total", user["dropped"].get<double>()},
          {"wsheartd_user_rtt_seconds", user["rtt_usec"].get<double>() / 1e6},
          {"wsheartd_user_last_message_timestamp_seconds", user["last_message_usec"].get<double>() / 1e6},
      };
      for (const auto& [family, number] : expected) {
        if (!same_number(value(family), number)) {
          return id + " " + family + ": file " + value(family) + ", status " + std::to_string(number);
        }
      }
      for (const char* s : {"connecting", "open", "closing", "backoff", "stopped"}) {
        const auto it = m.find("wsheartd_user_state{state=\"" + std::string(s) + "\",user=\"" + id + "\"}");
        if (it == m.end() || !same_number(it->second, state == s ? 1 : 0)) return id + " state " + s;
      }
    }
    return "";
  }

  EchoServer echo_{{"--quiet"}};
  EchoServer refusing_{{"--quiet", "--refuse-upgrade", "503"}};
  DaemonHarness h_;
  std::string textfile_dir_;
  std::string metrics_file_;
};

TEST_F(Metrics, NodeExporterReportsWhatStatusJsonSays) {
  h_.write_config(config(metrics_file_));
  ASSERT_TRUE(h_.start());
  ASSERT_TRUE(h_.wait_state("alice", "open"));
  ASSERT_TRUE(h_.wait_state("bob", "open"));
  ASSERT_TRUE(eventually([&] { return h_.user_property("carol", "Reconnects") != "0"; }));
  // Traffic both ways, and an rtt measured for alice.
  for (int i = 0; i < 3; ++i) ASSERT_EQ(ctl({"send", "alice", "echo:hello"}).exit_code, 0);
  ASSERT_EQ(ctl({"send", "bob", "echo:x"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return h_.user_property("alice", "MessagesReceived") == "3"; }));
  ASSERT_TRUE(eventually([&] { return h_.user_property("alice", "RoundTripUsec") != "0"; }));

  NodeExporter exporter(textfile_dir_);
  ASSERT_TRUE(exporter.ready()) << exporter.process().err();

  // Heartbeats move rtt and carol's reconnects: compare a scrape taken between
  // two identical status answers, until one falls into a quiet moment.
  std::string last_problem = "no scrape";
  const bool matched = eventually(
      [&] {
        const auto before = status_json();
        const auto m = exporter.scrape();
        const auto after = status_json();
        if (!before || !after || *before != *after) return false;
        if (m.count("node_textfile_scrape_error") == 0 || m.at("node_textfile_scrape_error") != "0") {
          last_problem = "scrape error";
          return false;
        }
        last_problem = mismatch(m, *after);
        return last_problem.empty();
      },
      20s, 50ms);
  EXPECT_TRUE(matched) << last_problem;
  const auto m = exporter.scrape();
  EXPECT_EQ(m.count("wsheartd_handshakes_in_flight"), 1u);
  EXPECT_EQ(m.at("wsheartd_user_messages_received_total{user=\"alice\"}"), "3");

  struct stat status {};
  ASSERT_EQ(::stat(metrics_file_.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0640u);
}

TEST_F(Metrics, NoScrapeErrorWhileRewrittenUnderAFlood) {
  h_.write_config(config(metrics_file_));
  ASSERT_TRUE(h_.start());
  ASSERT_TRUE(h_.wait_state("alice", "open"));
  ASSERT_TRUE(h_.wait_state("bob", "open"));
  NodeExporter exporter(textfile_dir_);
  ASSERT_TRUE(exporter.ready()) << exporter.process().err();

  // A flood to both open users while the file is rewritten every 100 ms.
  ASSERT_EQ(ctl({"send", "alice", "burst:200000:64"}).exit_code, 0);
  ASSERT_EQ(ctl({"send", "bob", "burst:200000:64"}).exit_code, 0);
  const auto status = status_json();
  ASSERT_TRUE(status);
  const std::string build_info = "wsheartd_build_info{version=\"" + (*status)["version"].get<std::string>() + "\"}";
  int scrapes = 0;
  int errors = 0;
  std::set<std::string> received;  // distinct values seen: the file really was rewritten
  const auto until = std::chrono::steady_clock::now() + 4s;
  while (std::chrono::steady_clock::now() < until) {
    const auto m = exporter.scrape();
    ++scrapes;
    const auto error = m.find("node_textfile_scrape_error");
    if (error == m.end() || error->second != "0" || m.count(build_info) == 0) {
      ++errors;
      continue;
    }
    received.insert(m.at("wsheartd_user_messages_received_total{user=\"alice\"}"));
  }
  std::printf("%d scrapes in 4 s, %zu distinct values of alice's received count\n", scrapes, received.size());
  // The cost, from the daemon's debug lines: the loop's copy and the writer's work.
  const std::string err = h_.daemon().err();
  const auto figures = [&](const std::string& marker) {
    std::vector<long> all;
    for (std::size_t at = 0; (at = err.find(marker, at)) != std::string::npos; ++at) {
      all.push_back(std::strtol(err.c_str() + at + marker.size(), nullptr, 10));
    }
    std::sort(all.begin(), all.end());
    return all.empty() ? std::string("none")
                       : "median " + std::to_string(all[all.size() / 2]) + " us, max " + std::to_string(all.back()) +
                             " us over " + std::to_string(all.size());
  };
  std::printf("copy on the loop: %s; format: %s; write+rename: %s\n", figures("user(s) copied in ").c_str(),
              figures("formatted in ").c_str(), figures("written in ").c_str());
  EXPECT_EQ(errors, 0) << "of " << scrapes << " scrapes";
  EXPECT_GE(scrapes, 100);
  EXPECT_GE(received.size(), 5u);
  // Only the file itself: temp files are renamed, never left behind.
  EXPECT_EQ(run_command({"ls", "-A", textfile_dir_}).out, "wsheartd.prom\n");
}

TEST_F(Metrics, ReloadMovesTheFileAndStopRemovesIt) {
  h_.write_config(config(metrics_file_));
  ASSERT_TRUE(h_.start());
  ASSERT_TRUE(eventually([&] { return ::access(metrics_file_.c_str(), F_OK) == 0; }));
  const std::string moved = textfile_dir_ + "/moved.prom";
  h_.write_config(config(moved));
  ASSERT_EQ(ctl({"reload"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return ::access(moved.c_str(), F_OK) == 0 && ::access(metrics_file_.c_str(), F_OK) != 0; }));
  h_.daemon().stop();
  EXPECT_EQ(h_.daemon().wait(), 0);
  EXPECT_EQ(run_command({"ls", "-A", textfile_dir_}).out, "") << "a stopped daemon leaves no figures behind";
}

TEST_F(Metrics, RelativeNameIsInTheStateDirectory) {
  const std::string state_home = h_.dir().path() + "/state-home";
  h_.write_config(config("wsheartd.prom"));
  ASSERT_TRUE(h_.start({}, {{"XDG_STATE_HOME", state_home}}));
  const std::string expected = state_home + "/wsheartd/wsheartd.prom";
  EXPECT_TRUE(eventually([&] { return ::access(expected.c_str(), F_OK) == 0; })) << expected;
}

TEST_F(Metrics, AMissingDirectoryIsOneWarningAndTheDaemonRuns) {
  h_.write_config(config(textfile_dir_ + "/absent/wsheartd.prom"));
  ASSERT_TRUE(h_.start());
  ASSERT_TRUE(h_.wait_state("alice", "open"));
  const auto count = [&](const std::string& what) {
    const std::string err = h_.daemon().err();
    std::size_t n = 0;
    for (std::size_t at = 0; (at = err.find(what, at)) != std::string::npos; ++at) ++n;
    return n;
  };
  ASSERT_TRUE(eventually([&] { return count("cannot write the metrics file") > 0; }));
  // Five more attempts (each logs its copy at debug level): still one warning.
  const std::size_t attempts = count("user(s) copied in");
  ASSERT_TRUE(eventually([&] { return count("user(s) copied in") >= attempts + 5; }));
  EXPECT_EQ(count("cannot write the metrics file"), 1u);
  EXPECT_TRUE(h_.daemon().running());
}

}  // namespace
}  // namespace wsheart::test
