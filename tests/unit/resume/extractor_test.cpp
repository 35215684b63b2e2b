#include <gtest/gtest.h>

#include <string>

#include "resume/extractor.hpp"

namespace wsheart::resume {
namespace {

using config::CursorCondition;
using config::CursorRule;
using config::CursorSource;

CursorRule json(const std::string& name, const std::string& pointer) { return {name, CursorSource::Json, pointer}; }
CursorRule regex(const std::string& name, const std::string& pattern) { return {name, CursorSource::Regex, pattern}; }

TEST(Extractor, JsonStringNumberAndNested) {
  const Extractor x({json("id", "/id"), json("offset", "/pos/offset"), json("epoch", "/pos/epoch")}, std::nullopt);
  const auto update = x.extract(R"({"id":"abc","pos":{"offset":42,"epoch":"e1"},"message":"hi"})");
  EXPECT_EQ(update, (CursorUpdate{{"id", "abc"}, {"offset", "42"}, {"epoch", "e1"}}));
}

TEST(Extractor, PointerEscapesAndArrays) {
  const Extractor x({json("a", "/a~1b/0"), json("t", "/t~0")}, std::nullopt);
  EXPECT_EQ(x.extract(R"({"a/b":["first"],"t~":true})"), (CursorUpdate{{"a", "first"}, {"t", "true"}}));
}

TEST(Extractor, NotJsonOrMissingOrNonScalarMovesNothing) {
  const Extractor x({json("id", "/id")}, std::nullopt);
  EXPECT_TRUE(x.extract("plain text").empty());
  EXPECT_TRUE(x.extract(R"({"other":1})").empty());
  EXPECT_TRUE(x.extract(R"({"id":{"x":1}})").empty());
  EXPECT_TRUE(x.extract(R"({"id":null})").empty());
  EXPECT_TRUE(x.extract(R"({"id":""})").empty());
  EXPECT_TRUE(x.extract(R"([1,2])").empty());
  EXPECT_TRUE(x.extract(R"({"id":"a)").empty());
}

TEST(Extractor, ValuesWithControlCharactersAreIgnored) {
  const Extractor x({json("id", "/id")}, std::nullopt);
  EXPECT_TRUE(x.extract(R"({"id":"a\r\nX-Evil: 1"})").empty());
  EXPECT_TRUE(x.extract("{\"id\":\"" + std::string(Extractor::kLongestValue + 1, 'x') + "\"}").empty());
  EXPECT_EQ(x.extract("{\"id\":\"" + std::string(Extractor::kLongestValue, 'x') + "\"}").size(), 1u);
}

TEST(Extractor, ConditionSelectsMessages) {
  const Extractor x({json("id", "/id")}, CursorCondition{"/event", "message"});
  EXPECT_EQ(x.extract(R"({"event":"message","id":"m1"})"), (CursorUpdate{{"id", "m1"}}));
  EXPECT_TRUE(x.extract(R"({"event":"keepalive","id":"k1"})").empty());
  EXPECT_TRUE(x.extract(R"({"id":"k1"})").empty());
  EXPECT_TRUE(x.extract("not json").empty());
  const Extractor number({json("id", "/id")}, CursorCondition{"/type", "7"});
  EXPECT_EQ(number.extract(R"({"type":7,"id":"n"})").size(), 1u);
  EXPECT_TRUE(number.extract(R"({"type":8,"id":"n"})").empty());
}

TEST(Extractor, RegexTakesTheGroup) {
  const Extractor x({regex("id", R"(id=(\d+))")}, std::nullopt);
  EXPECT_EQ(x.extract("event id=123 ok"), (CursorUpdate{{"id", "123"}}));
  EXPECT_TRUE(x.extract("no number here").empty());
}

TEST(Extractor, RegexSeesOnlyABoundedPrefix) {
  const Extractor x({regex("id", R"(id=(\d+))")}, std::nullopt);
  const std::string late = std::string(Extractor::kRegexPrefix, 'a') + "id=5";
  EXPECT_TRUE(x.extract(late).empty());
  // A pattern that recurses per character survives a megabyte of input.
  const Extractor greedy({regex("last", "(?:a|b)*(a)")}, std::nullopt);
  EXPECT_EQ(greedy.extract(std::string(1 << 20, 'a')), (CursorUpdate{{"last", "a"}}));
}

TEST(Extractor, RegexAndJsonTogetherOnNonJson) {
  const Extractor x({json("id", "/id"), regex("n", R"(n=(\w+))")}, std::nullopt);
  EXPECT_EQ(x.extract("n=zz"), (CursorUpdate{{"n", "zz"}}));
}

TEST(Extractor, NoRulesIsEmpty) {
  const Extractor x({}, std::nullopt);
  EXPECT_TRUE(x.empty());
  EXPECT_TRUE(x.extract(R"({"id":1})").empty());
}

}  // namespace
}  // namespace wsheart::resume
