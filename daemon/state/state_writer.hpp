// The thread that owns the state file. The loop thread hands it the records
// that changed (a copy, under a lock held only for the hand-off); the writer
// merges them into its own copy of the whole state, serializes it and
// writes it atomically. A slow or stuck disk delays only this thread: the
// event loop, and with it the watchdog, keeps running.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "state/state_file.hpp"

namespace wsheart::state {

class StateWriter {
 public:
  struct Result {
    std::optional<std::string> error;  // unset: written
    std::chrono::microseconds took{0};  // serialize + write + fsyncs + rename
    std::size_t users = 0;
  };
  // Called on the writer thread after every write attempt.
  using Done = std::function<void(const Result&)>;

  struct Options {
    std::string directory;
    // Test hook standing in for a slow disk: every write waits this long first.
    std::chrono::milliseconds delay{0};
  };

  StateWriter(Options options, Records initial, Done done);
  ~StateWriter();
  StateWriter(const StateWriter&) = delete;
  StateWriter& operator=(const StateWriter&) = delete;

  // Loop thread. Later submissions of a user replace earlier unwritten ones.
  void submit(Records changed, const std::vector<std::string>& removed);
  // Writes what is pending, stops the thread and returns the last result
  // (nullopt: nothing was ever written). Idempotent.
  std::optional<Result> stop();

 private:
  void run();

  Options options_;
  Done done_;
  Records current_;  // the writer thread's (untouched by the loop after construction)

  std::mutex mutex_;
  std::condition_variable wake_;
  Records pending_changed_;
  std::set<std::string> pending_removed_;
  bool pending_ = false;
  bool stopping_ = false;
  std::optional<Result> last_;

  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace wsheart::state
