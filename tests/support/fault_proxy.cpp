#include "fault_proxy.hpp"

#include <stdexcept>

namespace wsheart::test {

FaultProxy::FaultProxy(std::uint16_t target_port)
    : proc_({kSystemPython, support_dir() + "/fault_proxy.py", "--target", "127.0.0.1:" + std::to_string(target_port)}) {
  auto line = proc_.wait_for_line([](const std::string& l) { return l.rfind("PORT ", 0) == 0; });
  if (!line) throw std::runtime_error("fault proxy did not start: " + proc_.err());
  port_ = static_cast<std::uint16_t>(std::stoul(line->substr(5)));
}

bool FaultProxy::command(const std::string& cmd) {
  proc_.write_stdin(cmd + "\n");
  return proc_.wait_for_line([&](const std::string& l) { return l == "OK " + cmd; }).has_value();
}

}  // namespace wsheart::test
