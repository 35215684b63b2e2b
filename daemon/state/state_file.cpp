#include "state/state_file.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <system_error>

#include <nlohmann/json.hpp>

namespace wsheart::state {
namespace {

constexpr std::string_view kFormatName = "wsheartd-state";
constexpr off_t kLargestFile = 64 * 1024 * 1024;

std::string errno_text(int error_number) { return std::generic_category().message(error_number); }

std::string hex(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[value & 0xf];
    value >>= 4;
  }
  return out;
}

std::optional<std::uint64_t> from_hex(const std::string& text) {
  if (text.size() != 16) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    value <<= 4;
    if (c >= '0' && c <= '9') {
      value |= static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      value |= static_cast<std::uint64_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
  }
  return value;
}

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

std::optional<std::string> read_all(const std::string& path, std::string& out, bool& missing) {
  missing = false;
  const Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (file.fd < 0) {
    if (errno == ENOENT) {
      missing = true;
      return std::nullopt;
    }
    return "cannot open: " + errno_text(errno);
  }
  struct stat status {};
  if (::fstat(file.fd, &status) != 0) return "cannot stat: " + errno_text(errno);
  if (!S_ISREG(status.st_mode)) return "not a regular file";
  if (status.st_size > kLargestFile) return "larger than 64MiB";
  std::array<char, 65536> chunk{};
  while (true) {
    const ssize_t count = ::read(file.fd, chunk.data(), chunk.size());
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return "cannot read: " + errno_text(errno);
    if (count == 0) break;
    out.append(chunk.data(), static_cast<std::size_t>(count));
    if (out.size() > static_cast<std::size_t>(kLargestFile)) return "larger than 64MiB";
  }
  return std::nullopt;
}

bool write_all(int fd, std::string_view contents) {
  while (!contents.empty()) {
    const ssize_t count = ::write(fd, contents.data(), contents.size());
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return false;
    contents.remove_prefix(static_cast<std::size_t>(count));
  }
  return true;
}

std::optional<std::string> make_directories(const std::string& directory) {
  if (directory.empty()) return std::string("no state directory");
  std::size_t at = 0;
  while (at != std::string::npos) {
    at = directory.find('/', at + 1);
    const std::string prefix = directory.substr(0, at);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return "cannot create " + prefix + ": " + errno_text(errno);
    }
  }
  return std::nullopt;
}

std::string home_directory() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/') return home;
  std::array<char, 16384> buffer{};
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(::getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr &&
      found->pw_dir != nullptr) {
    return found->pw_dir;
  }
  return "/";
}

}  // namespace

std::string serialize(const Records& records) {
  nlohmann::json users = nlohmann::json::object();
  for (const auto& [id, record] : records) {
    nlohmann::json seen = nlohmann::json::array();
    for (const std::uint64_t identity : record.seen) seen.push_back(hex(identity));
    users[id] = {{"origin", record.origin}, {"seq", record.last_seq}, {"cursor", record.cursors}, {"seen", seen}};
  }
  const nlohmann::json document = {{"format", kFormatName}, {"version", kFormatVersion}, {"users", users}};
  return document.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::optional<Records> parse(std::string_view text, std::string* error) {
  const auto fail = [error](std::string why) -> std::optional<Records> {
    if (error != nullptr) *error = std::move(why);
    return std::nullopt;
  };
  const nlohmann::json document = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (document.is_discarded()) return fail("not JSON");
  if (!document.is_object() || document.value("format", std::string()) != kFormatName) {
    return fail("not a wsheartd state file");
  }
  const auto version = document.find("version");
  if (version == document.end() || !version->is_number_integer() || version->get<int>() != kFormatVersion) {
    return fail("state file version " + (version == document.end() ? std::string("missing") : version->dump()) +
                ", this wsheartd reads version " + std::to_string(kFormatVersion));
  }
  const auto users = document.find("users");
  if (users == document.end() || !users->is_object()) return fail("no \"users\" object");
  Records records;
  for (const auto& [id, entry] : users->items()) {
    const auto bad = [&](const char* what) { return fail("user \"" + id + "\": " + what); };
    if (!entry.is_object()) return bad("not an object");
    UserRecord record;
    const auto origin = entry.find("origin");
    const auto seq = entry.find("seq");
    const auto cursor = entry.find("cursor");
    const auto seen = entry.find("seen");
    if (origin == entry.end() || !origin->is_string()) return bad("origin is not a string");
    if (seq == entry.end() || !seq->is_number_unsigned()) return bad("seq is not an unsigned integer");
    if (cursor == entry.end() || !cursor->is_object()) return bad("cursor is not an object");
    if (seen == entry.end() || !seen->is_array()) return bad("seen is not an array");
    record.origin = origin->get<std::string>();
    record.last_seq = seq->get<std::uint64_t>();
    for (const auto& [name, value] : cursor->items()) {
      if (!value.is_string()) return bad("a cursor value is not a string");
      record.cursors[name] = value.get<std::string>();
    }
    for (const auto& identity : *seen) {
      const auto parsed = identity.is_string() ? from_hex(identity.get<std::string>()) : std::nullopt;
      if (!parsed) return bad("seen holds something other than 16 hex digits");
      record.seen.push_back(*parsed);
    }
    records.emplace(id, std::move(record));
  }
  return records;
}

Loaded load(const std::string& path, std::uint64_t unix_seconds) {
  Loaded loaded;
  std::string text;
  bool missing = false;
  std::optional<std::string> problem = read_all(path, text, missing);
  if (missing) return loaded;
  if (!problem) {
    std::string why;
    if (auto records = parse(text, &why)) {
      loaded.records = std::move(*records);
      return loaded;
    }
    problem = std::move(why);
  }
  const std::string aside = path + ".bad-" + std::to_string(unix_seconds);
  std::string warning = "state file " + path + " ignored (" + *problem + "): starting without saved cursors";
  if (::rename(path.c_str(), aside.c_str()) == 0) {
    warning += "; moved to " + aside;
  } else {
    warning += "; could not move it aside: " + errno_text(errno);
  }
  loaded.warning = std::move(warning);
  return loaded;
}

std::optional<std::string> write_atomic(const std::string& directory, std::string_view name,
                                        std::string_view contents) {
  if (auto problem = make_directories(directory)) return problem;
  const std::string target = directory + "/" + std::string(name);
  std::string temp = directory + "/." + std::string(name) + ".XXXXXX";
  const Fd file(::mkostemp(temp.data(), O_CLOEXEC));
  if (file.fd < 0) return "cannot create a file in " + directory + ": " + errno_text(errno);
  const auto fail = [&](const std::string& what) -> std::optional<std::string> {
    const int saved = errno;
    ::unlink(temp.c_str());
    return what + ": " + errno_text(saved);
  };
  // mkostemp creates 0600 already; fchmod states it against any umask surprise.
  if (::fchmod(file.fd, 0600) != 0) return fail("cannot chmod " + temp);
  if (!write_all(file.fd, contents)) return fail("cannot write " + temp);
  if (::fsync(file.fd) != 0) return fail("cannot fsync " + temp);
  if (::rename(temp.c_str(), target.c_str()) != 0) return fail("cannot rename " + temp + " to " + target);
  const Fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.fd < 0 || ::fsync(dir.fd) != 0) return "cannot fsync " + directory + ": " + errno_text(errno);
  return std::nullopt;
}

std::string default_system_directory() {
  // systemd passes StateDirectory= as absolute paths separated by ':'.
  if (const char* state = std::getenv("STATE_DIRECTORY"); state != nullptr && *state == '/') {
    const std::string all(state);
    return all.substr(0, all.find(':'));
  }
  return "/var/lib/wsheartd";
}

std::string default_user_directory() {
  // XDG Base Directory: a relative XDG_STATE_HOME is invalid and ignored.
  const char* xdg = std::getenv("XDG_STATE_HOME");
  const std::string base = (xdg != nullptr && *xdg == '/') ? std::string(xdg) : home_directory() + "/.local/state";
  return base + "/wsheartd";
}

}  // namespace wsheart::state
