// Puts cursor values into a user's url, header values and on_open frames.
// Pure. Templates were checked by the config loader; a malformed one is
// returned as written.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace wsheart::resume {

using CursorValues = std::map<std::string, std::string>;  // name -> value; unset = absent

// Values percent-encoded; a query parameter whose whole value is an unset
// placeholder is left out ("?since={cursor.id}&poll=1" -> "?poll=1").
std::string render_url(std::string_view url_template, const CursorValues& values);
// Raw values; "" means the header is not sent.
std::string render_header(std::string_view value_template, const CursorValues& values);
// {cursor.NAME}: the raw value ("" when unset); {cursor.NAME|json}: a JSON
// string, or null when unset.
std::string render_frame(std::string_view frame_template, const CursorValues& values);

bool has_placeholder(std::string_view text);

}  // namespace wsheart::resume
