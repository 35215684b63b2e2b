// Golden-file checks for wsheartctl output, in the spirit of NetworkManager's
// client tests: run a command, normalise what varies (clock times, ages,
// RTTs, ports, temp dirs), compare with tests/cli/golden/<name>.expected.
// WSHEART_REGENERATE_GOLDEN=1 rewrites the files instead (review the diff).
#pragma once

#include <string>
#include <vector>

#include "process.hpp"

namespace wsheart::cli::test {

struct NormaliseOptions {
  // Real-daemon output: collapse runs of blanks, so layout shifts caused by
  // varying widths (RTT, ages) do not matter. Table layout itself is covered
  // by the unit tests.
  bool collapse_blanks = false;
  // Replace loopback ports (127.0.0.1:N -> 127.0.0.1:PORT): ephemeral ports
  // of wsheart-echo. Not width-preserving.
  bool ports = false;
  // Replace whole RTT and age tokens by "RTT"/"AGE" and monitor sequence
  // numbers "#12" by "#SEQ": values a real daemon does not repeat exactly.
  bool opaque_values = false;
  std::vector<std::pair<std::string, std::string>> literal;  // extra exact replacements, applied first
};

// Width-preserving where possible: digits of clock times, dates, ages and
// RTTs are masked; JSON µs values become USEC; optionally loopback ports PORT.
std::string normalise(const std::string& text, const NormaliseOptions& options = {});

// The golden document: the command line, exit code, stdout and stderr.
std::string golden_document(const std::string& command, const wsheart::test::CommandResult& result,
                            const NormaliseOptions& options = {});

// Compares with (or, when regenerating, writes) golden/<name>.expected.
// Adds a gtest failure with a readable diff when they differ.
void expect_golden(const std::string& name, const std::string& command,
                   const wsheart::test::CommandResult& result, const NormaliseOptions& options = {});

}  // namespace wsheart::cli::test
