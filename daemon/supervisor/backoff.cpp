#include "supervisor/backoff.hpp"

#include <cmath>
#include <limits>

namespace wsheart::supervisor {

namespace {
// Past this the ceiling is at max for any sane config; stop counting so the
// exponent never grows without bound.
constexpr unsigned kAttemptCeiling = 1000;
}  // namespace

Backoff::Duration Backoff::cap(unsigned attempt) const {
  const double initial = static_cast<double>(initial_.count());
  const double ceiling = initial * std::pow(multiplier_, static_cast<double>(attempt));
  // pow may overflow to inf (or NaN with odd multipliers): both mean "at max".
  if (!std::isfinite(ceiling) || ceiling >= static_cast<double>(max_.count())) return max_;
  return Duration(static_cast<Duration::rep>(std::llround(ceiling)));
}

Backoff::Duration Backoff::next(Rng& rng) {
  const Duration ceiling = cap(attempts_);
  if (attempts_ < kAttemptCeiling) ++attempts_;
  if (jitter_ == config::Jitter::None) return ceiling;
  std::uniform_int_distribution<Duration::rep> draw(0, ceiling.count());
  return Duration(draw(rng));
}

}  // namespace wsheart::supervisor
