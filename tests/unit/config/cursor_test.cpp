// Resume keys that load: cursor rules, cursor_if, state_flush, and templates
// with placeholders (the failures are in bad_config_test).
#include <gtest/gtest.h>

#include "config.hpp"
#include "cursor.hpp"

namespace wsheart::config {
namespace {

TEST(CursorKeys, LoadWithPlaceholders) {
  const auto result = load_string(
      "[defaults]\n"
      "cursor = { offset = \"json:/pub/offset\", epoch = \"regex:epoch=(\\\\w+)\" }\n"
      "cursor_if = \"json:/type=7\"\n"
      "state_flush = \"250ms\"\n"
      "[[user]]\n"
      "id = \"a b\"\n"
      "url = \"wss://h/{id}/ws?o={cursor.offset}&e={cursor.epoch}\"\n"
      "headers = { Last-Event-ID = \"{cursor.offset}\" }\n"
      "on_open = ['{\"o\":{cursor.offset|json}}']\n",
      "good.toml");
  ASSERT_TRUE(result.ok()) << (result.diagnostics.empty() ? "" : result.diagnostics[0].to_string());
  const UserConfig& user = result.config->users.at(0);
  ASSERT_EQ(user.cursors.size(), 2u);
  EXPECT_EQ(user.cursors[0], (CursorRule{"offset", CursorSource::Json, "/pub/offset"}));
  EXPECT_EQ(user.cursors[1], (CursorRule{"epoch", CursorSource::Regex, "epoch=(\\w+)"}));
  EXPECT_EQ(user.cursor_if, (CursorCondition{"/type", "7"}));
  EXPECT_EQ(user.state_flush, std::chrono::milliseconds(250));
  EXPECT_EQ(user.url, "wss://h/a%20b/ws?o={cursor.offset}&e={cursor.epoch}");
}

TEST(CursorKeys, NoCursorByDefault) {
  const auto result = load_string("[[user]]\nid = \"a\"\nurl = \"ws://h/\"\n", "good.toml");
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.config->users[0].cursors.empty());
  EXPECT_FALSE(result.config->users[0].cursor_if);
  EXPECT_EQ(result.config->users[0].state_flush, std::chrono::seconds(5));
}

TEST(Placeholders, ScanFindsNamesAndFilters) {
  const auto found = scan_placeholders("a{cursor.x}b{cursor.y_2|json}{id}", TemplateContext::Frame);
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].name, "x");
  EXPECT_EQ((*found)[0].begin, 1u);
  EXPECT_EQ((*found)[0].end, 11u);
  EXPECT_EQ((*found)[1].filter, PlaceholderFilter::Json);
  std::string why;
  EXPECT_FALSE(scan_placeholders("{cursor.}", TemplateContext::Url, &why));
  EXPECT_FALSE(scan_placeholders("{cursor.x|raw}", TemplateContext::Frame, &why));
  EXPECT_FALSE(scan_placeholders("{cursor.x", TemplateContext::Header, &why));
  EXPECT_TRUE(scan_placeholders("{curso.x}", TemplateContext::Url));
  // In a URL a '%' may not end right before a placeholder: the rendered,
  // percent-encoded value would complete (or break) its escape.
  for (const char* url : {"ws://h/p?s=%{cursor.id}", "ws://h/p?s=%1{cursor.id}", "ws://h/p?s=a%{cursor.id}"}) {
    why.clear();
    EXPECT_FALSE(scan_placeholders(url, TemplateContext::Url, &why)) << url;
    EXPECT_EQ(why, "the '%' before {cursor.id} does not start a %XX escape (write a literal '%' as %25)") << url;
  }
  EXPECT_TRUE(scan_placeholders("ws://h/p?s=%25{cursor.id}", TemplateContext::Url));
  EXPECT_TRUE(scan_placeholders("%1{cursor.id}", TemplateContext::Header));
}

TEST(Placeholders, UrlStandIns) {
  EXPECT_EQ(url_with_stand_ins("ws://h/p?s={cursor.id}&e={cursor.e}"), "ws://h/p?s=cursor&e=cursor");
}

}  // namespace
}  // namespace wsheart::config
