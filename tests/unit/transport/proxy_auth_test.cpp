// proxy_auth_file and proxy URL credentials: the format, its limits, and that
// the secret never reaches a message.
#include "transport/proxy_auth.hpp"

#include <gtest/gtest.h>

#include <string>

#include "process.hpp"

namespace wsheart::transport {
namespace {

TEST(ProxyCredentials, SplitAtTheFirstColon) {
  const auto both = parse_proxy_credentials("agent:pa:ss");
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ(both->user, "agent");
  EXPECT_EQ(both->password, "pa:ss");
  const auto user_only = parse_proxy_credentials("agent");
  ASSERT_TRUE(user_only.has_value());
  EXPECT_EQ(user_only->password, "");
  EXPECT_FALSE(parse_proxy_credentials("").has_value());
  EXPECT_FALSE(parse_proxy_credentials(":nouser").has_value());
  EXPECT_FALSE(parse_proxy_credentials("agent:pa\r\nX-Injected: 1").has_value());
}

TEST(ProxyAuthFile, FirstLineThatIsNoCommentOrBlank) {
  test::TempDir dir;
  const std::string file = dir.write("auth", "# rotated daily\n\n  agent:s3cret \r\nignored:line\n");
  ProxyCredentials credentials;
  EXPECT_EQ(read_proxy_auth_file(file, credentials), std::nullopt);
  EXPECT_EQ(credentials.user, "agent");
  EXPECT_EQ(credentials.password, "s3cret");
}

TEST(ProxyAuthFile, ProblemsNameTheFileNeverItsContents) {
  test::TempDir dir;
  ProxyCredentials credentials;
  const auto missing = read_proxy_auth_file("/nonexistent/wsheart-proxy-auth", credentials);
  ASSERT_TRUE(missing.has_value());
  EXPECT_NE(missing->find("/nonexistent/wsheart-proxy-auth: No such file"), std::string::npos) << *missing;
  const std::string empty = dir.write("empty", "# nothing\n\n");
  EXPECT_EQ(read_proxy_auth_file(empty, credentials), "proxy_auth_file " + empty + " is empty (expected \"user:password\")");
  const std::string bad = dir.write("bad", ":top-secret-password\n");
  const auto malformed = read_proxy_auth_file(bad, credentials);
  ASSERT_TRUE(malformed.has_value());
  EXPECT_EQ(malformed->find("top-secret"), std::string::npos) << *malformed;
  const std::string big = dir.write("big", std::string(5000, 'a'));
  EXPECT_EQ(read_proxy_auth_file(big, credentials), "proxy_auth_file " + big + " is larger than 4 KiB");
}

}  // namespace
}  // namespace wsheart::transport
