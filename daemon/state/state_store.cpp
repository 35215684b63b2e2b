#include "state/state_store.hpp"

#include <algorithm>

#include <asio/post.hpp>

namespace wsheart::state {

namespace {
std::uint64_t unix_seconds() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}
}  // namespace

StateStore::StateStore(asio::io_context& io, const Logger& log, Options options, Snapshot snapshot)
    : io_(io), log_(log), options_(std::move(options)), snapshot_(std::move(snapshot)), timer_(io) {}

StateStore::~StateStore() {
  timer_.cancel();
  if (writer_) writer_->stop();
}

void StateStore::open() {
  if (writer_) return;
  const std::string path = options_.directory + "/" + std::string(kFileName);
  Loaded loaded = load(path, unix_seconds());
  if (loaded.warning) log_.warning(*loaded.warning);
  loaded_ = loaded.records;
  log_.info("state file ", path, ": ", loaded_.size(), " user(s) with saved cursors");
  // The writer starts from what was read: a flush rewrites only the users
  // that changed, and drop_unclaimed() removes those nobody took.
  writer_ = std::make_unique<StateWriter>(
      StateWriter::Options{options_.directory, options_.write_delay}, std::move(loaded.records),
      [this, alive = std::weak_ptr<bool>(alive_)](const StateWriter::Result& result) {
        // Writer thread: hand the outcome to the loop.
        asio::post(io_, [this, alive, result] {
          if (alive.lock()) written(result);
        });
      });
}

std::optional<UserRecord> StateStore::take(const std::string& id) {
  open();
  const auto it = loaded_.find(id);
  if (it == loaded_.end()) return std::nullopt;
  UserRecord record = std::move(it->second);
  loaded_.erase(it);
  return record;
}

void StateStore::drop_unclaimed() {
  if (!writer_) return;
  for (const auto& [id, record] : loaded_) dirty_.push_back(id);
  loaded_.clear();
  if (!dirty_.empty()) arm();
}

void StateStore::changed(const std::string& id) {
  if (!writer_) return;  // never opened: no user ever had a cursor
  dirty_.push_back(id);
  arm();
}

void StateStore::arm() {
  if (armed_) return;
  armed_ = true;
  // At most one write per interval: the first change after a quiet spell
  // waits a full interval too, so a burst is written once.
  const auto now = std::chrono::steady_clock::now();
  timer_.expires_at(std::max(now + interval_, last_flush_ + interval_));
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const std::error_code& ec) {
    if (ec || !alive.lock()) return;
    armed_ = false;
    flush();
  });
}

void StateStore::flush() {
  if (!writer_ || dirty_.empty()) return;
  const auto began = std::chrono::steady_clock::now();
  std::sort(dirty_.begin(), dirty_.end());
  dirty_.erase(std::unique(dirty_.begin(), dirty_.end()), dirty_.end());
  Records changed;
  std::vector<std::string> removed;
  for (const auto& id : dirty_) {
    if (auto record = snapshot_(id)) {
      changed.emplace(id, std::move(*record));
    } else {
      removed.push_back(id);
    }
  }
  const std::size_t count = dirty_.size();
  dirty_.clear();
  writer_->submit(std::move(changed), removed);
  last_flush_ = std::chrono::steady_clock::now();
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(last_flush_ - began);
  longest_flush_ = std::max(longest_flush_, took);
  log_.debug("state flush: ", count, " user(s) handed to the writer in ", took.count(), " us on the loop");
}

void StateStore::close() {
  timer_.cancel();
  armed_ = false;
  flush();
  if (!writer_) return;
  const auto result = writer_->stop();
  if (result && result->error) log_.warning("cannot write the state file: ", *result->error);
}

void StateStore::written(const StateWriter::Result& result) {
  if (result.error) {
    // Once per failure streak: a full disk must not flood the journal.
    if (!failing_) log_.warning("cannot write the state file: ", *result.error, " (cursors are kept in memory)");
    failing_ = true;
    return;
  }
  if (failing_) log_.notice("state file written again");
  failing_ = false;
  log_.debug("state file written: ", result.users, " user(s) in ", result.took.count(), " us");
}

}  // namespace wsheart::state
