// headers_file: the format, its limits, and that its contents never reach a message.
#include "transport/headers_file.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "process.hpp"

namespace wsheart::transport {
namespace {

TEST(HeadersFile, ReadsNameValueLinesSkippingCommentsAndBlanks) {
  test::TempDir dir;
  const std::string file = dir.write("headers",
                                     "# a comment\n"
                                     "Authorization: Bearer abc\r\n"
                                     "\n"
                                     "  Cookie :  sid=1; x=2  \n"
                                     "X-Empty:\n");
  std::vector<config::Header> headers{{"X-First", "kept"}};
  EXPECT_EQ(read_headers_file(file, headers), std::nullopt);
  const std::vector<config::Header> expected{
      {"X-First", "kept"}, {"Authorization", "Bearer abc"}, {"Cookie", "sid=1; x=2"}, {"X-Empty", ""}};
  EXPECT_EQ(headers, expected);
}

TEST(HeadersFile, MissingFileNamesThePath) {
  std::vector<config::Header> headers;
  const auto error = read_headers_file("/nonexistent/wsheart-headers", headers);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("/nonexistent/wsheart-headers"), std::string::npos) << *error;
  EXPECT_NE(error->find("No such file"), std::string::npos) << *error;
}

TEST(HeadersFile, BadLineNamesTheLineButNotItsContents) {
  test::TempDir dir;
  for (const std::string bad : {"Bearer-top-secret-token-without-colon", "Bad Name: top-secret", ": top-secret"}) {
    const std::string file = dir.write("headers", "X-Ok: fine\n" + bad + "\n");
    std::vector<config::Header> headers;
    const auto error = read_headers_file(file, headers);
    ASSERT_TRUE(error.has_value()) << bad;
    EXPECT_NE(error->find("line 2"), std::string::npos) << *error;
    EXPECT_EQ(error->find("top-secret"), std::string::npos) << *error;
  }
}

TEST(HeadersFile, LargerThan64KiBIsRefused) {
  test::TempDir dir;
  const std::string file = dir.write("headers", "X-Big: " + std::string(64 * 1024, 'a') + "\n");
  std::vector<config::Header> headers;
  const auto error = read_headers_file(file, headers);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("larger than 64 KiB"), std::string::npos) << *error;
}

TEST(HeadersFile, HeaderChecks) {
  EXPECT_TRUE(is_valid_header({"X-Token", "a b\tc"}));
  EXPECT_FALSE(is_valid_header({"X Token", "v"}));
  EXPECT_FALSE(is_valid_header({"", "v"}));
  EXPECT_FALSE(is_valid_header({"X-Token", "a\r\nInjected: 1"}));
  EXPECT_FALSE(is_valid_header({"X-Token", std::string("a\0b", 3)}));
}

}  // namespace
}  // namespace wsheart::transport
