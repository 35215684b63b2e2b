#include <gtest/gtest.h>

#include "resume/render.hpp"

namespace wsheart::resume {
namespace {

TEST(RenderUrl, SetValuesArePercentEncoded) {
  EXPECT_EQ(render_url("wss://h/t/ws?since={cursor.id}", {{"id", "a b&c"}}), "wss://h/t/ws?since=a%20b%26c");
  EXPECT_EQ(render_url("ws://h/{cursor.p}/x", {{"p", "a/b"}}), "ws://h/a%2Fb/x");
}

TEST(RenderUrl, UnsetParameterIsLeftOut) {
  EXPECT_EQ(render_url("wss://h/ws?since={cursor.id}", {}), "wss://h/ws");
  EXPECT_EQ(render_url("wss://h/ws?since={cursor.id}&poll=1", {}), "wss://h/ws?poll=1");
  EXPECT_EQ(render_url("wss://h/ws?a=1&since={cursor.id}&b=2", {}), "wss://h/ws?a=1&b=2");
  EXPECT_EQ(render_url("wss://h/ws?a=1&since={cursor.id}", {{"id", "7"}}), "wss://h/ws?a=1&since=7");
}

TEST(RenderUrl, PartlyTemplatedParameterStays) {
  EXPECT_EQ(render_url("wss://h/ws?since=x{cursor.id}", {}), "wss://h/ws?since=x");
  EXPECT_EQ(render_url("wss://h/ws?o={cursor.o}:{cursor.e}", {{"o", "1"}}), "wss://h/ws?o=1:");
}

TEST(RenderUrl, NoPlaceholderIsUnchanged) {
  EXPECT_EQ(render_url("wss://h/ws?a=1&&b", {{"id", "1"}}), "wss://h/ws?a=1&&b");
}

TEST(RenderHeader, RawOrEmpty) {
  EXPECT_EQ(render_header("{cursor.id}", {{"id", "ev-9"}}), "ev-9");
  EXPECT_EQ(render_header("{cursor.id}", {}), "");
  EXPECT_EQ(render_header("Bearer t", {}), "Bearer t");
}

TEST(RenderFrame, RawAndJson) {
  const CursorValues values{{"id", "m\"1"}};
  EXPECT_EQ(render_frame(R"({"last":{cursor.id|json}})", values), R"({"last":"m\"1"})");
  EXPECT_EQ(render_frame(R"({"last":{cursor.id|json}})", {}), R"({"last":null})");
  EXPECT_EQ(render_frame("since {cursor.id}", values), "since m\"1");
  EXPECT_EQ(render_frame("since {cursor.id}", {}), "since ");
  EXPECT_EQ(render_frame("{no placeholder}", values), "{no placeholder}");
}

TEST(RenderFrame, InvalidUtf8IsReplacedInJson) {
  EXPECT_EQ(render_frame("{cursor.id|json}", {{"id", "a\xff"}}), "\"a\xEF\xBF\xBD\"");
}

}  // namespace
}  // namespace wsheart::resume
