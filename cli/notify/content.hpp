// How one wsheartd message becomes a desktop notification's text: plain
// text, or fields picked from a JSON message with JSON pointers. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace wsheart::cli::notify {

// org.freedesktop.Notifications "urgency" hint values.
enum class Urgency : std::uint8_t { Low = 0, Normal = 1, Critical = 2 };

// JSON pointers (RFC 6901, "/title") into a JSON message; empty = unused.
struct ContentPointers {
  std::string summary;
  std::string body;
  std::string priority;
};

struct Content {
  std::string summary;
  std::string body;  // plain text; escaped for markup by the sender when needed
  Urgency urgency = Urgency::Normal;
};

// Priority 0-3 low, 4-7 normal, 8-10 critical; out of range is clamped.
Urgency urgency_for_priority(std::int64_t priority);

// A text that is a JSON object (or array) uses the pointers that resolve;
// anything else (plain text, a pointer that does not resolve) falls back to
// summary = user id, body = the whole text, normal urgency.
Content message_content(const std::string& user, const std::string& text, const ContentPointers& pointers);

// & < > ' " as entities: for servers advertising "body-markup".
std::string escape_markup(const std::string& text);

// Notification servers show a few lines; a megabyte body helps nobody.
std::string shorten(const std::string& text, std::size_t max_bytes);

}  // namespace wsheart::cli::notify
