#include "resume/resume_state.hpp"

#include <algorithm>

namespace wsheart::resume {

std::uint64_t ResumeState::identity(const CursorUpdate& update) {
  std::uint64_t hash = 14695981039346656037ULL;
  const auto mix = [&hash](const std::string& text) {
    for (const char c : text) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 1099511628211ULL;
    }
    hash *= 1099511628211ULL;  // the terminating zero byte (xor 0 is a no-op)
  };
  for (const auto& [name, value] : update) {
    mix(name);
    mix(value);
  }
  return hash;
}

bool ResumeState::seen(std::uint64_t identity) const {
  return std::find(seen_.begin(), seen_.end(), identity) != seen_.end();
}

void ResumeState::advance(const CursorUpdate& update, std::uint64_t identity) {
  for (const auto& [name, value] : update) values_[name] = value;
  remember(identity);
}

void ResumeState::remember(std::uint64_t identity) {
  if (seen_.size() < kSeenCapacity) {
    seen_.push_back(identity);
    return;
  }
  seen_[next_] = identity;
  next_ = (next_ + 1) % kSeenCapacity;
}

void ResumeState::forget() {
  values_.clear();
  seen_.clear();
  next_ = 0;
}

void ResumeState::restore(CursorValues values, const std::vector<std::uint64_t>& seen_oldest_first) {
  forget();
  values_ = std::move(values);
  const std::size_t skip = seen_oldest_first.size() > kSeenCapacity ? seen_oldest_first.size() - kSeenCapacity : 0;
  for (std::size_t i = skip; i < seen_oldest_first.size(); ++i) remember(seen_oldest_first[i]);
}

std::vector<std::uint64_t> ResumeState::seen_oldest_first() const {
  if (seen_.size() < kSeenCapacity) return seen_;
  std::vector<std::uint64_t> out;
  out.reserve(seen_.size());
  for (std::size_t i = 0; i < seen_.size(); ++i) out.push_back(seen_[(next_ + i) % seen_.size()]);
  return out;
}

}  // namespace wsheart::resume
