#include "notify/state_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

namespace wsheart::cli::notify {

namespace {

std::runtime_error io_error(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

// mkdir -p with 0700: the state names the user's accounts.
void make_directories(const std::string& dir) {
  for (std::size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) throw io_error("cannot create", prefix);
  }
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

std::string serialize_state(const LastSeqs& seqs) {
  nlohmann::json doc = {{"last_seq", nlohmann::json::object()}};
  for (const auto& [user, seq] : seqs) doc["last_seq"][user] = seq;
  return doc.dump() + "\n";
}

std::optional<LastSeqs> parse_state(const std::string& text) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return std::nullopt;
  auto it = doc.find("last_seq");
  if (it == doc.end() || !it->is_object()) return std::nullopt;
  LastSeqs seqs;
  for (const auto& [user, seq] : it->items()) {
    if (!seq.is_number_unsigned()) return std::nullopt;
    seqs[user] = seq.get<std::uint64_t>();
  }
  return seqs;
}

std::string state_file_path(const char* xdg_state_home, const char* home) {
  std::string base;
  // The XDG spec: a relative value is invalid and is ignored.
  if (xdg_state_home != nullptr && xdg_state_home[0] == '/') {
    base = xdg_state_home;
  } else if (home != nullptr && home[0] == '/') {
    base = std::string(home) + "/.local/state";
  } else {
    return "";
  }
  return base + "/wsheartd/notify.state";
}

LastSeqs load_state_file(const std::string& path, std::string& warning) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno != ENOENT) warning = "cannot read " + path + ": " + std::strerror(errno) + "; starting afresh";
    return {};
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto seqs = parse_state(text.str());
  if (!seqs) {
    warning = path + " is not a notify state file; starting afresh";
    return {};
  }
  return *seqs;
}

void save_state_file(const std::string& path, const LastSeqs& seqs) {
  const auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) make_directories(path.substr(0, slash));
  const std::string tmp = path + ".tmp";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) throw io_error("cannot write", tmp);
  const std::string text = serialize_state(seqs);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw io_error("cannot write", tmp);
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd.release()) != 0) throw io_error("cannot write", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw io_error("cannot rename to", path);
}

}  // namespace wsheart::cli::notify
