#include "metrics/metrics_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace wsheart::metrics {

namespace {

std::string errno_text(int error) { return std::strerror(error); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int close() {
    const int result = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// mkdir -p with mode 0700; "" does nothing.
std::optional<std::string> make_directories(const std::string& directory) {
  if (directory.empty()) return std::nullopt;
  std::size_t at = 0;
  while (at != std::string::npos) {
    at = directory.find('/', at + 1);
    const std::string prefix = directory.substr(0, at);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) return "cannot create " + prefix + ": " + errno_text(errno);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> replace_file(const std::string& path, std::string_view contents) {
  const auto slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string name = path.substr(slash == std::string::npos ? 0 : slash + 1);
  // Hidden and not *.prom: node_exporter skips it while it is being written.
  std::string temp = directory + "/." + name + ".XXXXXX";
  Fd file(::mkostemp(temp.data(), O_CLOEXEC));
  if (file.get() < 0) return "cannot create a file in " + directory + ": " + errno_text(errno);
  const auto fail = [&](const std::string& what) -> std::optional<std::string> {
    const int saved = errno;
    ::unlink(temp.c_str());
    return what + ": " + errno_text(saved);
  };
  // The unit's UMask=0077 would leave 0600: a scraper in the file's group reads it.
  if (::fchmod(file.get(), 0640) != 0) return fail("cannot chmod " + temp);
  if (!write_all(file.get(), contents)) return fail("cannot write " + temp);
  if (file.close() != 0) return fail("cannot write " + temp);
  if (::rename(temp.c_str(), path.c_str()) != 0) return fail("cannot rename " + temp + " to " + path);
  return std::nullopt;
}

MetricsWriter::MetricsWriter(Done done) : done_(std::move(done)), thread_([this] { run(); }) {}

MetricsWriter::~MetricsWriter() { stop(); }

void MetricsWriter::submit(Target target, Snapshot snapshot) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    pending_write_.emplace(std::move(target), std::move(snapshot));
  }
  wake_.notify_one();
}

void MetricsWriter::remove(std::string path) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (pending_write_ && pending_write_->first.path == path) pending_write_.reset();
    pending_removals_.push_back(std::move(path));
  }
  wake_.notify_one();
}

void MetricsWriter::stop() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void MetricsWriter::run() {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  using std::chrono::steady_clock;
  while (true) {
    std::optional<std::pair<Target, Snapshot>> write;
    std::vector<std::string> removals;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return pending_write_ || !pending_removals_.empty() || stopping_; });
      if (!pending_write_ && pending_removals_.empty()) return;  // stopping, nothing left
      write.swap(pending_write_);
      removals.swap(pending_removals_);
    }
    // Removals were asked for before the write that is pending now.
    for (auto& path : removals) {
      Result result;
      result.path = std::move(path);
      result.removal = true;
      if (::unlink(result.path.c_str()) != 0 && errno != ENOENT) {
        result.error = "cannot remove " + result.path + ": " + errno_text(errno);
      }
      if (done_) done_(result);
    }
    if (!write) continue;
    Result result;
    result.path = std::move(write->first.path);
    const auto began = steady_clock::now();
    const std::string text = format_exposition(std::move(write->second));
    const auto formatted = steady_clock::now();
    result.error = make_directories(write->first.create_directory);
    if (!result.error) result.error = replace_file(result.path, text);
    result.format_took = duration_cast<microseconds>(formatted - began);
    result.write_took = duration_cast<microseconds>(steady_clock::now() - formatted);
    result.bytes = text.size();
    if (done_) done_(result);
  }
}

}  // namespace wsheart::metrics
