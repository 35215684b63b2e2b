// A small streaming JSON writer: compact output, correct string escaping.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsheart::cli {

// Appends `text` as a JSON string literal (with quotes) to `out`: ", \ and
// control characters are escaped, DEL and C1 controls as \u00XX, and bytes
// that are not valid UTF-8 become U+FFFD.
void append_json_string(std::string& out, std::string_view text);

// Usage: JsonWriter w; w.begin_object().key("a").value(1).end_object(); w.str().
// Commas are inserted automatically. Misuse (a value without a key inside an
// object) is a programming error and is not diagnosed.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(std::uint64_t number);
  JsonWriter& value(std::uint32_t number) { return value(static_cast<std::uint64_t>(number)); }
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(bool flag);
  JsonWriter& null();

  const std::string& str() const { return out_; }

 private:
  void before_value();
  std::string out_;
  // One entry per open container: true once it holds an element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

}  // namespace wsheart::cli
