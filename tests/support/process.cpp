#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace wsheart::test {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> merged_environment(const EnvOverrides& overrides) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  // Hermetic: a developer's proxy variables must not route loopback test
  // traffic through their proxy (wsheartd follows them by default). Tests
  // that want one set it in `overrides`.
  for (const char* name : {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "ws_proxy",
                           "wss_proxy", "no_proxy", "NO_PROXY"}) {
    env.erase(name);
  }
  for (const auto& [key, value] : overrides) {
    if (value.empty()) {
      env.erase(key);
    } else {
      env[key] = value;
    }
  }
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [key, value] : env) out.push_back(key + "=" + value);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    read_end = fds[0];
    write_end = fds[1];
  }
};

// Spawns argv with the three standard streams on the given pipe ends.
pid_t spawn(const std::vector<std::string>& argv, const EnvOverrides& env, int in_fd, int out_fd, int err_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Children start with default signal dispositions and an empty mask.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> args = argv;
  std::vector<std::string> envs = merged_environment(env);
  auto c_args = c_strings(args);
  auto c_env = c_strings(envs);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, c_args[0], &actions, &attr, c_args.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot start " + argv.at(0) + ": " + std::strerror(rc));
  return pid;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Appends what is readable now; false on EOF.
bool read_available(int fd, std::string& into) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EINTR;
  }
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, const EnvOverrides& env,
                          std::chrono::milliseconds timeout, const std::string& stdin_text) {
  Pipe in;
  Pipe out;
  Pipe err;
  pid_t pid = spawn(argv, env, in.read_end, out.write_end, err.write_end);
  ::close(in.read_end);
  ::close(out.write_end);
  ::close(err.write_end);
  if (!stdin_text.empty()) {
    // Small inputs only: fits in the pipe buffer.
    ssize_t ignored = ::write(in.write_end, stdin_text.data(), stdin_text.size());
    (void)ignored;
  }
  ::close(in.write_end);
  set_nonblocking(out.read_end);
  set_nonblocking(err.read_end);

  CommandResult result;
  bool out_open = true;
  bool err_open = true;
  const auto deadline = Clock::now() + timeout;
  bool killed = false;
  while (out_open || err_open) {
    pollfd fds[2] = {{out_open ? out.read_end : -1, POLLIN, 0}, {err_open ? err.read_end : -1, POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    ::poll(fds, 2, static_cast<int>(std::min<long long>(left, 100)));
    if (out_open) out_open = read_available(out.read_end, result.out);
    if (err_open) err_open = read_available(err.read_end, result.err);
  }
  ::close(out.read_end);
  ::close(err.read_end);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = killed ? -1 : decode_status(status);
  return result;
}

namespace {
// Child output goes to an unlinked temporary file, never a pipe: a chatty
// child (debug logs) must not block on a full pipe while the test waits on
// something else.
int capture_file(int& read_fd) {
  char tmpl[] = "/tmp/wsheart-out-XXXXXX";
  int write_fd = ::mkostemp(tmpl, O_CLOEXEC | O_APPEND);
  if (write_fd < 0) throw std::runtime_error("mkostemp failed");
  read_fd = ::open(tmpl, O_RDONLY | O_CLOEXEC);
  ::unlink(tmpl);
  if (read_fd < 0) throw std::runtime_error("cannot reopen capture file");
  return write_fd;
}
}  // namespace

Subprocess::Subprocess(const std::vector<std::string>& argv, const EnvOverrides& env) {
  // Writing to the stdin of a child that already exited must fail, not kill the test.
  ::signal(SIGPIPE, SIG_IGN);
  Pipe in;
  int out_write = capture_file(out_fd_);
  int err_write = capture_file(err_fd_);
  pid_ = spawn(argv, env, in.read_end, out_write, err_write);
  ::close(in.read_end);
  ::close(out_write);
  ::close(err_write);
  in_fd_ = in.write_end;
}

Subprocess::~Subprocess() {
  if (pid_ > 0) stop();
  for (int fd : {in_fd_, out_fd_, err_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

bool Subprocess::running() {
  if (status_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = decode_status(status);
    return false;
  }
  return true;
}

void Subprocess::drain() {
  // Regular files: read() returns 0 at the current end, more may come later.
  read_available(out_fd_, out_);
  read_available(err_fd_, err_);
}

const std::string& Subprocess::out() {
  drain();
  return out_;
}

const std::string& Subprocess::err() {
  drain();
  return err_;
}

std::optional<std::string> Subprocess::wait_line(bool from_err, const std::function<bool(const std::string&)>& match,
                                                 std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const bool alive = running();
    drain();
    std::string& buf = from_err ? err_ : out_;
    std::size_t& scan = from_err ? err_scan_ : out_scan_;
    for (;;) {
      auto nl = buf.find('\n', scan);
      if (nl == std::string::npos) break;
      std::string line = buf.substr(scan, nl - scan);
      scan = nl + 1;
      if (match(line)) return line;
    }
    if (!alive) return std::nullopt;  // exited and fully read: no more lines can come
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::optional<std::string> Subprocess::wait_for_line(const std::function<bool(const std::string&)>& match,
                                                     std::chrono::milliseconds timeout) {
  return wait_line(false, match, timeout);
}

std::optional<std::string> Subprocess::wait_for_err_line(const std::function<bool(const std::string&)>& match,
                                                         std::chrono::milliseconds timeout) {
  return wait_line(true, match, timeout);
}

void Subprocess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

void Subprocess::write_stdin(const std::string& text) {
  if (in_fd_ < 0) return;
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(in_fd_, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

std::optional<int> Subprocess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (running()) {
    drain();
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  drain();
  return status_;
}

void Subprocess::stop() {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  if (!wait(std::chrono::seconds(3))) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(3));
  }
}

PrivateBus::PrivateBus() {
  char tmpl[] = "/tmp/wsheart-bus-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  // A session-style bus on a private socket: anyone here may own any name.
  std::ofstream conf(dir_ + "/bus.conf");
  conf << "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
          " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
          "<busconfig><type>session</type><listen>unix:path="
       << dir_ << "/bus</listen>"
          "<auth>EXTERNAL</auth>"
          "<policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>"
          "<allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>\n";
  conf.close();
  daemon_.emplace(std::vector<std::string>{"dbus-daemon", "--config-file=" + dir_ + "/bus.conf", "--nofork",
                                           "--print-address=1"});
  auto line = daemon_->wait_for_line([](const std::string& l) { return l.rfind("unix:", 0) == 0; });
  if (!line) throw std::runtime_error("dbus-daemon did not start: " + daemon_->err());
  address_ = *line;
}

PrivateBus::~PrivateBus() {
  daemon_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

EnvOverrides PrivateBus::env() const {
  return {{"DBUS_SESSION_BUS_ADDRESS", address_}, {"DBUS_SYSTEM_BUS_ADDRESS", address_}};
}

EchoServer::EchoServer(const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv{echo_bin(), "--port", "0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  proc_.emplace(argv);
  auto line = proc_->wait_for_line([](const std::string& l) { return l.rfind("PORT ", 0) == 0; });
  if (!line) throw std::runtime_error("wsheart-echo did not start: " + proc_->err());
  port_ = static_cast<std::uint16_t>(std::stoul(line->substr(5)));
}

std::string EchoServer::url(const std::string& path) const {
  return "ws://127.0.0.1:" + std::to_string(port_) + path;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

namespace {

// The state letter of /proc/PID/stat ('T' once a SIGSTOP has taken effect).
char process_state(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() ? line[paren + 2] : '?';
}

}  // namespace

StoppedProcess::StoppedProcess(pid_t pid) : pid_(pid) {
  if (pid_ <= 0 || ::kill(pid_, SIGSTOP) != 0) return;
  stopped_ = eventually([&] { return process_state(pid_) == 'T'; }, 10s, 1ms);
}

void StoppedProcess::resume() {
  if (resumed_ || pid_ <= 0) return;
  resumed_ = true;
  ::kill(pid_, SIGCONT);
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/wsheart-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  std::string full = path_ + "/" + name;
  std::ofstream(full, std::ios::binary) << content;
  return full;
}

NotifySocket::NotifySocket() : path_(dir_.path() + "/notify") {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("cannot bind the notify socket");
  }
  drainer_ = std::thread([this] { drain_loop(); });
}

NotifySocket::~NotifySocket() {
  quit_ = true;
  drainer_.join();
  ::close(fd_);
}

void NotifySocket::drain_loop() {
  while (!quit_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) continue;
    std::string datagram(buf, static_cast<std::size_t>(n));
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t start = 0;
    while (start < datagram.size()) {
      auto nl = datagram.find('\n', start);
      if (nl == std::string::npos) nl = datagram.size();
      lines_.push_back(datagram.substr(start, nl - start));
      arrival_.push_back(now);
      start = nl + 1;
    }
    arrived_.notify_all();
  }
}

std::optional<std::string> NotifySocket::wait_for(const std::string& prefix, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::optional<std::string> found;
  arrived_.wait_for(lock, timeout, [&] {
    for (; scanned_ < lines_.size(); ++scanned_) {
      if (lines_[scanned_].rfind(prefix, 0) == 0) {
        found = lines_[scanned_++];
        return true;
      }
    }
    return false;
  });
  return found;
}

std::vector<std::string> NotifySocket::received() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lines_;
}

std::vector<std::chrono::steady_clock::time_point> NotifySocket::arrivals(const std::string& line) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::chrono::steady_clock::time_point> out;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i] == line) out.push_back(arrival_[i]);
  }
  return out;
}

std::string wsheartd_bin() { return WSHEARTD_BIN; }
std::string wsheartctl_bin() { return WSHEARTCTL_BIN; }
std::string echo_bin() { return WSHEART_ECHO_BIN; }
std::string support_dir() { return WSHEART_TEST_SUPPORT_DIR; }

}  // namespace wsheart::test
