#include "state/state_writer.hpp"

#include <utility>

namespace wsheart::state {

StateWriter::StateWriter(Options options, Records initial, Done done)
    : options_(std::move(options)), done_(std::move(done)), current_(std::move(initial)), thread_([this] { run(); }) {}

StateWriter::~StateWriter() { stop(); }

void StateWriter::submit(Records changed, const std::vector<std::string>& removed) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, record] : changed) {
      pending_removed_.erase(id);
      pending_changed_[id] = std::move(record);
    }
    for (const auto& id : removed) {
      pending_changed_.erase(id);
      pending_removed_.insert(id);
    }
    pending_ = true;
  }
  wake_.notify_one();
}

std::optional<StateWriter::Result> StateWriter::stop() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  const std::lock_guard<std::mutex> lock(mutex_);
  return last_;
}

void StateWriter::run() {
  while (true) {
    Records changed;
    std::set<std::string> removed;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return pending_ || stopping_; });
      if (!pending_) return;  // stopping, nothing left to write
      changed.swap(pending_changed_);
      removed.swap(pending_removed_);
      pending_ = false;
    }
    for (auto& [id, record] : changed) current_[id] = std::move(record);
    for (const auto& id : removed) current_.erase(id);

    if (options_.delay.count() > 0) std::this_thread::sleep_for(options_.delay);
    const auto began = std::chrono::steady_clock::now();
    Result result;
    result.error = write_atomic(options_.directory, kFileName, serialize(current_));
    result.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began);
    result.users = current_.size();
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      last_ = result;
    }
    if (done_) done_(result);
  }
}

}  // namespace wsheart::state
