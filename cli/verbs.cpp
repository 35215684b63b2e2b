#include "verbs.hpp"

#include <charconv>
#include <ostream>

#include "commands.hpp"
#include "error.hpp"
#include "text.hpp"
#include "units.hpp"

#ifndef WSHEART_VERSION
#define WSHEART_VERSION "unknown"
#endif

namespace wsheart::cli {

namespace {

constexpr std::string_view kTryHelp = " Try 'wsheartctl --help'.";

[[noreturn]] void usage_error(const std::string& message) {
  throw CliError(Exit::Usage, message + std::string(kTryHelp));
}

std::uint64_t parse_seq(const std::string& text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) usage_error("invalid sequence number '" + text + "'.");
  return value;
}

// RFC 6901: empty (the whole document) or starting with '/'.
std::string parse_pointer(const std::string& option, const std::string& text) {
  if (!text.empty() && text[0] != '/') usage_error("option '" + option + "' needs a JSON pointer such as /title.");
  return text;
}

std::chrono::milliseconds parse_quiet_for(const std::string& text) {
  std::string why;
  auto d = config::parse_duration(text, &why);
  if (!d) usage_error("invalid duration '" + text + "' for '--quiet-for' (e.g. 30s, 500ms, 2m).");
  return *d;
}

std::string usage_of(const Verb& verb) {
  std::string out(verb.name);
  if (!verb.synopsis.empty()) out += " " + std::string(verb.synopsis);
  return out;
}

}  // namespace

const std::vector<Verb>& verb_table() {
  static const std::vector<Verb> kVerbs = {
      {"status", 0, kUnlimited, "[ID...]", "Show the daemon summary and one row per user", false, verb_status, false},
      {"list", 0, 0, "", "List user ids, one per line", false, verb_list, false},
      {"monitor", 0, kUnlimited, "[ID...]", "Follow messages and state changes until interrupted", false,
       verb_monitor, false},
      {"send", 2, 2, "ID TEXT", "Send a text frame now, or queue it while the connection is down", false,
       verb_send, false},
      {"reconnect", 1, 1, "ID [--fresh]", "Drop the connection and reconnect now (resets the backoff)", false,
       verb_reconnect, false},
      {"reload", 0, 0, "", "Re-read the daemon's configuration", false, verb_reload, false},
      {"recent", 1, 1, "ID [--since SEQ]", "Show the messages kept in the user's history", true, verb_recent, false},
      {"notify", 0, kUnlimited, "[ID...]", "Show messages and outages as desktop notifications", false,
       verb_notify, true},
  };
  return kVerbs;
}

const Verb* find_verb(std::string_view name) {
  for (const auto& verb : verb_table()) {
    if (verb.name == name) return &verb;
  }
  return nullptr;
}

ParsedCommandLine parse_command_line(const std::vector<std::string>& args) {
  ParsedCommandLine parsed;
  Invocation& inv = parsed.invocation;
  std::vector<std::string> positional;
  bool help = false;
  bool version = false;
  bool options_done = false;

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    std::string name = arg;
    std::optional<std::string> value;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (name == "--since") {
      if (!value) {
        if (i + 1 >= args.size()) usage_error("option '--since' needs a sequence number.");
        value = args[++i];
      }
      inv.since = parse_seq(*value);
      continue;
    }
    if (name == "--summary" || name == "--body" || name == "--priority" || name == "--quiet-for") {
      if (!value) {
        if (i + 1 >= args.size()) usage_error("option '" + name + "' needs a value.");
        value = args[++i];
      }
      inv.notify.any = true;
      if (name == "--summary") inv.notify.summary_pointer = parse_pointer(name, *value);
      if (name == "--body") inv.notify.body_pointer = parse_pointer(name, *value);
      if (name == "--priority") inv.notify.priority_pointer = parse_pointer(name, *value);
      if (name == "--quiet-for") inv.notify.quiet_for = parse_quiet_for(*value);
      continue;
    }
    if (value) usage_error("option '" + name + "' takes no value.");
    if (name == "--help" || name == "-h") {
      help = true;
    } else if (name == "--version") {
      version = true;
    } else if (name == "--system") {
      inv.options.bus = BusKind::System;
    } else if (name == "--user") {
      inv.options.bus = BusKind::Session;
    } else if (name == "--json") {
      inv.options.json = true;
    } else if (name == "--no-legend") {
      inv.options.legend = false;
    } else if (name == "--fresh") {
      inv.fresh = true;
    } else {
      usage_error("unknown option '" + arg + "'.");
    }
  }

  if (help) {
    parsed.action = Action::Help;
    return parsed;
  }
  if (version) {
    parsed.action = Action::Version;
    return parsed;
  }
  if (positional.empty()) usage_error("missing command.");
  inv.verb = find_verb(positional.front());
  if (inv.verb == nullptr) usage_error("unknown command '" + positional.front() + "'.");
  inv.args.assign(positional.begin() + 1, positional.end());
  if (inv.args.size() < inv.verb->min_args) {
    usage_error("command '" + std::string(inv.verb->name) + "' needs " + std::string(inv.verb->synopsis) + ".");
  }
  if (inv.args.size() > inv.verb->max_args) {
    usage_error("too many arguments for '" + std::string(inv.verb->name) + "'.");
  }
  if (inv.since && !inv.verb->takes_since) {
    usage_error("option '--since' is only valid with 'recent'.");
  }
  if (inv.fresh && inv.verb->handler != verb_reconnect) {
    usage_error("option '--fresh' is only valid with 'reconnect'.");
  }
  if (inv.notify.any && !inv.verb->takes_notify_options) {
    usage_error("options '--summary', '--body', '--priority' and '--quiet-for' are only valid with 'notify'.");
  }
  return parsed;
}

std::string help_text() {
  std::string out =
      "wsheartctl [OPTIONS...] COMMAND [ARGS...]\n"
      "\n"
      "Query and control wsheartd, the WebSocket heartbeat daemon.\n"
      "\n"
      "Commands:\n";
  for (const auto& verb : verb_table()) {
    std::string left = "  " + usage_of(verb);
    if (left.size() < 27) left.append(27 - left.size(), ' ');
    else left += "  ";
    out += left + std::string(verb.summary) + "\n";
  }
  out +=
      "\n"
      "Options:\n"
      "  -h --help                Show this help\n"
      "     --version             Show the version\n"
      "     --system              Talk to wsheartd on the system bus (default)\n"
      "     --user                Talk to wsheartd on the session bus\n"
      "     --json                Print JSON: one document (status, list, send,\n"
      "                           recent) or one object per line (monitor)\n"
      "     --no-legend           Omit the summary line and the column headers\n"
      "     --since SEQ           recent: only messages with a sequence number above SEQ\n"
      "     --fresh               reconnect: forget the user's resume cursors first\n"
      "     --summary POINTER     notify: JSON pointer to the summary (e.g. /title)\n"
      "     --body POINTER        notify: JSON pointer to the body (e.g. /message)\n"
      "     --priority POINTER    notify: JSON pointer to a priority 0-10 (urgency)\n"
      "     --quiet-for DURATION  notify: announce a user out of open this long (30s)\n"
      "\n"
      "Exit status: 0 ok, 1 failure, 2 usage error, 3 (status) a listed user is not\n"
      "open, 4 wsheartd not reachable, 5 no such user, 69 (notify) no session bus or\n"
      "no notification server.\n";
  return out;
}

std::string version_text() { return "wsheartctl " WSHEART_VERSION "\n"; }

int run(const std::vector<std::string>& args, const OutputStyle& terminal, std::ostream& out, std::ostream& err) {
  try {
    const ParsedCommandLine parsed = parse_command_line(args);
    if (parsed.action == Action::Help) {
      out << help_text() << std::flush;
      return to_int(Exit::Ok);
    }
    if (parsed.action == Action::Version) {
      out << version_text() << std::flush;
      return to_int(Exit::Ok);
    }
    const Invocation& inv = parsed.invocation;
    OutputStyle style = terminal;
    style.json = inv.options.json;
    style.legend = inv.options.legend;
    if (style.json) style.color = false;
    Context context{inv.options, style, out, err};
    const int code = inv.verb->handler(inv, context);
    out.flush();
    return code;
  } catch (const CliError& e) {
    err << e.detail_lines() << "wsheartctl: " << escape_for_terminal(e.what()) << std::endl;
    return to_int(e.code());
  } catch (const std::exception& e) {
    err << "wsheartctl: " << escape_for_terminal(e.what()) << std::endl;
    return to_int(Exit::Failure);
  }
}

}  // namespace wsheart::cli
