// tests/support/fault_proxy.py as a child process: a TCP proxy that can
// blackhole, reset or refuse connections on command.
#pragma once

#include <cstdint>
#include <string>

#include "process.hpp"

namespace wsheart::test {

class FaultProxy {
 public:
  explicit FaultProxy(std::uint16_t target_port);
  // Sends a command and waits for its "OK".
  bool command(const std::string& cmd);
  std::uint16_t port() const { return port_; }

 private:
  Subprocess proc_;
  std::uint16_t port_ = 0;
};

}  // namespace wsheart::test
