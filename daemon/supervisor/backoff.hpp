// Exponential backoff with full jitter: uniform(0, min(max, initial * mult^n)).
#pragma once

#include <chrono>
#include <random>

#include "config.hpp"

namespace wsheart::supervisor {

class Backoff {
 public:
  using Duration = std::chrono::milliseconds;

  Backoff(Duration initial, Duration max, double multiplier, config::Jitter jitter)
      : initial_(initial), max_(max), multiplier_(multiplier), jitter_(jitter) {}

  // The ceiling for attempt n (0-based), saturating at max; never overflows.
  Duration cap(unsigned attempt) const;
  // Draw the delay for the current attempt and count it.
  Duration next(std::mt19937_64& rng);
  void reset() { attempts_ = 0; }
  unsigned attempts() const { return attempts_; }

 private:
  Duration initial_;
  Duration max_;
  double multiplier_;
  config::Jitter jitter_;
  unsigned attempts_ = 0;
};

}  // namespace wsheart::supervisor
