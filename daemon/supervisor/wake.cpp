#include "supervisor/wake.hpp"

namespace wsheart::supervisor {

bool WakeDetector::logind_woke(TimePoint now, Offset offset) {
  baseline_ = offset;  // this sleep's gap is accounted for
  return report(Source::Logind, now);
}

bool WakeDetector::tick(TimePoint now, Offset offset) {
  if (offset - baseline_ <= kGap) return false;
  baseline_ = offset;
  return report(Source::Clock, now);
}

bool WakeDetector::report(Source source, TimePoint now) {
  const bool same_wake = last_ && last_->source != source && !slept_since_wake_ && now - last_->at < kSameWake;
  if (same_wake) return false;
  last_ = Last{source, now};
  slept_since_wake_ = false;
  return true;
}

}  // namespace wsheart::supervisor
