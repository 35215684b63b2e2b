#include "metrics/metrics_file.hpp"

#include <algorithm>

#include <asio/post.hpp>

namespace wsheart::metrics {

std::string resolve_path(const std::string& configured, const std::string& state_directory) {
  if (configured.empty() || configured.front() == '/') return configured;
  return state_directory + "/" + configured;
}

MetricsFile::MetricsFile(asio::io_context& io, const Logger& log, std::string state_directory, Collect collect)
    : io_(io), log_(log), collect_(std::move(collect)), state_directory_(std::move(state_directory)), timer_(io) {}

MetricsFile::~MetricsFile() {
  timer_.cancel();
  if (writer_) writer_->stop();
}

void MetricsFile::configure(const std::string& configured, std::chrono::milliseconds interval) {
  const std::string path = resolve_path(configured, state_directory_);
  const bool relative = !configured.empty() && configured.front() != '/';
  interval_ = interval;
  if (path != target_.path) {
    if (!target_.path.empty() && writer_) writer_->remove(target_.path);
    target_ = MetricsWriter::Target{path, relative ? state_directory_ : std::string()};
    failing_ = false;
    if (!path.empty()) log_.info("metrics file ", path, ", rewritten every ", interval_.count(), " ms");
  }
  timer_.cancel();
  if (target_.path.empty()) return;
  if (!writer_) {
    writer_ = std::make_unique<MetricsWriter>([this, alive = std::weak_ptr<bool>(alive_)](
                                                  const MetricsWriter::Result& result) {
      // Writer thread: hand the outcome to the loop.
      asio::post(io_, [this, alive, result] {
        if (alive.lock()) written(result);
      });
    });
  }
  write_now();
}

void MetricsFile::write_now() {
  const auto began = std::chrono::steady_clock::now();
  Snapshot snapshot = collect_();
  const std::size_t users = snapshot.users.size();
  writer_->submit(target_, std::move(snapshot));
  const auto took =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began);
  longest_snapshot_ = std::max(longest_snapshot_, took);
  log_.debug("metrics: ", users, " user(s) copied in ", took.count(), " us on the loop");
  arm();
}

void MetricsFile::arm() {
  timer_.expires_after(interval_);
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const std::error_code& ec) {
    if (ec || !alive.lock() || target_.path.empty()) return;
    write_now();
  });
}

void MetricsFile::close() {
  timer_.cancel();
  if (!writer_) return;
  if (!target_.path.empty()) writer_->remove(target_.path);
  writer_->stop();
  target_ = {};
}

void MetricsFile::written(const MetricsWriter::Result& result) {
  if (result.error && result.removal) {
    log_.warning("cannot remove the metrics file: ", *result.error);
    return;
  }
  if (result.error) {
    // Once per failure streak: a missing directory must not flood the journal.
    if (!failing_) log_.warning("cannot write the metrics file: ", *result.error);
    failing_ = true;
    return;
  }
  if (result.removal) return;
  if (failing_) log_.notice("metrics file written again: ", result.path);
  failing_ = false;
  log_.debug("metrics file written: ", result.bytes, " bytes, formatted in ", result.format_took.count(),
             " us, written in ", result.write_took.count(), " us");
}

}  // namespace wsheart::metrics
