// Table-driven: each bad config with the exact diagnostics it must produce,
// positions included. A case passes only if the load fails and the complete
// diagnostic list matches, so a missing, extra or misplaced message fails it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ostream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "config.hpp"

namespace wsheart::config {
namespace {

struct BadConfig {
  const char* name;
  std::string toml;
  std::vector<std::string> expected;  // Diagnostic::to_string() lines, in order
};

void PrintTo(const BadConfig& bad, std::ostream* out) { *out << bad.name; }

// Prepended to cases that are about something else than a missing url.
const std::string kUrl = "url = \"ws://h/\"\n";
// A valid user up to line 3; the case's own lines start at line 4.
const std::string kUser = "[[user]]\nid = \"a\"\n" + kUrl;

// libstdc++'s own words for a regex that does not compile.
std::string regex_error_text(const char* pattern) {
  try {
    std::regex compiled(pattern);
  } catch (const std::regex_error& failure) {
    return failure.what();
  }
  return "(compiled)";
}

std::vector<BadConfig> bad_configs() {
  const std::string long_id(256, 'x');
  return {
      // --- TOML syntax: toml++ stops at the first one
      {"SyntaxMissingValue", "[daemon]\nmax_handshakes =\n",
       {"bad.toml:2:17: Error while parsing key-value pair: expected value, saw '\\n'"}},
      {"SyntaxDuplicateKey", "[defaults]\nhistory = 1\nhistory = 2\n",
       {"bad.toml:3:11: Error while parsing key-value pair: cannot redefine existing integer 'history'"}},
      {"SyntaxInvalidUtf8", "[[user]]\nid = \"\xff\"\n",
       {"bad.toml:2:6: Encountered invalid utf-8 sequence"}},
      {"SyntaxUnterminatedString", "[defaults]\nurl = \"ws://h/\n",
       {"bad.toml:2:15: Error while parsing string: unescaped control characters other than TAB (U+0009) are "
        "explicitly prohibited"}},

      // An unquoted value is not echoed: it is likely a secret (only one character of it is shown).
      {"SyntaxUnquotedSecretNotEchoed", "[defaults]\nheaders = { Authorization = tokS3cr3t }\n",
       {"bad.toml:2:30: Error while parsing boolean: expected 'true', saw unexpected text"}},

      // --- unknown and misplaced keys (position: the key)
      {"UnknownTopLevelTableSuggestion", "[defaultz]\n",
       {"bad.toml:1:1: warning: no [[user]] tables: the daemon will start with nothing to do",
        "bad.toml:1:2: unknown key 'defaultz' at the top level; did you mean 'defaults'?"}},
      {"UnknownDefaultsKeySuggestion", "[defaults]\nhearbeat_interval = \"5s\"\n",
       {"bad.toml:1:1: warning: no [[user]] tables: the daemon will start with nothing to do",
        "bad.toml:2:1: unknown key 'hearbeat_interval' in [defaults]; did you mean 'heartbeat_interval'?"}},
      {"UnknownUserKeyCaseSuggestion", "[[user]]\nid = \"a\"\n" + kUrl + "URL = \"ws://x/\"\n",
       {"bad.toml:4:1: unknown key 'URL' in [[user]]; did you mean 'url'?"}},
      {"UnknownUserKeyNoSuggestion", "[[user]]\nid = \"a\"\n" + kUrl + "colour = 1\n",
       {"bad.toml:4:1: unknown key 'colour' in [[user]]"}},
      {"UnknownDaemonKey", "[daemon]\nmax_handshake = 3\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:1: unknown key 'max_handshake' in [daemon]; did you mean 'max_handshakes'?"}},
      {"UnknownDottedKey", "[[user]]\nid = \"a\"\n" + kUrl + "  tls.verify = false\n",
       {"bad.toml:4:3: unknown key 'tls' in [[user]]"}},
      {"MaxHandshakesInDefaults", "[defaults]\nmax_handshakes = 4\n" + kUrl + "[[user]]\nid = \"a\"\n",
       {"bad.toml:2:1: 'max_handshakes' belongs in [daemon]"}},
      {"IdInDefaults", "[defaults]\nid = \"a\"\n" + kUrl + "[[user]]\nid = \"b\"\n",
       {"bad.toml:2:1: 'id' belongs in each [[user]], not in [defaults]"}},
      {"UserKeyAtTopLevel", kUrl + "[[user]]\nid = \"b\"\n",
       {"bad.toml:1:1: 'url' must be inside [defaults] or a [[user]] table",
        "bad.toml:2:1: [[user]] 'b' has no url (set url here or in [defaults])"}},
      {"UserKeyInDaemon", "[daemon]\nheartbeat = \"ping\"\n[defaults]\n" + kUrl + "[[user]]\nid = \"a\"\n",
       {"bad.toml:2:1: 'heartbeat' belongs in [defaults] or [[user]], not in [daemon]"}},

      // --- wrong types (position: the value)
      {"StringGotInteger", "[defaults]\n" + kUrl + "heartbeat_payload = 5\n[[user]]\nid = \"a\"\n",
       {"bad.toml:3:21: heartbeat_payload: expected a string, got integer"}},
      {"DurationGotInteger", "[defaults]\n" + kUrl + "heartbeat_interval = 5\n[[user]]\nid = \"a\"\n",
       {"bad.toml:3:22: heartbeat_interval: expected a duration string such as \"5s\", got integer"}},
      {"BoolGotString", "[[user]]\nid = \"a\"\n" + kUrl + "tls_verify = \"yes\"\n",
       {"bad.toml:4:14: tls_verify: expected true or false, got string"}},
      {"IdGotInteger", "[[user]]\nid = 7\n" + kUrl,
       {"bad.toml:2:6: id: expected a string, got integer"}},
      {"UrlGotArray", "[[user]]\nid = \"a\"\nurl = [\"ws://h/\"]\n",
       {"bad.toml:3:7: url: expected a string, got array"}},
      {"DaemonNotATable", "daemon = 5\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:1:10: daemon: expected a table ([daemon]), got integer"}},
      {"DefaultsNotATable", "defaults = [1]\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:1:12: defaults: expected a table ([defaults]), got array"}},
      {"UserIsASingleTable", "[user]\nid = \"a\"\n" + kUrl,
       {"bad.toml:1:1: user: expected [[user]] tables, got table"}},
      {"UserElementNotATable", "user = [{ id = \"a\", url = \"ws://h/\" }, 5]\n",
       {"bad.toml:1:40: user[1]: expected a table, got integer"}},
      {"DateIsNotADuration", "[[user]]\nid = \"a\"\n" + kUrl + "stable_after = 1979-05-27\n",
       {"bad.toml:4:16: stable_after: expected a duration string such as \"5s\", got date"}},

      // --- durations
      {"BadUnit", "[[user]]\nid = \"a\"\n" + kUrl + "heartbeat_timeout = \"5x\"\n",
       {"bad.toml:4:21: heartbeat_timeout: bad duration \"5x\": unknown unit 'x' (use ms, s, m or h)"}},
      {"MissingUnit", "[[user]]\nid = \"a\"\n" + kUrl + "heartbeat_timeout = \"5\"\n",
       {"bad.toml:4:21: heartbeat_timeout: bad duration \"5\": missing unit (use ms, s, m or h)"}},
      {"ZeroTime", "[[user]]\nid = \"a\"\n" + kUrl + "connect_timeout = \"0s\"\n",
       {"bad.toml:4:19: connect_timeout: must be positive, got \"0s\""}},
      {"NegativeTime", "[[user]]\nid = \"a\"\n" + kUrl + "reconnect_initial = \"-1s\"\n",
       {"bad.toml:4:21: reconnect_initial: bad duration \"-1s\": a duration cannot be negative"}},
      {"TooShortTime", "[[user]]\nid = \"a\"\n" + kUrl + "heartbeat_interval = \"5ms\"\n",
       {"bad.toml:4:22: heartbeat_interval: must be at least 10ms, got \"5ms\""}},
      {"LongerThanADay", "[[user]]\nid = \"a\"\n" + kUrl + "heartbeat_interval = \"24h1ms\"\n",
       {"bad.toml:4:22: heartbeat_interval: must be at most 24h, got \"24h1ms\""}},
      {"AbsurdHours", "[[user]]\nid = \"a\"\n" + kUrl + "fatal_backoff = \"99999999999h\"\n",
       {"bad.toml:4:17: fatal_backoff: must be at most 24h, got \"99999999999h\""}},
      {"OverflowingHours", "[[user]]\nid = \"a\"\n" + kUrl + "stable_after = \"99999999999999999999h\"\n",
       {"bad.toml:4:16: stable_after: bad duration \"99999999999999999999h\": duration is too large"}},
      {"SubMillisecond", "[[user]]\nid = \"a\"\n" + kUrl + "reconnect_max = \"1.5ms\"\n",
       {"bad.toml:4:17: reconnect_max: bad duration \"1.5ms\": finer than a millisecond"}},
      {"ControlCharacterEchoedEscaped", "[[user]]\nid = \"a\"\n" + kUrl + "reconnect_max = \"1\\ns\"\n",
       {"bad.toml:4:17: reconnect_max: bad duration \"1\\ns\": missing unit (use ms, s, m or h)"}},

      // --- reconnect policy
      {"ReconnectMaxBelowInitialInDefaults",
       "[defaults]\n" + kUrl + "reconnect_initial = \"2s\"\nreconnect_max = \"1s\"\n[[user]]\nid = \"a\"\n[[user]]\nid = \"b\"\n",
       {"bad.toml:4:17: reconnect_max (1s) is shorter than reconnect_initial (2s)"}},
      {"ReconnectInitialAboveInheritedMax",
       "[defaults]\n" + kUrl + "reconnect_max = \"30s\"\n[[user]]\nid = \"a\"\nreconnect_initial = \"1m\"\n",
       {"bad.toml:6:21: reconnect_max (30s) is shorter than reconnect_initial (1m)"}},
      {"MultiplierBelowOne", "[[user]]\nid = \"a\"\n" + kUrl + "reconnect_multiplier = 0.5\n",
       {"bad.toml:4:24: reconnect_multiplier: must be at least 1 (1 keeps the delay constant), got 0.5"}},
      {"MultiplierHuge", "[[user]]\nid = \"a\"\n" + kUrl + "reconnect_multiplier = 1000\n",
       {"bad.toml:4:24: reconnect_multiplier: must be at most 100, got 1000"}},
      {"MultiplierNan", "[[user]]\nid = \"a\"\n" + kUrl + "reconnect_multiplier = nan\n",
       {"bad.toml:4:24: reconnect_multiplier: must be a finite number"}},
      {"MultiplierString", "[[user]]\nid = \"a\"\n" + kUrl + "reconnect_multiplier = \"2\"\n",
       {"bad.toml:4:24: reconnect_multiplier: expected a number, got string"}},
      {"JitterUnknown", "[[user]]\nid = \"a\"\n" + kUrl + "reconnect_jitter = \"half\"\n",
       {"bad.toml:4:20: reconnect_jitter: unknown jitter \"half\" (expected \"full\" or \"none\")"}},
      {"HeartbeatUnknown", "[[user]]\nid = \"a\"\n" + kUrl + "heartbeat = \"pong\"\n",
       {"bad.toml:4:13: heartbeat: unknown mode \"pong\" (expected \"text\", \"ping\" or \"off\")"}},
      {"HeartbeatWrongCase", "[[user]]\nid = \"a\"\n" + kUrl + "heartbeat = \"Ping\"\n",
       {"bad.toml:4:13: heartbeat: unknown mode \"Ping\" (expected \"text\", \"ping\" or \"off\")"}},

      // --- URLs
      {"UrlHttpScheme", "[[user]]\nid = \"a\"\nurl = \"http://h/\"\n",
       {"bad.toml:3:7: url: unsupported scheme 'http' (only ws:// and wss://)"}},
      {"UrlNoScheme", "[[user]]\nid = \"a\"\nurl = \"crm.example.com/ws\"\n",
       {"bad.toml:3:7: url: URL has no scheme (expected ws:// or wss://)"}},
      {"UrlWithSpace", "[[user]]\nid = \"a\"\nurl = \"ws://h/a b\"\n",
       {"bad.toml:3:7: url: URL contains a space (percent-encode it as %20)"}},
      {"UrlBadPort", "[[user]]\nid = \"a\"\nurl = \"wss://h:99999/\"\n",
       {"bad.toml:3:7: url: port out of range (1-65535)"}},
      {"UrlIdInPort", "[defaults]\nurl = \"ws://h:{id}/\"\n[[user]]\nid = \"a\"\n",
       {"bad.toml:2:7: url: port is not a number"}},
      {"UrlUnknownPlaceholder", "[defaults]\nurl = \"ws://h/?u={user}\"\n[[user]]\nid = \"a\"\n",
       {"bad.toml:2:7: url: URL contains '{', which must be percent-encoded"}},
      {"UrlMissing", "[[user]]\nid = \"a\"\n",
       {"bad.toml:1:1: [[user]] 'a' has no url (set url here or in [defaults])"}},
      {"UrlMissingIndentedTable", "[daemon]\nmax_handshakes = 2\n\n  [[user]]\n  id = \"a\"\n",
       {"bad.toml:4:3: [[user]] 'a' has no url (set url here or in [defaults])"}},

      // --- ids
      {"IdMissing", "[defaults]\n" + kUrl + "[[user]]\nheartbeat = \"off\"\n",
       {"bad.toml:3:1: [[user]] has no id"}},
      {"IdEmpty", "[defaults]\n" + kUrl + "[[user]]\nid = \"\"\n",
       {"bad.toml:4:6: id: must not be empty"}},
      {"IdDuplicate", "[defaults]\n" + kUrl + "[[user]]\nid = \"alice\"\n[[user]]\nid = \"bob\"\n[[user]]\n  id = \"alice\"\n",
       {"bad.toml:8:8: duplicate id 'alice' (first defined at 4:6)"}},
      {"IdTooLong", "[defaults]\n" + kUrl + "[[user]]\nid = \"" + long_id + "\"\n",
       {"bad.toml:4:6: id: longer than 255 bytes (256)"}},
      {"IdControlCharacter", "[defaults]\n" + kUrl + "[[user]]\nid = \"a\\nb\"\n",
       {"bad.toml:4:6: id: contains a control character"}},

      // --- files and users
      {"CaFileUnreadable", "[[user]]\nid = \"a\"\n" + kUrl + "ca_file = \"/nonexistent/ca.pem\"\n",
       {"bad.toml:4:11: ca_file: cannot read '/nonexistent/ca.pem': No such file or directory"}},
      {"ClientCertUnreadable", "[[user]]\nid = \"a\"\n" + kUrl + "client_cert = \"/nonexistent/c.pem\"\nclient_key = \"/dev/null\"\n",
       {"bad.toml:4:15: client_cert: cannot read '/nonexistent/c.pem': No such file or directory"}},
      {"ClientKeyUnreadable", "[[user]]\nid = \"a\"\n" + kUrl + "client_cert = \"/dev/null\"\nclient_key = \"/nonexistent/k.pem\"\n",
       {"bad.toml:5:14: client_key: cannot read '/nonexistent/k.pem': No such file or directory"}},
      {"ClientKeyRelativeWithoutCredentials", "[[user]]\nid = \"a\"\n" + kUrl + "client_cert = \"/dev/null\"\nclient_key = \"key.pem\"\n",
       {"bad.toml:5:14: client_key: relative path 'key.pem' needs $CREDENTIALS_DIRECTORY (set by systemd's "
        "LoadCredential=); otherwise use an absolute path"}},
      {"ClientKeyWithoutCert", "[[user]]\nid = \"a\"\n" + kUrl + "client_key = \"/dev/null\"\n",
       {"bad.toml:4:14: client_key is set but client_cert is not (they go together)"}},
      {"ClientCertWithoutKeyInDefaultsReportedOnce",
       "[defaults]\n" + kUrl + "client_cert = \"/dev/null\"\n[[user]]\nid = \"a\"\n[[user]]\nid = \"b\"\n",
       {"bad.toml:3:15: client_cert is set but client_key is not (they go together)"}},
      {"ClientCertInDefaultsKeyClearedByUser",
       "[defaults]\n" + kUrl + "client_cert = \"/dev/null\"\nclient_key = \"/dev/null\"\n[[user]]\nid = \"a\"\n"
       "client_key = \"\"\n",
       {"bad.toml:7:14: client_cert is set but client_key is not (they go together)"}},
      {"ClientCertWrongType", "[[user]]\nid = \"a\"\n" + kUrl + "client_cert = 1\n",
       {"bad.toml:4:15: client_cert: expected a string, got integer"}},
      {"PinNotBase64", "[[user]]\nid = \"a\"\n" + kUrl + "pin_sha256 = \"sha256//not*base64\"\n",
       {"bad.toml:4:14: pin_sha256: not base64 (write the base64 SHA-256 of the server's public key, "
        "e.g. \"sha256//AbC...=\")"}},
      {"PinWrongLength", "[[user]]\nid = \"a\"\n" + kUrl + "pin_sha256 = [\"AAAA\"]\n",
       {"bad.toml:4:15: pin_sha256[0]: expected the base64 of a 32-byte SHA-256 digest, got 3 bytes (write the "
        "base64 SHA-256 of the server's public key, e.g. \"sha256//AbC...=\")"}},
      {"PinWrongType", "[[user]]\nid = \"a\"\n" + kUrl + "pin_sha256 = 5\n",
       {"bad.toml:4:14: pin_sha256: expected a string or an array of strings, got integer"}},
      {"PinArrayElementWrongType", "[[user]]\nid = \"a\"\n" + kUrl +
       "pin_sha256 = [\"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\", 1]\n",
       {"bad.toml:4:63: pin_sha256[1]: expected a string, got integer"}},
      {"PinBadPadding", "[[user]]\nid = \"a\"\n" + kUrl + "pin_sha256 = \"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF=U\"\n",
       {"bad.toml:4:14: pin_sha256: not base64 (write the base64 SHA-256 of the server's public key, "
        "e.g. \"sha256//AbC...=\")"}},
      {"ProxySocks5", kUser + "proxy = \"socks5://u:pw@s:1080\"\n",
       {"bad.toml:4:9: proxy: socks5:// proxies are not supported (only http:// proxies, through HTTP CONNECT)"}},
      {"ProxyHttpsScheme", kUser + "proxy = \"https://p:443\"\n",
       {"bad.toml:4:9: proxy: https:// proxies are not supported (only http:// proxies, through HTTP CONNECT)"}},
      {"ProxyNoScheme", kUser + "proxy = \"p:3128\"\n",
       {"bad.toml:4:9: proxy: expected \"env\", \"none\" or a proxy URL such as \"http://proxy.example:3128\""}},
      {"ProxyWrongType", kUser + "proxy = 3128\n", {"bad.toml:4:9: proxy: expected a string, got integer"}},
      {"ProxyBadPortInDefaults", "[defaults]\nproxy = \"http://p:99999\"\n" + kUser,
       {"bad.toml:2:9: proxy: proxy port must be 1-65535"}},
      {"ProxyWithPath", kUser + "proxy = \"http://p:3128/x\"\n",
       {"bad.toml:4:9: proxy: a proxy URL has no path (expected http://host:port)"}},
      {"NoProxyWrongType", kUser + "no_proxy = [\"a\"]\n", {"bad.toml:4:12: no_proxy: expected a string, got array"}},
      {"ProxyAuthFileUnreadable", kUser + "proxy_auth_file = \"/nonexistent/auth\"\n",
       {"bad.toml:4:19: proxy_auth_file: cannot read '/nonexistent/auth': No such file or directory"}},
      {"ProxyAuthFileRelativeWithoutCredentials", kUser + "proxy_auth_file = \"proxy-auth\"\n",
       {"bad.toml:4:19: proxy_auth_file: relative path 'proxy-auth' needs $CREDENTIALS_DIRECTORY (set by systemd's "
        "LoadCredential=); otherwise use an absolute path"}},
      {"ProxyKeyTypo", kUser + "proxi = \"none\"\n", {"bad.toml:4:1: unknown key 'proxi' in [[user]]; did you mean 'proxy'?"}},
      {"HeadersFileUnreadable", "[[user]]\nid = \"a\"\n" + kUrl + "headers_file = \"/nonexistent/headers\"\n",
       {"bad.toml:4:16: headers_file: cannot read '/nonexistent/headers': No such file or directory"}},
      {"HeadersFileRelativeWithoutCredentials", "[[user]]\nid = \"a\"\n" + kUrl + "headers_file = \"headers\"\n",
       {"bad.toml:4:16: headers_file: relative path 'headers' needs $CREDENTIALS_DIRECTORY (set by systemd's "
        "LoadCredential=); otherwise use an absolute path"}},
      {"UnixUserUnknown", "[[user]]\nid = \"a\"\n" + kUrl + "unix_user = \"no-such-user-wsheart\"\n",
       {"bad.toml:4:13: unix_user: no such Unix user 'no-such-user-wsheart'"}},
      {"UnixUserNegative", "[[user]]\nid = \"a\"\n" + kUrl + "unix_user = -1\n",
       {"bad.toml:4:13: unix_user: uid must be between 0 and 4294967294, got -1"}},
      {"UnixUserHugeNumericString", "[[user]]\nid = \"a\"\n" + kUrl + "unix_user = \"4294967295\"\n",
       {"bad.toml:4:13: unix_user: uid must be between 0 and 4294967294, got 4294967295"}},
      {"UnixUserBoolean", "[[user]]\nid = \"a\"\n" + kUrl + "unix_user = true\n",
       {"bad.toml:4:13: unix_user: expected a user name or uid, got boolean"}},

      // --- headers and on_open
      {"HeadersNotATable", "[[user]]\nid = \"a\"\n" + kUrl + "headers = \"Authorization: x\"\n",
       {"bad.toml:4:11: headers: expected a table of strings such as { Authorization = \"...\" }, got string"}},
      {"HeaderValueNotAString", "[[user]]\nid = \"a\"\n" + kUrl + "headers = { X-Count = 3 }\n",
       {"bad.toml:4:23: headers.X-Count: expected a string, got integer"}},
      {"HeaderBadName", "[[user]]\nid = \"a\"\n" + kUrl + "headers = { \"Bad Name\" = \"x\" }\n",
       {"bad.toml:4:13: headers: 'Bad Name' is not a valid HTTP header name"}},
      {"HeaderHandshakeOwned", "[[user]]\nid = \"a\"\n" + kUrl + "headers = { upgrade = \"h2c\" }\n",
       {"bad.toml:4:13: headers: 'upgrade' is set by the WebSocket handshake and cannot be overridden"}},
      {"HeaderDuplicateIgnoringCase",
       "[[user]]\nid = \"a\"\n" + kUrl + "[user.headers]\nauthorization = \"a\"\nAuthorization = \"b\"\n",
       {"bad.toml:6:1: headers: 'Authorization' repeats 'authorization' (header names are case-insensitive)"}},
      {"HeaderValueInjection", "[[user]]\nid = \"a\"\n" + kUrl + "headers = { X-A = \"1\\r\\nHost: evil\" }\n",
       {"bad.toml:4:19: headers.X-A: value contains a control character"}},
      {"OnOpenNotAnArray", "[[user]]\nid = \"a\"\n" + kUrl + "on_open = \"hello\"\n",
       {"bad.toml:4:11: on_open: expected an array of strings, got string"}},
      {"OnOpenElementNotAString", "[[user]]\nid = \"a\"\n" + kUrl + "on_open = [\"a\", 2, \"c\", true]\n",
       {"bad.toml:4:17: on_open[1]: expected a string, got integer",
        "bad.toml:4:25: on_open[3]: expected a string, got boolean"}},

      // --- counts and sizes
      {"SendQueueNegative", "[[user]]\nid = \"a\"\n" + kUrl + "send_queue_limit = -1\n",
       {"bad.toml:4:20: send_queue_limit: must be between 0 and 1000000, got -1"}},
      {"SendQueueString", "[[user]]\nid = \"a\"\n" + kUrl + "send_queue_limit = \"10\"\n",
       {"bad.toml:4:20: send_queue_limit: expected an integer, got string"}},
      {"HistoryHuge", "[[user]]\nid = \"a\"\n" + kUrl + "history = 100001\n",
       {"bad.toml:4:11: history: must be between 0 and 100000, got 100001"}},
      {"MessageSizeZero", "[[user]]\nid = \"a\"\n" + kUrl + "max_message_size = 0\n",
       {"bad.toml:4:20: max_message_size: must be positive, got 0"}},
      {"MessageSizeZeroString", "[[user]]\nid = \"a\"\n" + kUrl + "max_message_size = \"0KiB\"\n",
       {"bad.toml:4:20: max_message_size: must be positive, got \"0KiB\""}},
      {"MessageSizeTooBig", "[[user]]\nid = \"a\"\n" + kUrl + "max_message_size = \"2GiB\"\n",
       {"bad.toml:4:20: max_message_size: must be at most 1GiB, got \"2GiB\""}},
      {"MessageSizeBadUnit", "[[user]]\nid = \"a\"\n" + kUrl + "max_message_size = \"1M\"\n",
       {"bad.toml:4:20: max_message_size: bad size \"1M\": unknown unit 'M' (use B, KiB, MiB, GiB, TiB for "
        "powers of 1024 or KB, MB, GB, TB for powers of 1000)"}},
      {"MessageSizeBoolean", "[[user]]\nid = \"a\"\n" + kUrl + "max_message_size = true\n",
       {"bad.toml:4:20: max_message_size: expected a size such as \"1MiB\" or an integer of bytes, got boolean"}},
      {"BusQueueSizeZero", "[daemon]\nbus_queue_size = 0\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:18: bus_queue_size: must be positive, got 0"}},
      {"BusQueueSizeInDefaults", "[defaults]\nbus_queue_size = \"1MiB\"\n" + kUrl + "[[user]]\nid = \"a\"\n",
       {"bad.toml:2:1: 'bus_queue_size' belongs in [daemon]"}},
      {"MetricsIntervalTooShort", "[daemon]\nmetrics_interval = \"50ms\"\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:20: metrics_interval: must be between 100ms and 1h, got 50ms"}},
      {"MetricsIntervalTooLong", "[daemon]\nmetrics_interval = \"2h\"\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:20: metrics_interval: must be between 100ms and 1h, got 2h"}},
      {"MetricsIntervalBelowEveryDuration", "[daemon]\nmetrics_interval = \"1ms\"\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:20: metrics_interval: must be between 100ms and 1h, got 1ms"}},
      {"MetricsIntervalAboveEveryDuration", "[daemon]\nmetrics_interval = \"25h\"\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:20: metrics_interval: must be between 100ms and 1h, got 25h"}},
      {"MetricsIntervalBare", "[daemon]\nmetrics_interval = 15\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:20: metrics_interval: expected a duration string such as \"5s\", got integer"}},
      {"MetricsFileDirectory", "[daemon]\nmetrics_file = \"/var/lib/prometheus/\"\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:16: metrics_file: '/var/lib/prometheus/' names a directory, not a file"}},
      {"MetricsFileRelativeWithSlash", "[daemon]\nmetrics_file = \"m/w.prom\"\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:16: metrics_file: a relative path is a file name in the state directory; 'm/w.prom' has a '/' "
        "(use an absolute path)"}},
      {"MetricsFileNotPromAndIntervalTooShort",
       "[daemon]\nmetrics_file = \"/tmp/w.txt\"\nmetrics_interval = \"10ms\"\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:16: warning: metrics_file: node_exporter's textfile collector reads only files named *.prom",
        "bad.toml:3:20: metrics_interval: must be between 100ms and 1h, got 10ms"}},
      {"MetricsFileInDefaults", "[defaults]\nmetrics_file = \"w.prom\"\n" + kUrl + "[[user]]\nid = \"a\"\n",
       {"bad.toml:2:1: 'metrics_file' belongs in [daemon]"}},
      {"MaxHandshakesZero", "[daemon]\nmax_handshakes = 0\n",
       {"bad.toml:1:1: warning: no [[user]] tables: the daemon will start with nothing to do",
        "bad.toml:2:18: max_handshakes: must be between 1 and 10000, got 0"}},
      {"MaxHandshakesHuge", "[daemon]\nmax_handshakes = 10001\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:18: max_handshakes: must be between 1 and 10000, got 10001"}},
      {"MaxHandshakesFloat", "[daemon]\nmax_handshakes = 8.0\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:18: max_handshakes: expected an integer, got float"}},
      {"OnSleepUnknown", "[daemon]\non_sleep = \"hibernate\"\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:12: on_sleep: unknown value \"hibernate\" (expected \"keep\" or \"close\")"}},
      {"OnSleepNotAString", "[daemon]\non_sleep = true\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:12: on_sleep: expected a string, got boolean"}},
      {"NetworkWatchUnknown", "[daemon]\nnetwork_watch = \"networkmanager\"\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:17: network_watch: unknown value \"networkmanager\" (expected \"auto\" or \"off\")"}},
      {"OnSleepInDefaults", "[defaults]\non_sleep = \"close\"\n" + kUrl + "[[user]]\nid = \"a\"\n",
       {"bad.toml:2:1: 'on_sleep' belongs in [daemon]"}},
      {"WakeProbeTimeoutInDaemon", "[daemon]\nwake_probe_timeout = \"2s\"\n[[user]]\nid = \"a\"\n" + kUrl,
       {"bad.toml:2:1: 'wake_probe_timeout' belongs in [defaults] or [[user]], not in [daemon]"}},
      {"WakeProbeTimeoutTooShort", "[[user]]\nid = \"a\"\n" + kUrl + "wake_probe_timeout = \"1ms\"\n",
       {"bad.toml:4:22: wake_probe_timeout: must be at least 10ms, got \"1ms\""}},

      // --- collection: every problem, in file order, [defaults] problems once
      {"EveryProblemInFileOrder",
       "[defaults]\n"
       "url = \"ws://h/?u={id}\"\n"
       "heartbeat = \"pong\"\n"
       "zzz = 1\n"
       "[[user]]\n"
       "id = \"a\"\n"
       "history = -5\n"
       "[[user]]\n"
       "id = \"b\"\n"
       "aaa = 2\n"
       "[[user]]\n"
       "id = \"a\"\n",
       {"bad.toml:3:13: heartbeat: unknown mode \"pong\" (expected \"text\", \"ping\" or \"off\")",
        "bad.toml:4:1: unknown key 'zzz' in [defaults]",
        "bad.toml:7:11: history: must be between 0 and 100000, got -5",
        "bad.toml:10:1: unknown key 'aaa' in [[user]]",
        "bad.toml:12:6: duplicate id 'a' (first defined at 6:6)"}},
      {"BadDefaultsUrlReportedOnceNotPerUser",
       "[defaults]\nurl = \"https://h/\"\n[[user]]\nid = \"a\"\n[[user]]\nid = \"b\"\n",
       {"bad.toml:2:7: url: unsupported scheme 'https' (only ws:// and wss://)"}},

      // --- resume cursors (docs/resume.md): the spec at the value, a bad name at the name
      {"CursorPointerWithoutSlash", kUser + "cursor = { id = \"json:id\" }\n",
       {"bad.toml:4:17: cursor.id: a JSON pointer starts with '/' (RFC 6901), e.g. \"json:/id\""}},
      {"CursorPointerBadTilde", kUser + "cursor = { id = \"json:/a~2\" }\n",
       {"bad.toml:4:17: cursor.id: '~' in a JSON pointer must be written ~0 ('~') or ~1 ('/')"}},
      {"CursorRegexWithoutGroup", kUser + "cursor = { id = \"regex:id=\\\\d+\" }\n",
       {"bad.toml:4:17: cursor.id: the regex must have exactly one capture group, it has 0 (use (?:...) for "
        "grouping)"}},
      {"CursorRegexTwoGroups", kUser + "cursor = { id = \"regex:(a)(b)\" }\n",
       {"bad.toml:4:17: cursor.id: the regex must have exactly one capture group, it has 2 (use (?:...) for "
        "grouping)"}},
      {"CursorRegexDoesNotCompile", kUser + "cursor = { id = \"regex:(a\" }\n",
       {"bad.toml:4:17: cursor.id: the regex does not compile: " + regex_error_text("(a")}},
      {"CursorUnknownKind", kUser + "cursor = { id = \"xpath:/a\" }\n",
       {"bad.toml:4:17: cursor.id: expected \"json:/pointer\" or \"regex:<pattern with one group>\""}},
      {"CursorBadName", kUser + "cursor = { \"a-b\" = \"json:/id\" }\n",
       {"bad.toml:4:12: cursor: 'a-b' is not a cursor name (1 to 64 letters, digits or '_')"}},
      {"CursorNotATable", kUser + "cursor = \"json:/id\"\n",
       {"bad.toml:4:10: cursor: expected a table such as { id = \"json:/id\" }, got string"}},
      {"CursorIfWithoutValue", kUser + "cursor_if = \"json:/event\"\n",
       {"bad.toml:4:13: cursor_if: expected \"json:/pointer=value\" (no '=')"}},
      {"StateFlushZero", kUser + "state_flush = \"0s\"\n",
       {"bad.toml:4:15: state_flush: must be positive, got \"0s\""}},
      {"PlaceholderNamesNoCursor",
       "[[user]]\nid = \"a\"\nurl = \"ws://h/?since={cursor.since}\"\ncursor = { id = \"json:/id\" }\n",
       {"bad.toml:3:7: url: {cursor.since} names no cursor of user 'a' (it has id)"}},
      {"PlaceholderWithoutAnyCursor", "[[user]]\nid = \"a\"\nurl = \"ws://h/?since={cursor.id}\"\n",
       {"bad.toml:3:7: url: {cursor.id} names no cursor of user 'a' (it has none; set cursor = { id = "
        "\"json:/id\" })"}},
      {"PlaceholderInDefaultsReportedOnce",
       "[defaults]\nurl = \"ws://h/?s={cursor.x}\"\n[[user]]\nid = \"a\"\n[[user]]\nid = \"b\"\n",
       {"bad.toml:2:7: url: {cursor.x} names no cursor of user 'a' (it has none; set cursor = { x = "
        "\"json:/id\" })"}},
      {"PlaceholderJsonFilterInHeader",
       kUser + "cursor = { id = \"json:/id\" }\nheaders = { Last-Event-ID = \"{cursor.id|json}\" }\n",
       {"bad.toml:5:29: headers.Last-Event-ID: {cursor.id|json} is for on_open frames; write {cursor.id}"}},
      {"PlaceholderMalformedInOnOpen", kUser + "cursor = { id = \"json:/id\" }\non_open = [\"x\", \"{cursor.id\"]\n",
       {"bad.toml:5:17: on_open[1]: malformed placeholder at offset 0 (expected {cursor.NAME} or, in on_open, "
        "{cursor.NAME|json})"}},
      {"PlaceholderUnknownInOnOpen", kUser + "cursor = { id = \"json:/id\" }\non_open = ['{cursor.nope|json}']\n",
       {"bad.toml:5:12: on_open[0]: {cursor.nope} names no cursor of user 'a' (it has id)"}},
      {"PlaceholderUnknownInHeader", kUser + "cursor = { id = \"json:/id\" }\nheaders = { X = \"{cursor.idx}\" }\n",
       {"bad.toml:5:17: headers.X: {cursor.idx} names no cursor of user 'a' (it has id)"}},
  };
}

class BadConfigTest : public ::testing::TestWithParam<BadConfig> {
 protected:
  // The relative headers_file case depends on this variable being unset.
  void SetUp() override { unsetenv("CREDENTIALS_DIRECTORY"); }
};

TEST_P(BadConfigTest, ReportsExactlyTheseProblems) {
  const BadConfig& bad = GetParam();
  ASSERT_FALSE(bad.expected.empty()) << "a case must expect at least one error";
  const LoadResult result = load_string(bad.toml, "bad.toml");
  EXPECT_FALSE(result.ok());
  std::vector<std::string> actual;
  for (const Diagnostic& diagnostic : result.diagnostics) actual.push_back(diagnostic.to_string());
  EXPECT_EQ(actual, bad.expected);
}

INSTANTIATE_TEST_SUITE_P(Table, BadConfigTest, ::testing::ValuesIn(bad_configs()),
                         [](const ::testing::TestParamInfo<BadConfig>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(BadConfigTable, IsLargeAndEveryCaseHasAnError) {
  const auto cases = bad_configs();
  EXPECT_GE(cases.size(), 80u);
  std::set<std::string> names;
  for (const BadConfig& bad : cases) {
    EXPECT_TRUE(names.insert(bad.name).second) << "duplicate case name " << bad.name;
    bool has_error = false;
    for (const std::string& line : bad.expected) has_error |= line.find(": warning: ") == std::string::npos;
    EXPECT_TRUE(has_error) << bad.name << " expects only warnings";
  }
}

}  // namespace
}  // namespace wsheart::config
