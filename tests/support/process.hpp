// Test support: real child processes (dbus-daemon, wsheart-echo, wsheartd,
// python servers) started by the test and always cleaned up by pid.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wsheart::test {

using namespace std::chrono_literals;

struct CommandResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};

// Environment changes on top of the test's own environment; an empty value unsets.
using EnvOverrides = std::map<std::string, std::string>;

// Run to completion (bounded by `timeout`, then SIGKILL), capturing both streams.
CommandResult run_command(const std::vector<std::string>& argv, const EnvOverrides& env = {},
                          std::chrono::milliseconds timeout = 30s, const std::string& stdin_text = "");

// A child process whose stdout and stderr are collected in the background of
// each read call (no threads: reads drain non-blocking pipes).
class Subprocess {
 public:
  Subprocess(const std::vector<std::string>& argv, const EnvOverrides& env = {});
  ~Subprocess();  // SIGTERM, short wait, then SIGKILL
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Waits until a full stdout line satisfies `match`; returns it (nullopt on timeout or exit).
  std::optional<std::string> wait_for_line(const std::function<bool(const std::string&)>& match,
                                           std::chrono::milliseconds timeout = 10s);
  // Same, over stderr.
  std::optional<std::string> wait_for_err_line(const std::function<bool(const std::string&)>& match,
                                               std::chrono::milliseconds timeout = 10s);
  void signal(int sig);
  // Write to the child's stdin (a pipe, kept open until the object dies).
  void write_stdin(const std::string& text);
  // Waits for exit; returns the exit code (128+N for signal N), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = 10s);
  void stop();  // SIGTERM, then SIGKILL after 3 s

  const std::string& out();  // everything so far
  const std::string& err();

 private:
  void drain();
  std::optional<std::string> wait_line(bool from_err, const std::function<bool(const std::string&)>& match,
                                       std::chrono::milliseconds timeout);
  pid_t pid_ = -1;
  int in_fd_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  std::size_t out_scan_ = 0;
  std::size_t err_scan_ = 0;
  std::optional<int> status_;
};

// A private dbus-daemon (session-bus style config, or a system-bus style one
// with a policy file) that lives as long as this object.
class PrivateBus {
 public:
  PrivateBus();
  ~PrivateBus();
  const std::string& address() const { return address_; }
  pid_t pid() const { return daemon_ ? daemon_->pid() : -1; }
  // For DBUS_SESSION_BUS_ADDRESS / DBUS_SYSTEM_BUS_ADDRESS.
  EnvOverrides env() const;

 private:
  std::string dir_;
  std::string address_;
  std::optional<Subprocess> daemon_;
};

// wsheart-echo on an ephemeral loopback port.
class EchoServer {
 public:
  explicit EchoServer(const std::vector<std::string>& extra_args = {});
  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/") const;
  Subprocess& process() { return *proc_; }

 private:
  std::optional<Subprocess> proc_;
  std::uint16_t port_ = 0;
};

// Polls `condition` until true or timeout. Synchronises on an observable
// condition, never on elapsed time alone.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s,
                std::chrono::milliseconds step = 5ms);

// Stops a process (SIGSTOP) until destroyed or resumed (SIGCONT): a wedged
// peer, e.g. a bus daemon that reads nothing. stopped() is true once the
// stop has taken effect (/proc/PID/stat says 'T').
class StoppedProcess {
 public:
  explicit StoppedProcess(pid_t pid);
  ~StoppedProcess() { resume(); }
  StoppedProcess(const StoppedProcess&) = delete;
  StoppedProcess& operator=(const StoppedProcess&) = delete;
  bool stopped() const { return stopped_; }
  void resume();

 private:
  pid_t pid_;
  bool stopped_ = false;
  bool resumed_ = false;
};

// A fresh temporary directory, removed recursively by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const;  // returns full path

 private:
  std::string path_;
};

// An AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET: the
// daemon's READY=1 / STATUS= / WATCHDOG=1 / STOPPING=1 arrive here. A thread
// drains it all the time, like systemd does: an unread datagram queue would
// block the daemon's sd_notify() (the queue holds only ~10 datagrams).
class NotifySocket {
 public:
  NotifySocket();
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;
  const std::string& path() const { return path_; }
  // Waits for a datagram holding a line that starts with `prefix`; returns that line.
  std::optional<std::string> wait_for(const std::string& prefix, std::chrono::milliseconds timeout = 10s);
  std::vector<std::string> received() const;
  // When each datagram line equal to `line` arrived, oldest first.
  std::vector<std::chrono::steady_clock::time_point> arrivals(const std::string& line) const;

 private:
  void drain_loop();
  TempDir dir_;
  std::string path_;
  int fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<std::string> lines_;
  std::vector<std::chrono::steady_clock::time_point> arrival_;  // per line
  std::size_t scanned_ = 0;
  std::atomic<bool> quit_{false};
  std::thread drainer_;
};

// Paths to the binaries under test (set by CMake).
std::string wsheartd_bin();
std::string wsheartctl_bin();
std::string echo_bin();
// tests/support in the source tree (fault_proxy.py, py_ws_server.py).
std::string support_dir();
// Debian's python3 (has python3-websockets); the first python3 on PATH may not.
inline const char* kSystemPython = "/usr/bin/python3";

}  // namespace wsheart::test
