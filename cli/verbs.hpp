// The verb table and command-line parsing. Parsing is pure: it needs no bus.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bus/names.hpp"
#include "format.hpp"

namespace wsheart::cli {

using bus::BusKind;

struct GlobalOptions {
  BusKind bus = BusKind::System;
  bool json = false;
  bool legend = true;
};

// What a verb gets to work with: the options, where to write, how to look.
struct Context {
  GlobalOptions options;
  OutputStyle style;
  std::ostream& out;
  std::ostream& err;
};

struct Invocation;
// Returns the exit code; reports failures by throwing CliError.
using VerbHandler = int (*)(const Invocation& invocation, Context& context);

inline constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();

struct Verb {
  std::string_view name;
  std::size_t min_args;
  std::size_t max_args;  // kUnlimited for ID...
  std::string_view synopsis;  // arguments, for --help and usage errors
  std::string_view summary;
  bool takes_since;  // accepts --since SEQ
  VerbHandler handler;
  bool takes_notify_options;  // accepts --summary --body --priority --quiet-for
};

// Every verb, in --help order.
const std::vector<Verb>& verb_table();
const Verb* find_verb(std::string_view name);

// notify: JSON pointers into JSON messages, and the state-notice delay.
struct NotifyOptions {
  std::string summary_pointer;
  std::string body_pointer;
  std::string priority_pointer;
  std::chrono::milliseconds quiet_for{30000};
  bool any = false;  // one of them was given (for the usage check)
};

struct Invocation {
  GlobalOptions options;
  const Verb* verb = nullptr;
  std::vector<std::string> args;
  std::optional<std::uint64_t> since;  // recent --since
  bool fresh = false;                   // reconnect --fresh
  NotifyOptions notify;
};

enum class Action { Run, Help, Version };

struct ParsedCommandLine {
  Action action = Action::Run;
  Invocation invocation;  // valid when action == Run
};

// argv without the program name. Throws CliError(Exit::Usage) on bad usage;
// the message is complete ("... Try 'wsheartctl --help'.").
ParsedCommandLine parse_command_line(const std::vector<std::string>& args);

std::string help_text();
std::string version_text();

// The whole program after main() has looked at the terminal: parse, run the
// verb, map errors to exit codes and the single stderr line.
int run(const std::vector<std::string>& args, const OutputStyle& terminal, std::ostream& out, std::ostream& err);

}  // namespace wsheart::cli
