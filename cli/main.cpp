// wsheartctl: query and control wsheartd over D-Bus. See docs/cli.md.
#include <sys/ioctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "verbs.hpp"

namespace {

// Colour and width come from the terminal, only when stdout is one.
wsheart::cli::OutputStyle terminal_style() {
  wsheart::cli::OutputStyle style;
  if (::isatty(STDOUT_FILENO) == 0) return style;
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  style.color = (no_color == nullptr || *no_color == '\0') && !(term != nullptr && std::string(term) == "dumb");
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    style.width = ws.ws_col;
  } else if (const char* columns = std::getenv("COLUMNS"); columns != nullptr) {
    const long n = std::strtol(columns, nullptr, 10);
    if (n > 0) style.width = static_cast<std::size_t>(n);
  }
  return style;
}

}  // namespace

int main(int argc, char** argv) {
  // A closed pipe (monitor | head) must end in a write error, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  return wsheart::cli::run(args, terminal_style(), std::cout, std::cerr);
}
