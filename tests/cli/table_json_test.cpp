// Unit tests of the table layout and the JSON writer.
#include <gtest/gtest.h>

#include "json.hpp"
#include "table.hpp"
#include "text.hpp"

namespace wsheart::cli {
namespace {

Table two_columns() {
  Table t({{"NAME", Align::Left, false, 0}, {"COUNT", Align::Right, false, 0}});
  t.add_row({{"a"}, {"1"}});
  t.add_row({{"longer"}, {"12345"}});
  return t;
}

TEST(Table, HeaderPaddingAlignment) {
  EXPECT_EQ(two_columns().render({}),
            "NAME   COUNT\n"
            "a          1\n"
            "longer 12345\n");
}

TEST(Table, WithoutHeader) {
  EXPECT_EQ(two_columns().render({false, false, std::nullopt}),
            "a          1\n"
            "longer 12345\n");
}

TEST(Table, EmptyTable) {
  Table t({{"A", Align::Left, false, 0}});
  EXPECT_EQ(t.render({}), "A\n");
  EXPECT_EQ(t.render({false, false, std::nullopt}), "");
}

TEST(Table, NoTrailingBlanksAndEmptyCells) {
  Table t({{"A", Align::Left, false, 0}, {"B", Align::Left, false, 0}, {"C", Align::Left, false, 0}});
  t.add_row({{"xxx"}, {""}, {""}});
  t.add_row({{"y"}, {"z"}});  // missing trailing cell
  EXPECT_EQ(t.render({}),
            "A   B C\n"
            "xxx\n"
            "y   z\n");
}

TEST(Table, WideCharactersAlign) {
  Table t({{"ID", Align::Left, false, 0}, {"N", Align::Right, false, 0}});
  t.add_row({{"\xe6\x97\xa5\xe6\x9c\xac"}, {"1"}});  // 4 columns wide
  t.add_row({{"abc"}, {"2"}});
  EXPECT_EQ(t.render({}),
            "ID   N\n"
            "\xe6\x97\xa5\xe6\x9c\xac 1\n"
            "abc  2\n");
}

TEST(Table, ColourDoesNotAffectWidths) {
  Table t({{"S", Align::Left, false, 0}, {"X", Align::Left, false, 0}});
  t.add_row({{"open", Color::Green}, {"1"}});
  t.add_row({{"backoff", Color::Red}, {"2"}});
  EXPECT_EQ(t.render({true, true, std::nullopt}),
            "S       X\n"
            "\x1b[0;32mopen\x1b[0m    1\n"
            "\x1b[0;31mbackoff\x1b[0m 2\n");
}

TEST(Table, EllipsizesOnlyMarkedColumnsToFit) {
  Table t({{"ID", Align::Left, false, 0}, {"URL", Align::Left, true, 8}, {"REASON", Align::Left, true, 6}});
  t.add_row({{"alice"}, {"ws://a-very-long-host.example.com/path"}, {"heartbeat_timeout"}});
  const std::string out = t.render({true, false, 40});
  EXPECT_EQ(out,
            "ID    URL              REASON\n"
            "alice ws://a-very-lon\xe2\x80\xa6 heartbeat_timeout\n");
  for (std::size_t start = 0, nl = 0; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    EXPECT_LE(display_width(out.substr(start, nl - start)), 40U);
  }
}

TEST(Table, ShrinksSeveralColumnsDownToTheirMinimum) {
  Table t({{"ID", Align::Left, false, 0}, {"URL", Align::Left, true, 8}, {"REASON", Align::Left, true, 6}});
  t.add_row({{"alice"}, {"ws://a-very-long-host.example.com/path"}, {"heartbeat_timeout"}});
  // Cannot fit: both shrink to their minimum and the line stays longer.
  EXPECT_EQ(t.render({false, false, 10}), "alice ws://a-\xe2\x80\xa6 heart\xe2\x80\xa6\n");
}

TEST(Table, LaterShrinkOrderIsCutLast) {
  Table t({{"ID", Align::Left, true, 4, 1}, {"URL", Align::Left, true, 6, 0}});
  t.add_row({{"long-identifier"}, {"ws://host.example.com/"}});
  // URL goes down to its minimum before the ID is touched.
  EXPECT_EQ(t.render({false, false, 25}), "long-identifier ws://hos\xe2\x80\xa6\n");
  EXPECT_EQ(t.render({false, false, 22}), "long-identifier ws://\xe2\x80\xa6\n");
  EXPECT_EQ(t.render({false, false, 20}), "long-identif\xe2\x80\xa6 ws://\xe2\x80\xa6\n");
  EXPECT_EQ(t.render({false, false, 80}), "long-identifier ws://host.example.com/\n");
}

TEST(Json, Escaping) {
  std::string out;
  append_json_string(out, "quote\" backslash\\ slash/");
  EXPECT_EQ(out, "\"quote\\\" backslash\\\\ slash/\"");
  out.clear();
  append_json_string(out, "\b\f\n\r\t");
  EXPECT_EQ(out, "\"\\b\\f\\n\\r\\t\"");
  out.clear();
  append_json_string(out, std::string("\x00\x01\x1f\x7f", 4));
  EXPECT_EQ(out, "\"\\u0000\\u0001\\u001f\\u007f\"");
  out.clear();
  append_json_string(out, "\xc2\x9b");  // C1 control U+009B
  EXPECT_EQ(out, "\"\\u009b\"");
  out.clear();
  append_json_string(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(out, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  out.clear();
  append_json_string(out, "bad\xff\xc3");  // invalid bytes -> U+FFFD each
  EXPECT_EQ(out, "\"bad\xef\xbf\xbd\xef\xbf\xbd\"");
}

TEST(Json, Structure) {
  JsonWriter w;
  w.begin_object()
      .key("a")
      .value(std::uint64_t{1})
      .key("b")
      .begin_array()
      .value("x")
      .value(true)
      .null()
      .begin_object()
      .end_object()
      .begin_array()
      .end_array()
      .end_array()
      .key("c")
      .value(std::int64_t{-5})
      .key("d")
      .value(std::uint64_t{18446744073709551615ULL})
      .end_object();
  EXPECT_EQ(w.str(), "{\"a\":1,\"b\":[\"x\",true,null,{},[]],\"c\":-5,\"d\":18446744073709551615}");
}

TEST(Json, KeysAreEscapedToo) {
  JsonWriter w;
  w.begin_object().key("k\"\n").value(false).end_object();
  EXPECT_EQ(w.str(), "{\"k\\\"\\n\":false}");
}

}  // namespace
}  // namespace wsheart::cli
