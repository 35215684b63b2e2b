// encoding: base64, UTF-8, HTTP tokens, ASCII case.
#include "encoding.hpp"

#include <gtest/gtest.h>

#include <string>

namespace wsheart::encoding {
namespace {

TEST(Encoding, Base64Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
  for (const std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(base64_decode(base64_encode(text)), text);
  }
}

TEST(Encoding, Base64DecodeIsStrict) {
  EXPECT_EQ(base64_decode("Zm9v"), "foo");
  EXPECT_EQ(base64_decode("Zg"), "f");  // unpadded is accepted
  EXPECT_EQ(base64_decode("Zm9v!"), std::nullopt);
  EXPECT_EQ(base64_decode("Zg=a"), std::nullopt);  // data after padding
  EXPECT_EQ(base64_decode("Z==="), std::nullopt);
  EXPECT_EQ(base64_decode("Zg="), std::nullopt);   // padded but not a multiple of 4
  EXPECT_EQ(base64_decode("Zm-_"), std::nullopt);  // URL alphabet
}

TEST(Encoding, Utf8DecodingRejectsBadForms) {
  EXPECT_FALSE(decode_utf8("\xc0\xaf", 0).valid);          // overlong
  EXPECT_FALSE(decode_utf8("\xed\xa0\x80", 0).valid);      // surrogate
  EXPECT_FALSE(decode_utf8("\xf4\x90\x80\x80", 0).valid);  // > U+10FFFF
  EXPECT_FALSE(decode_utf8("\xe2\x82", 0).valid);          // truncated
  EXPECT_FALSE(decode_utf8("\x80", 0).valid);              // stray continuation
  const Utf8Char euro = decode_utf8("\xe2\x82\xac", 0);
  EXPECT_TRUE(euro.valid);
  EXPECT_EQ(euro.code, 0x20ACU);
  EXPECT_EQ(euro.length, 3U);
}

TEST(Encoding, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("caf\xc3"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));
  EXPECT_FALSE(is_valid_utf8("ok\xff"));
}

TEST(Encoding, HttpToken) {
  EXPECT_TRUE(is_http_token("X-Api-Key"));
  EXPECT_TRUE(is_http_token("!#$%&'*+-.^_`|~09azAZ"));
  EXPECT_FALSE(is_http_token(""));
  EXPECT_FALSE(is_http_token("X Key"));
  EXPECT_FALSE(is_http_token("X:Key"));
  EXPECT_FALSE(is_http_token("caf\xc3\xa9"));
  EXPECT_FALSE(is_http_token(std::string("a\0b", 3)));
}

TEST(Encoding, AsciiLowercase) {
  EXPECT_EQ(ascii_lowercase("Sec-WebSocket-Key"), "sec-websocket-key");
  EXPECT_EQ(ascii_lowercase("\xc3\x89"), "\xc3\x89");  // bytes above ASCII are kept
}

}  // namespace
}  // namespace wsheart::encoding
