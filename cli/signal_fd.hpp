// SIGINT/SIGTERM as a pollable fd, for the single-threaded loops of
// `monitor` and `notify`.
#pragma once

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "error.hpp"

namespace wsheart::cli {

// SIGINT and SIGTERM, blocked and delivered through a signalfd for as long
// as this object lives (the loop polls it next to the bus fd).
class SignalFd {
 public:
  SignalFd() {
    sigemptyset(&mask_);
    sigaddset(&mask_, SIGINT);
    sigaddset(&mask_, SIGTERM);
    if (::sigprocmask(SIG_BLOCK, &mask_, &old_mask_) != 0) throw CliError(Exit::Failure, "cannot block signals");
    fd_ = ::signalfd(-1, &mask_, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd_ < 0) {
      ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
      throw CliError(Exit::Failure, "cannot create a signalfd");
    }
  }
  ~SignalFd() {
    ::close(fd_);
    ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  SignalFd(const SignalFd&) = delete;
  SignalFd& operator=(const SignalFd&) = delete;
  int fd() const { return fd_; }
  // Consumes the pending signal, so restoring the mask does not deliver it.
  void consume() {
    signalfd_siginfo info{};
    while (::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    }
  }

 private:
  sigset_t mask_{};
  sigset_t old_mask_{};
  int fd_ = -1;
};

}  // namespace wsheart::cli
