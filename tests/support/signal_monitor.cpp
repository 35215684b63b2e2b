#include "signal_monitor.hpp"

#include <sstream>
#include <stdexcept>

namespace wsheart::test {

SignalMonitor::SignalMonitor(const PrivateBus& bus)
    : proc_({"gdbus", "monitor", "--address", bus.address(), "--dest", "org.wsheartd1"}) {
  // gdbus announces the owner once it has subscribed.
  if (!proc_.wait_for_line([](const std::string& l) { return l.find("is owned by") != std::string::npos; })) {
    throw std::runtime_error("gdbus monitor did not start: " + proc_.err());
  }
}

std::optional<std::string> SignalMonitor::wait_for(const std::vector<std::string>& needles,
                                                   std::chrono::milliseconds timeout) {
  return proc_.wait_for_line(
      [&](const std::string& line) {
        for (const auto& n : needles) {
          if (line.find(n) == std::string::npos) return false;
        }
        return true;
      },
      timeout);
}

std::vector<std::uint64_t> SignalMonitor::seqs(const std::string& id) {
  std::vector<std::uint64_t> out;
  std::istringstream in(proc_.out());
  const std::string prefix = "/org/wsheartd1/user/" + id + ": org.wsheartd1.User.MessageReceived (uint64 ";
  for (std::string l; std::getline(in, l);) {
    if (l.rfind(prefix, 0) == 0) out.push_back(std::stoull(l.substr(prefix.size())));
  }
  return out;
}

}  // namespace wsheart::test
