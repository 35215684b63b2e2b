// The state file as the event loop sees it: read once when the first user
// with a cursor appears, then fed with the records of users that changed, at
// most every flush interval (and on reload and stop). Writing happens on the
// StateWriter's thread; the loop only copies changed records and hands them
// over, which it measures.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "log/log.hpp"
#include "state/state_file.hpp"
#include "state/state_writer.hpp"

namespace wsheart::state {

class StateStore {
 public:
  struct Options {
    std::string directory;
    std::chrono::milliseconds write_delay{0};  // test hook: a slow disk (StateWriter::Options)
  };
  // The current record of a user, or nullopt when it has none any more
  // (removed, or no cursor): the owner answers on the loop thread.
  using Snapshot = std::function<std::optional<UserRecord>(const std::string& id)>;

  StateStore(asio::io_context& io, const Logger& log, Options options, Snapshot snapshot);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // The saved record of a user, once (the first call after the file was
  // read); reads the file on first use. A bad file: one warning, moved aside.
  std::optional<UserRecord> take(const std::string& id);
  // After the users were created: saved records nobody took (users no longer
  // configured, or without a cursor now) leave the file with the next flush.
  void drop_unclaimed();
  // The user's record changed or went away: it is written with the next flush.
  void changed(const std::string& id);
  void set_interval(std::chrono::milliseconds interval) { interval_ = interval; }
  // Hand every changed record to the writer now (reload, stop).
  void flush();
  // After the loop stopped: flush, wait for the writer, log a failure.
  void close();

  bool opened() const { return writer_ != nullptr; }
  // The longest time one flush kept the loop busy, and the last write's figures.
  std::chrono::microseconds longest_flush() const { return longest_flush_; }

 private:
  void open();
  void arm();
  void written(const StateWriter::Result& result);

  asio::io_context& io_;
  const Logger& log_;
  Options options_;
  Snapshot snapshot_;
  Records loaded_;
  std::vector<std::string> dirty_;
  std::chrono::milliseconds interval_{5000};
  asio::steady_timer timer_;
  bool armed_ = false;
  std::chrono::steady_clock::time_point last_flush_{};
  std::chrono::microseconds longest_flush_{0};
  bool failing_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<StateWriter> writer_;  // last: its thread stops first
};

}  // namespace wsheart::state
