#include "resume/user_resume.hpp"

#include "cursor.hpp"
#include "url.hpp"

namespace wsheart::resume {

std::string origin_of(std::string_view url) {
  const auto parsed = config::parse_ws_url(config::url_with_stand_ins(url));
  if (!parsed) return "";
  const bool ipv6 = parsed->host.find(':') != std::string::npos;
  std::string origin = parsed->secure ? "wss://" : "ws://";
  origin += ipv6 ? "[" + parsed->host + "]" : parsed->host;
  origin += ":" + std::to_string(parsed->port);
  origin += parsed->resource.substr(0, parsed->resource.find('?'));
  return origin;
}

UserResume::UserResume(const config::UserConfig& config)
    : extractor_(config.cursors, config.cursor_if), origin_(origin_of(config.url)) {}

bool UserResume::admit(std::string_view text) {
  pending_ = extractor_.extract(text);
  if (pending_.empty()) return true;  // moves no cursor: always republished
  pending_identity_ = ResumeState::identity(pending_);
  if (state_.seen(pending_identity_)) {
    pending_.clear();
    state_.count_duplicate();
    return false;
  }
  return true;
}

void UserResume::republished() {
  if (pending_.empty()) return;
  state_.advance(pending_, pending_identity_);
  pending_.clear();
  changed_ = true;
}

std::optional<config::Url> UserResume::endpoint(std::string_view url_template) const {
  return config::parse_ws_url(url(url_template));
}

std::vector<config::Header> UserResume::headers(const std::vector<config::Header>& templates) const {
  std::vector<config::Header> out;
  out.reserve(templates.size());
  for (const auto& header : templates) {
    if (!has_placeholder(header.value)) {
      out.push_back(header);
      continue;
    }
    std::string value = render_header(header.value, state_.values());
    if (!value.empty()) out.push_back(config::Header{header.name, std::move(value)});
  }
  return out;
}

}  // namespace wsheart::resume
