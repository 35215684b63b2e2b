// The thread that owns the metrics file. The loop hands it the latest
// snapshot (a copy, under a lock held only for the hand-off); it formats the
// text and replaces the file atomically. A slow disk delays only this
// thread. Newer snapshots replace unwritten older ones: only the latest
// figures matter.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "metrics/exposition.hpp"

namespace wsheart::metrics {

// Replaces `path` with `contents` (mode 0640) through a temp file in the same
// directory and rename(2), so a reader (node_exporter) sees the old file or
// the new one, never a part. No fsync: the file is rewritten every interval
// and describes the running process only. The error text on failure.
std::optional<std::string> replace_file(const std::string& path, std::string_view contents);

class MetricsWriter {
 public:
  struct Result {
    std::string path;
    std::optional<std::string> error;  // unset: written (or removed)
    std::chrono::microseconds format_took{0};
    std::chrono::microseconds write_took{0};
    std::size_t bytes = 0;
    bool removal = false;
  };
  // Called on the writer thread after every write or removal.
  using Done = std::function<void(const Result&)>;

  explicit MetricsWriter(Done done);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  struct Target {
    std::string path;
    // Created first (mode 0700, with missing parents) when set: the daemon's
    // own state directory, for a relative metrics_file. Other directories are
    // the administrator's to create.
    std::string create_directory;
  };
  // Loop thread. Write `snapshot` to `target` (replacing an unwritten one).
  void submit(Target target, Snapshot snapshot);
  // Loop thread. Remove `path` (after any write to it that is pending now is
  // dropped); the file stops describing a running daemon.
  void remove(std::string path);
  // Does what is pending, then stops the thread. Idempotent.
  void stop();

 private:
  void run();

  Done done_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<std::pair<Target, Snapshot>> pending_write_;
  std::vector<std::string> pending_removals_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace wsheart::metrics
