// Exponential backoff with full jitter: uniform(0, min(max, initial * mult^n)).
#pragma once

#include <chrono>
#include <random>

#include "config.hpp"

namespace wsheart::supervisor {

// The jitter source. Users only need draws independent of each other (each is
// seeded from the OS), not statistical excellence: a minimal-standard LCG has
// 8 bytes of state where std::mt19937_64 has 2.5 KB, per user.
using Rng = std::minstd_rand;

class Backoff {
 public:
  using Duration = std::chrono::milliseconds;

  Backoff(Duration initial, Duration max, double multiplier, config::Jitter jitter)
      : initial_(initial), max_(max), multiplier_(multiplier), jitter_(jitter) {}

  // The ceiling for attempt n (0-based), saturating at max; never overflows.
  Duration cap(unsigned attempt) const;
  // Draw the delay for the current attempt and count it.
  Duration next(Rng& rng);
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
