// Resume for one user, on the loop thread: what its cursor rules extract
// from each inbound text, whether the text is a replay, the values after
// each republished message, and its url, headers and on_open frames
// rendered with them. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "resume/extractor.hpp"
#include "resume/resume_state.hpp"

namespace wsheart::resume {

// scheme://host:port/path of a url (query left out): cursors are only
// valid for the endpoint that issued them. "" for a url that does not parse.
std::string origin_of(std::string_view url);

class UserResume {
 public:
  explicit UserResume(const config::UserConfig& config);

  const std::string& origin() const { return origin_; }

  // Before the text gets a seq. False: its cursor identity was seen, the
  // text is a replay; it is counted and must not be republished.
  bool admit(std::string_view text);
  // After the admitted text was republished on the bus: the cursors move.
  void republished();
  // The admitted text did not reach the bus: the cursors stay.
  void not_republished() { pending_.clear(); }

  std::string url(std::string_view url_template) const { return render_url(url_template, state_.values()); }
  // url(), parsed; nullopt if it does not parse.
  std::optional<config::Url> endpoint(std::string_view url_template) const;
  // Headers that render empty are left out.
  std::vector<config::Header> headers(const std::vector<config::Header>& templates) const;
  std::string frame(std::string_view frame_template) const { return render_frame(frame_template, state_.values()); }

  ResumeState& state() { return state_; }
  const ResumeState& state() const { return state_; }
  // Set by republished(); the owner clears it once it has noted the change.
  bool changed() const { return changed_; }
  void clear_changed() { changed_ = false; }

 private:
  Extractor extractor_;
  std::string origin_;
  ResumeState state_;
  CursorUpdate pending_;
  std::uint64_t pending_identity_ = 0;
  bool changed_ = false;
};

}  // namespace wsheart::resume
