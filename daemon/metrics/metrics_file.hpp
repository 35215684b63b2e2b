// The metrics file as the event loop sees it: every metrics_interval (and
// at start and after a reload) the loop copies each user's figures into a
// Snapshot and hands it to the MetricsWriter, which formats and writes it on
// its own thread. At a clean stop the file is removed, so a stopped daemon's
// last figures are not scraped as if they were current.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "log/log.hpp"
#include "metrics/exposition.hpp"
#include "metrics/metrics_writer.hpp"

namespace wsheart::metrics {

// metrics_file as configured -> the path written: a relative name is a file
// of the daemon's state directory.
std::string resolve_path(const std::string& configured, const std::string& state_directory);

class MetricsFile {
 public:
  // Called on the loop thread: the figures now.
  using Collect = std::function<Snapshot()>;

  MetricsFile(asio::io_context& io, const Logger& log, std::string state_directory, Collect collect);
  ~MetricsFile();
  MetricsFile(const MetricsFile&) = delete;
  MetricsFile& operator=(const MetricsFile&) = delete;

  // At start and after every reload, with metrics_file as configured: ""
  // turns it off (removing the file written so far); a new path removes the
  // old file. Writes once at once.
  void configure(const std::string& configured, std::chrono::milliseconds interval);
  // After the loop stopped: remove the file and wait for the writer.
  void close();

  // The longest time one snapshot kept the loop busy.
  std::chrono::microseconds longest_snapshot() const { return longest_snapshot_; }

 private:
  void write_now();
  void arm();
  void written(const MetricsWriter::Result& result);

  asio::io_context& io_;
  const Logger& log_;
  Collect collect_;
  std::string state_directory_;
  MetricsWriter::Target target_;  // path "" = off
  std::chrono::milliseconds interval_{15000};
  asio::steady_timer timer_;
  std::chrono::microseconds longest_snapshot_{0};
  bool failing_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<MetricsWriter> writer_;  // last: its thread stops first; started on first use
};

}  // namespace wsheart::metrics
