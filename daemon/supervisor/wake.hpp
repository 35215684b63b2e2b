// One "wake" event from two sources, each wake handled once. PURE: the
// caller passes the clocks in.
//
//  - logind's PrepareForSleep(false) on the system bus;
//  - a clock-gap check on timer ticks: CLOCK_MONOTONIC stops while the machine
//    sleeps and CLOCK_BOOTTIME does not, so their difference growing by more
//    than kGap means the machine slept (works without logind, in containers).
//
// Both usually see the same sleep. The first report is the wake; the other
// source's report of it is swallowed: a clock-gap report re-baselines the
// offset, and a logind wake re-baselines it too, so a later tick finds no
// gap; a report from the other source soon after (kSameWake) with no
// PrepareForSleep(true) in between is the same wake.
#pragma once

#include <chrono>
#include <optional>

namespace wsheart::supervisor {

class WakeDetector {
 public:
  using Offset = std::chrono::nanoseconds;  // CLOCK_BOOTTIME - CLOCK_MONOTONIC
  using TimePoint = std::chrono::steady_clock::time_point;
  enum class Source { Logind, Clock };

  static constexpr Offset kGap = std::chrono::seconds(1);
  static constexpr std::chrono::seconds kSameWake{10};

  explicit WakeDetector(Offset offset) : baseline_(offset) {}

  // logind's PrepareForSleep(true): the next report is a new wake.
  void sleeping() { slept_since_wake_ = true; }
  // PrepareForSleep(false). True: handle this wake.
  bool logind_woke(TimePoint now, Offset offset);
  // A timer tick. True: the machine slept and no source has reported it yet.
  bool tick(TimePoint now, Offset offset);

 private:
  bool report(Source source, TimePoint now);

  Offset baseline_;
  struct Last {
    Source source;
    TimePoint at;
  };
  std::optional<Last> last_;
  bool slept_since_wake_ = false;
};

}  // namespace wsheart::supervisor
