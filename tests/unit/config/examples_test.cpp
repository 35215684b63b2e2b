// The shipped examples must load cleanly: they are documentation users copy.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config.hpp"

namespace wsheart::config {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> errors_of(const LoadResult& result) {
  std::vector<std::string> out;
  for (const Diagnostic& diagnostic : result.diagnostics) {
    if (diagnostic.severity == Severity::Error) out.push_back(diagnostic.to_string());
  }
  return out;
}

std::vector<fs::path> example_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(WSHEART_EXAMPLES_DIR)) {
    if (entry.path().extension() == ".toml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Examples, EveryShippedTomlLoadsWithoutErrors) {
  const auto files = example_files();
  // Both known examples must be there, so this cannot pass on an empty directory.
  ASSERT_GE(files.size(), 2u);
  for (const fs::path& file : files) {
    const LoadResult result = load_file(file.string());
    EXPECT_TRUE(result.ok()) << file;
    EXPECT_EQ(errors_of(result), std::vector<std::string>{}) << file;
  }
}

TEST(Examples, DemoHasThreeLocalUsers) {
  const LoadResult result = load_file(std::string(WSHEART_EXAMPLES_DIR) + "/demo.toml");
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.diagnostics.empty());
  const Config& config = *result.config;
  ASSERT_EQ(config.users.size(), 3u);
  const char* ids[] = {"alice", "bob", "carol"};
  for (std::size_t i = 0; i < 3; ++i) {
    const UserConfig& user = config.users[i];
    EXPECT_EQ(user.id, ids[i]);
    EXPECT_EQ(user.url, std::string("ws://127.0.0.1:18080/ws?user=") + ids[i]);
    EXPECT_EQ(user.heartbeat_interval, std::chrono::seconds(2));
    EXPECT_EQ(user.heartbeat_timeout, std::chrono::seconds(2));
    EXPECT_EQ(user.reconnect_initial, std::chrono::milliseconds(500));
    EXPECT_EQ(user.heartbeat, i == 2 ? HeartbeatMode::Ping : HeartbeatMode::Text);
  }
}

// config.toml ships with its [[user]] tables commented out (an installed
// config must not dial example.com). Their code lines are commented with a
// bare "#" (prose uses "# "), so uncommenting them must give a valid config.
TEST(Examples, ConfigTomlUserBlockIsValidWhenUncommented) {
  std::ifstream in(std::string(WSHEART_EXAMPLES_DIR) + "/config.toml");
  ASSERT_TRUE(in.good());
  std::ostringstream uncommented;
  std::string line;
  bool in_users = false;
  int code_lines = 0;
  while (std::getline(in, line)) {
    if (line.rfind("#[[user]]", 0) == 0) in_users = true;
    if (in_users && line.size() > 1 && line[0] == '#' && line[1] != ' ' && line[1] != '#') {
      line.erase(0, 1);
      ++code_lines;
    }
    uncommented << line << '\n';
  }
  EXPECT_GE(code_lines, 4);
  const LoadResult result = load_string(uncommented.str(), "config.toml (uncommented)");
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(errors_of(result), std::vector<std::string>{});
  ASSERT_TRUE(result.config.has_value());
  EXPECT_GE(result.config->users.size(), 2u);
}

}  // namespace
}  // namespace wsheart::config
