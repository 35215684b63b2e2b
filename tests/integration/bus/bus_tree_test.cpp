// The user objects as clients see them: introspection against the interface
// XML, the tree, GetManagedObjects, and which paths are (not) objects. All
// users are served by one sd-bus registration (a fallback vtable, a find
// callback and a node enumerator); these tests pin down that, to a client,
// every user is still an object of its own, exactly as org.wsheartd1.xml says.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bus_fixture.hpp"

namespace wsheart::bus::test {
namespace {

using wsheart::test::kSystemPython;

const char* kUser = "org.wsheartd1.User";

// ---- a small reader for introspection XML -------------------------------------

struct Tag {
  std::string name;
  std::map<std::string, std::string> attrs;
  bool closing = false;       // </name>
  bool self_closing = false;  // <name ... />
};

// The element tags of `xml`, in order; comments, <!DOCTYPE> and <?...?> are
// skipped. Enough for introspection data (no entities in names or types).
std::vector<Tag> read_tags(const std::string& xml) {
  std::vector<Tag> tags;
  std::size_t i = 0;
  while ((i = xml.find('<', i)) != std::string::npos) {
    if (xml.compare(i, 4, "<!--") == 0) {
      i = xml.find("-->", i);
      if (i == std::string::npos) break;
      i += 3;
      continue;
    }
    const std::size_t end = xml.find('>', i);
    if (end == std::string::npos) break;
    std::string body = xml.substr(i + 1, end - i - 1);
    i = end + 1;
    if (body.empty() || body[0] == '!' || body[0] == '?') continue;
    Tag tag;
    if (body[0] == '/') {
      tag.closing = true;
      body.erase(0, 1);
    }
    if (!body.empty() && body.back() == '/') {
      tag.self_closing = true;
      body.pop_back();
    }
    std::size_t p = body.find_first_of(" \t\r\n");
    tag.name = body.substr(0, p);
    while (p != std::string::npos) {
      const std::size_t key_begin = body.find_first_not_of(" \t\r\n", p);
      if (key_begin == std::string::npos) break;
      const std::size_t eq = body.find('=', key_begin);
      const std::size_t open = body.find('"', eq);
      const std::size_t close = body.find('"', open + 1);
      if (eq == std::string::npos || open == std::string::npos || close == std::string::npos) break;
      tag.attrs[body.substr(key_begin, eq - key_begin)] = body.substr(open + 1, close - open - 1);
      p = close + 1;
    }
    tags.push_back(std::move(tag));
  }
  return tags;
}

// Each interface of a node, rendered one member per line in a canonical form
// (sorted by kind and name; defaults made explicit), so two descriptions can
// be compared as strings and a difference reads as a diff.
std::map<std::string, std::string> interfaces_of(const std::string& xml) {
  std::map<std::string, std::map<std::string, std::string>> members;  // interface -> key -> line
  std::string interface;
  std::string kind;  // method, signal, property
  std::string key;
  int depth = 0;  // of <node>: only the node's own interfaces, not its children's
  for (const Tag& tag : read_tags(xml)) {
    if (tag.name == "node") {
      if (tag.closing) {
        --depth;
      } else if (!tag.self_closing) {
        ++depth;
      }
      continue;
    }
    if (depth != 1) continue;
    if (tag.name == "interface") {
      interface = tag.closing ? "" : tag.attrs.at("name");
      if (!tag.closing) members[interface];
      continue;
    }
    if (tag.name == "method" || tag.name == "signal" || tag.name == "property") {
      if (tag.closing) {
        kind.clear();
        continue;
      }
      kind = tag.name;
      key = kind + " " + tag.attrs.at("name");
      std::string line = key;
      if (kind == "property") {
        line += " " + tag.attrs.at("type") + " " + tag.attrs.at("access");
      }
      members[interface][key] = line;
      if (tag.self_closing) kind.clear();
      continue;
    }
    if (tag.name == "arg" && !kind.empty()) {
      // Defaults of the introspection format: method arguments are "in",
      // signal arguments "out".
      auto dir = tag.attrs.find("direction");
      const std::string direction =
          dir != tag.attrs.end() ? dir->second : (kind == "method" ? std::string("in") : std::string("out"));
      auto name = tag.attrs.find("name");
      members[interface][key] += " (" + direction + " " + tag.attrs.at("type") + " " +
                                 (name != tag.attrs.end() ? name->second : std::string("-")) + ")";
      continue;
    }
    // Method.Async tells sdbus-c++'s code generator to make a handler that
    // answers later; it is not part of what goes over the bus.
    if (tag.name == "annotation" && !kind.empty() && tag.attrs.at("name") != "org.freedesktop.DBus.Method.Async") {
      members[interface][key] += " @" + tag.attrs.at("name") + "=" + tag.attrs.at("value");
    }
  }
  std::map<std::string, std::string> out;
  for (const auto& [name, lines] : members) {
    std::string text;
    for (const auto& entry : lines) text += entry.second + "\n";
    out[name] = text;
  }
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string contract_xml() { return read_text(std::string(WSHEART_SOURCE_DIR) + "/daemon/bus/org.wsheartd1.xml"); }

std::set<std::string> lines_of(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.insert(line);
  }
  return out;
}

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// GetManagedObjects as python3-dbus sees it, one line per object:
// "<path> <interfaces,...> <Id as hex> <property:signature,...>".
const char* kManagedObjectsScript = R"(
import sys, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
manager = bus.get_object("org.wsheartd1", "/org/wsheartd1")
objects = manager.GetManagedObjects(dbus_interface="org.freedesktop.DBus.ObjectManager")
sig = {dbus.String: "s", dbus.UInt64: "t", dbus.UInt32: "u", dbus.Dictionary: "a{ss}"}
for path, interfaces in objects.items():
    props = interfaces.get("org.wsheartd1.User", {})
    print(path, ",".join(sorted(interfaces)), str(props.get("Id", "")).encode("utf-8").hex(),
          ",".join(sorted(k + ":" + sig.get(type(v), "?") for k, v in props.items())))
)";

class BusTreeTest : public BusTest {
 protected:
  std::string introspect(const std::string& path) {
    auto r = client({"busctl", "--address=" + address(), "introspect", "--xml-interface", kBusName, path});
    EXPECT_EQ(r.exit_code, 0) << path << ": " << r.err;
    return r.out;
  }
  std::set<std::string> tree() {
    auto r = client({"busctl", "--address=" + address(), "tree", "--list", kBusName});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return lines_of(r.out);
  }
  std::set<std::string> managed_objects() {
    auto r = client({kSystemPython, "-c", kManagedObjectsScript, address()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return lines_of(r.out);
  }
  // The error name a client gets for a User method on `path`.
  std::string call_error(const std::string& path) {
    auto r = gdbus_call(path, "org.wsheartd1.User.Reconnect");
    EXPECT_NE(r.exit_code, 0) << path;
    return r.err;
  }
};

const std::vector<std::string>& odd_ids() {
  static const std::vector<std::string> ids{"alice", "a-b.c", "0day", "ünï", "A_B", "x y/z"};
  return ids;
}

// ---- introspection --------------------------------------------------------------

TEST_F(BusTreeTest, UserIntrospectionMatchesTheInterfaceXml) {
  start();
  for (const auto& id : odd_ids()) add(id);
  service_->request_name();

  const auto contract = interfaces_of(contract_xml());
  ASSERT_EQ(contract.count(kUser), 1u) << "org.wsheartd1.xml has no " << kUser;
  ASSERT_NE(contract.at(kUser).find("method Send (in s text) (out b queued)"), std::string::npos)
      << "the reader did not understand org.wsheartd1.xml:\n" << contract.at(kUser);

  for (const auto& id : odd_ids()) {
    const std::string path = user_path(id);
    const auto seen = interfaces_of(introspect(path));
    // Every member with its arguments (names, types, directions), every
    // property with type, access and EmitsChangedSignal; nothing more (an
    // extra annotation such as systemd's Privileged would show up here).
    ASSERT_EQ(seen.count(kUser), 1u) << path;
    EXPECT_EQ(seen.at(kUser), contract.at(kUser)) << path;
    // The standard interfaces and User; no ObjectManager (that is the manager's).
    std::set<std::string> names;
    for (const auto& entry : seen) names.insert(entry.first);
    EXPECT_EQ(names, (std::set<std::string>{"org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Peer",
                                            "org.freedesktop.DBus.Properties", kUser}))
        << path;
  }

  // The manager object is still described by the same file.
  const auto manager = interfaces_of(introspect(kManagerPath));
  ASSERT_EQ(manager.count(kManagerInterface), 1u);
  EXPECT_EQ(manager.at(kManagerInterface), contract.at(kManagerInterface));
}

// On a bus sd-bus does not trust (sd_bus_open_system, as `wsheartd --system`
// connects), a member without SD_BUS_VTABLE_UNPRIVILEGED would demand
// CAP_SYS_ADMIN of every caller, and introspection would carry systemd's
// Privileged annotation. Access is the daemon's to check, per user.
TEST_F(BusTreeTest, UserMethodsNeedNoPrivilegeOnTheSystemBus) {
  const char* saved = std::getenv("DBUS_SYSTEM_BUS_ADDRESS");
  const std::optional<std::string> previous = saved != nullptr ? std::optional<std::string>(saved) : std::nullopt;
  ASSERT_EQ(::setenv("DBUS_SYSTEM_BUS_ADDRESS", address().c_str(), 1), 0);
  BusOptions options;
  options.kind = BusKind::System;  // no address: the system bus from the environment
  options.version = "0.1.0-test";
  service_ = std::make_unique<BusService>(io_, backend_, log_, options);
  if (previous) {
    ::setenv("DBUS_SYSTEM_BUS_ADDRESS", previous->c_str(), 1);
  } else {
    ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
  }
  add("alice");
  service_->request_name();

  const std::string xml = introspect(user_path("alice"));
  EXPECT_EQ(xml.find("Privileged"), std::string::npos) << xml;
  const auto seen = interfaces_of(xml);
  ASSERT_EQ(seen.count(kUser), 1u);
  EXPECT_EQ(seen.at(kUser), interfaces_of(contract_xml()).at(kUser));
}

TEST_F(BusTreeTest, UserRootListsEveryUserAndIsNoObject) {
  start();
  for (const auto& id : odd_ids()) add(id);
  service_->request_name();

  std::set<std::string> children;
  for (const Tag& tag : read_tags(introspect(kUserPathPrefix))) {
    if (tag.name == "node" && tag.attrs.count("name") != 0) children.insert(tag.attrs.at("name"));
  }
  std::set<std::string> expected;
  for (const auto& id : odd_ids()) expected.insert(user_path(id).substr(std::string(kUserPathPrefix).size() + 1));
  EXPECT_EQ(children, expected);
  // Not a user: no User interface there, and calls find no object.
  EXPECT_EQ(interfaces_of(introspect(kUserPathPrefix)).count(kUser), 0u);
  EXPECT_NE(call_error(kUserPathPrefix).find("org.freedesktop.DBus.Error.UnknownObject"), std::string::npos);
}

// ---- tree and GetManagedObjects ------------------------------------------------

TEST_F(BusTreeTest, TreeAndGetManagedObjectsListEveryUserWithAllProperties) {
  start();
  std::vector<std::string> ids = odd_ids();
  for (int i = 0; i < 300; ++i) ids.push_back("user-" + std::to_string(i));
  for (const auto& id : ids) add(id).figures.state = supervisor::State::Open;
  service_->request_name();

  std::set<std::string> expected_tree{"/", "/org", kManagerPath, kUserPathPrefix};
  std::set<std::string> expected_objects;
  const std::string interfaces =
      "org.freedesktop.DBus.Introspectable,org.freedesktop.DBus.Peer,org.freedesktop.DBus.Properties," +
      std::string(kUser);
  const std::string properties =
      "Cursor:a{ss},Id:s,LastMessageAt:t,MessagesDropped:t,MessagesDuplicate:t,MessagesReceived:t,MessagesSent:t,Proxy:s,"
      "Reconnects:u,RoundTripUsec:t,"
      "State:s,StateReason:s,StateSince:t,Url:s";
  for (const auto& id : ids) {
    expected_tree.insert(user_path(id));
    expected_objects.insert(user_path(id) + " " + interfaces + " " + hex(id) + " " + properties);
  }
  EXPECT_EQ(tree(), expected_tree);
  EXPECT_EQ(managed_objects(), expected_objects);
}

TEST_F(BusTreeTest, TreeFollowsAddAndRemoveDownToNoUsers) {
  start();
  service_->request_name();
  // No users: no user tree at all (as when every user had an object of its own).
  EXPECT_EQ(tree(), (std::set<std::string>{"/", "/org", kManagerPath}));
  EXPECT_TRUE(managed_objects().empty());

  add("alice");
  add("bob");
  EXPECT_EQ(tree(), (std::set<std::string>{"/", "/org", kManagerPath, kUserPathPrefix, user_path("alice"),
                                           user_path("bob")}));
  remove("alice");
  EXPECT_EQ(tree(), (std::set<std::string>{"/", "/org", kManagerPath, kUserPathPrefix, user_path("bob")}));
  EXPECT_NE(call_error(user_path("alice")).find("org.freedesktop.DBus.Error.UnknownObject"), std::string::npos);

  remove("bob");
  EXPECT_EQ(tree(), (std::set<std::string>{"/", "/org", kManagerPath}));
  EXPECT_NE(call_error(user_path("bob")).find("org.freedesktop.DBus.Error.UnknownObject"), std::string::npos);

  // And back: the user tree comes back with the first user.
  add("carol");
  EXPECT_EQ(tree(), (std::set<std::string>{"/", "/org", kManagerPath, kUserPathPrefix, user_path("carol")}));
  EXPECT_EQ(get_property(user_path("carol"), kUser, "Id"), R"({"type":"s","data":"carol"})");
  auto r = busctl({"call", kBusName, user_path("carol"), kUser, "Reconnect"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(backend_.reconnected, std::vector<std::string>{"carol"});
}

// ---- which paths are users ---------------------------------------------------------

TEST_F(BusTreeTest, OnlyTheExactEncodedPathOfAUserIsItsObject) {
  start();
  add("alice");
  add("a-b.c");
  service_->request_name();
  // Other spellings that sd_bus_path_decode would map to the same id, deeper
  // paths, and ids nobody has: all unknown objects, and the backend is not asked.
  for (const std::string& path :
       {std::string(kUserPathPrefix) + "/_61lice", user_path("alice") + "/x", std::string(kUserPathPrefix) + "/a_2Db_2Ec",
        user_path("nobody"), std::string(kManagerPath) + "/alice"}) {
    EXPECT_NE(call_error(path).find("org.freedesktop.DBus.Error.UnknownObject"), std::string::npos) << path;
    auto r = busctl({"get-property", kBusName, path, kUser, "Id"});
    EXPECT_NE(r.exit_code, 0) << path;
  }
  EXPECT_TRUE(backend_.reconnected.empty());
  // The real paths answer.
  EXPECT_EQ(get_property(user_path("a-b.c"), kUser, "Id"), R"({"type":"s","data":"a-b.c"})");
  auto r = busctl({"call", kBusName, user_path("alice"), kUser, "Reconnect"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(backend_.reconnected, std::vector<std::string>{"alice"});
}

}  // namespace
}  // namespace wsheart::bus::test
