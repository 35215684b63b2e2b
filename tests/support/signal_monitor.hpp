// gdbus monitor on org.wsheartd1 (a third-party witness of what the daemon
// puts on the bus): one line per signal.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"

namespace wsheart::test {

class SignalMonitor {
 public:
  // Returns once gdbus has subscribed: from then on no signal is missed.
  explicit SignalMonitor(const PrivateBus& bus);
  // Waits for a signal line containing every needle; returns it.
  std::optional<std::string> wait_for(const std::vector<std::string>& needles,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // seq values of MessageReceived of one user (simple ids only), in arrival order.
  std::vector<std::uint64_t> seqs(const std::string& id);
  Subprocess& process() { return proc_; }

 private:
  Subprocess proc_;
};

}  // namespace wsheart::test
