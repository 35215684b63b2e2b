// Security, end to end: the real wsheartd on a private bus.
//
// Secrets: a config holding distinct secret strings (a header value, a
// headers_file line, URL userinfo, a secret query value) drives connects,
// failures (HTTP 401, TLS, refused TCP) and reloads (valid and invalid), and
// everything the daemon says — its whole stderr at debug level, every bus
// property, wsheartctl output, reload and --check-config errors — is searched
// for every secret (and for the base64 form the userinfo travels in). The
// server is then shown to have received each secret, so the search cannot
// pass because nothing was sent.
//
// TLS: certificates generated with openssl for the test (a CA, a server
// certificate, an expired one, a wrong-host one, a client certificate), one
// wsheart-echo per server certificate, and the reasons the daemon publishes.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "encoding.hpp"
#include "harness.hpp"

namespace wsheart::test {
namespace {

// Distinct, unlikely strings: any of them found in the daemon's output is a leak.
const std::string kHeaderSecret = "hdrS3cretQx7Lp2";
const std::string kFileSecret = "fileS3cretVv9Kd4";
const std::string kUserinfoSecret = "pwS3cretMm3Zr8";
const std::string kQuerySecret = "qryS3cretTt5Wn1";
const std::vector<std::string> kSecrets{kHeaderSecret, kFileSecret, kUserinfoSecret, kQuerySecret};

// The userinfo is sent as "Authorization: Basic base64(user:password)".
const std::string kBasicCredentials = encoding::base64_encode("agent:" + kUserinfoSecret);

// Every form a secret could leak in.
std::vector<std::string> needles() {
  std::vector<std::string> all = kSecrets;
  all.push_back(kBasicCredentials);
  all.push_back(kBasicCredentials.substr(0, kBasicCredentials.size() - 4));  // unpadded prefix
  return all;
}

// Fails the test for every secret found in `text`; `what` names the source.
void expect_no_secret(const std::string& what, const std::string& text) {
  for (const std::string& secret : needles()) {
    const auto at = text.find(secret);
    EXPECT_EQ(at, std::string::npos) << "secret '" << secret << "' leaked in " << what << ": ..."
                                     << text.substr(at == std::string::npos ? 0 : (at > 80 ? at - 80 : 0), 200)
                                     << "...";
  }
}

const std::string kFastDefaults =
    "[defaults]\n"
    "heartbeat_interval = \"200ms\"\n"
    "heartbeat_timeout = \"500ms\"\n"
    "connect_timeout = \"2s\"\n"
    "reconnect_initial = \"50ms\"\n"
    "reconnect_max = \"200ms\"\n"
    "fatal_backoff = \"200ms\"\n";

std::string secret_user(const std::string& id, const std::string& scheme, std::uint16_t port,
                        const std::string& headers_file) {
  return "[[user]]\n"
         "id = \"" + id + "\"\n"
         "url = \"" + scheme + "://agent:" + kUserinfoSecret + "@127.0.0.1:" + std::to_string(port) +
         "/ws?token=" + kQuerySecret + "&who=" + id + "\"\n"
         "headers = { X-Api-Key = \"" + kHeaderSecret + "\" }\n"
         "headers_file = \"" + headers_file + "\"\n"
         "on_open = [\"echo:opened " + id + "\"]\n";
}

CommandResult ctl(DaemonHarness& h, const std::vector<std::string>& args) {
  std::vector<std::string> argv{wsheartctl_bin(), "--user"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, h.bus().env(), 10s);
}

std::string describe(const std::string& what, const CommandResult& r) {
  return what + " (exit " + std::to_string(r.exit_code) + ")\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// Certificates made for the test: a CA, a server certificate for 127.0.0.1
// and localhost, an expired one and a wrong-host one from the same CA, an
// unrelated CA, and a client certificate.
class Pki {
 public:
  Pki() {
    const std::string script = R"SH(
set -e
cd "$1"
ec() { echo "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"; }
openssl req -x509 $(ec) -keyout ca.key -out ca.pem -days 30 -subj /CN=wsheart-test-ca 2>/dev/null
openssl req -x509 $(ec) -keyout other-ca.key -out other-ca.pem -days 30 -subj /CN=wsheart-other-ca 2>/dev/null
for name in server expired wronghost client; do
  openssl req $(ec) -keyout $name.key -out $name.csr -subj /CN=$name 2>/dev/null
done
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
printf 'subjectAltName=DNS:wrong.example\n' > wrong.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile san.ext -out server.pem 2>/dev/null
openssl x509 -req -in wronghost.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile wrong.ext -out wronghost.pem 2>/dev/null
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile client.ext -out client.pem 2>/dev/null
# x509 -req cannot backdate (no -not_before in OpenSSL 3.0): openssl ca can.
cat > ca.cnf <<'EOF'
[ca]
default_ca = test_ca
[test_ca]
dir = .
database = index.txt
new_certs_dir = .
serial = ca.serial
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
EOF
: > index.txt
echo 1000 > ca.serial
openssl ca -batch -config ca.cnf -startdate 20200101000000Z -enddate 20200201000000Z -extfile san.ext \
  -in expired.csr -out expired.pem 2>/dev/null
openssl x509 -in server.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64 > server.pin
openssl x509 -in wronghost.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64 > other.pin
)SH";
    const CommandResult made = run_command({"sh", "-c", script, "sh", dir_.path()}, {}, 60s);
    if (made.exit_code != 0) throw std::runtime_error("openssl failed: " + made.err + made.out);
    server_pin_ = read("server.pin");
    other_pin_ = read("other.pin");
  }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  const std::string& server_pin() const { return server_pin_; }
  const std::string& other_pin() const { return other_pin_; }

 private:
  std::string read(const std::string& name) {
    CommandResult r = run_command({"cat", path(name)});
    while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == ' ')) r.out.pop_back();
    return r.out;
  }
  TempDir dir_;
  std::string server_pin_;
  std::string other_pin_;
};

TEST(Secrets, NeverLeakInLogsBusCliOrErrors) {
  EchoServer echo;                                   // accepts, echoes, reports what it got
  EchoServer refusing({"--refuse-upgrade", "401"});  // HTTP 401
  Pki pki;
  EchoServer untrusted({"--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key")});  // unknown CA
  DaemonHarness h;
  const std::string headers_file = h.dir().write("headers", "# rotated by ops\nX-Session: " + kFileSecret + "\n");

  const std::string users = secret_user("main", "ws", echo.port(), headers_file) +
                            secret_user("refused", "ws", refusing.port(), headers_file) +
                            secret_user("tls", "wss", untrusted.port(), headers_file) +
                            secret_user("nothere", "ws", 1, headers_file);          // TCP refused
  h.write_config(kFastDefaults + users);
  ASSERT_TRUE(h.start()) << h.daemon().err();

  std::vector<std::pair<std::string, std::string>> collected;  // (what, text)
  const auto collect = [&](const std::string& what, const CommandResult& r) {
    collected.emplace_back(what, describe(what, r));
  };

  Subprocess monitor({wsheartctl_bin(), "--user", "monitor"}, h.bus().env());
  Subprocess monitor_json({wsheartctl_bin(), "--user", "--json", "monitor"}, h.bus().env());

  ASSERT_TRUE(h.wait_state("main", "open")) << h.daemon().err();
  ASSERT_TRUE(eventually([&] { return h.user_property("refused", "StateReason").rfind("http_401", 0) == 0; }))
      << h.user_property("refused", "StateReason");
  ASSERT_TRUE(eventually([&] { return h.user_property("tls", "StateReason").rfind("tls_error", 0) == 0; }))
      << h.user_property("tls", "StateReason");
  ASSERT_TRUE(eventually([&] { return h.user_property("nothere", "StateReason").rfind("connect_failed", 0) == 0; }))
      << h.user_property("nothere", "StateReason");
  ASSERT_TRUE(eventually([&] { return h.user_property("main", "MessagesReceived") != "0"; }));

  // A manual reconnect and a send, for more log lines of every kind.
  collect("wsheartctl reconnect", ctl(h, {"reconnect", "main"}));
  ASSERT_TRUE(h.wait_state("main", "open"));
  collect("wsheartctl send", ctl(h, {"send", "main", "echo:public"}));

  // A valid reload (one user more, one user changed), then invalid ones.
  h.write_config(kFastDefaults + users + secret_user("added", "ws", echo.port(), headers_file));
  collect("wsheartctl reload (valid)", ctl(h, {"reload"}));
  ASSERT_TRUE(h.wait_state("added", "open")) << h.daemon().err();

  const std::vector<std::string> invalid_configs{
      // A header value with a control character; a bad header name next to a secret.
      kFastDefaults + users + "[[user]]\nid = \"bad1\"\nurl = \"ws://127.0.0.1:1/\"\n"
          "headers = { X-Api-Key = \"" + kHeaderSecret + "\\u0001\", \"Bad Name\" = \"" + kHeaderSecret + "\" }\n",
      // A password whose '@host' was forgotten, a non-ws scheme carrying credentials.
      kFastDefaults + users + "[[user]]\nid = \"bad2\"\nurl = \"ws://agent:" + kUserinfoSecret + "/x\"\n"
          "[[user]]\nid = \"bad3\"\nurl = \"https://agent:" + kUserinfoSecret + "@h/?token=" + kQuerySecret + "\"\n",
      // A header value of the wrong type next to secrets, a secret in a duplicated header.
      kFastDefaults + users + "[[user]]\nid = \"bad4\"\nurl = \"ws://127.0.0.1:1/?token=" + kQuerySecret + "\"\n"
          "headers = { X-Api-Key = \"" + kHeaderSecret + "\", x-api-key = \"" + kHeaderSecret + "\", X-N = 1 }\n",
      // TOML syntax errors on lines holding a secret.
      kFastDefaults + "[[user]]\nid = \"bad5\"\nurl = \"ws://127.0.0.1:1/\"\nheaders = { X-Api-Key = " + kHeaderSecret +
          " }\n",
      kFastDefaults + "[[user]]\nid = \"bad6\"\nurl = \"ws://127.0.0.1:1/\"\nheaders = { X-Api-Key = \"" +
          kHeaderSecret + "\\q\" }\n",
      kFastDefaults + "[[user]]\nid = \"bad7\"\nurl = ws://agent:" + kUserinfoSecret + "@h/\n",
  };
  for (std::size_t i = 0; i < invalid_configs.size(); ++i) {
    const std::string label = "invalid config #" + std::to_string(i + 1);
    h.write_config(invalid_configs[i]);
    const CommandResult reload = ctl(h, {"reload"});
    EXPECT_NE(reload.exit_code, 0) << describe(label + " reload", reload);
    EXPECT_NE(reload.err.find("config.toml:"), std::string::npos) << describe(label + " reload", reload);
    collect("wsheartctl reload, " + label, reload);
    const CommandResult check = run_command({wsheartd_bin(), "--check-config", "--config", h.config_path()});
    EXPECT_EQ(check.exit_code, 78) << describe(label + " --check-config", check);
    collect("--check-config, " + label, check);
    const CommandResult busctl_reload = h.busctl({"call", "org.wsheartd1", "/org/wsheartd1", "org.wsheartd1.Manager", "Reload"});
    EXPECT_NE(busctl_reload.exit_code, 0);
    collect("busctl Reload, " + label, busctl_reload);
  }
  // SIGHUP with the last invalid file: the error goes to the log.
  const auto diagnostics_logged = [&] {
    std::size_t count = 0;
    const std::string& err = h.daemon().err();
    for (std::size_t at = err.find("config.toml:"); at != std::string::npos; at = err.find("config.toml:", at + 1)) ++count;
    return count;
  };
  const std::size_t before_sighup = diagnostics_logged();
  h.daemon().signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return diagnostics_logged() > before_sighup; })) << h.daemon().err();

  // The valid file again; --check-config on it warns about its permissions.
  h.write_config(kFastDefaults + users + secret_user("added", "ws", echo.port(), headers_file));
  ::chmod(h.config_path().c_str(), 0644);
  const CommandResult check_ok = run_command({wsheartd_bin(), "--check-config", "--config", h.config_path()});
  EXPECT_EQ(check_ok.exit_code, 0) << describe("--check-config", check_ok);
  EXPECT_NE((check_ok.out + check_ok.err).find("readable by others (mode 0644)"), std::string::npos)
      << describe("--check-config", check_ok);
  collect("--check-config (valid)", check_ok);
  collect("wsheartctl reload (valid again)", ctl(h, {"reload"}));

  // Everything a client can read.
  collect("wsheartctl status", ctl(h, {"status"}));
  collect("wsheartctl --json status", ctl(h, {"--json", "status"}));
  collect("wsheartctl status main refused", ctl(h, {"status", "main", "refused", "tls", "nothere"}));
  collect("wsheartctl list", ctl(h, {"list"}));
  collect("wsheartctl --json list", ctl(h, {"--json", "list"}));
  collect("wsheartctl recent", ctl(h, {"recent", "main"}));
  collect("wsheartctl --json recent", ctl(h, {"--json", "recent", "main"}));
  const CommandResult objects = h.busctl({"--json=short", "call", "org.wsheartd1", "/org/wsheartd1",
                                          "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"});
  ASSERT_EQ(objects.exit_code, 0) << objects.err;
  ASSERT_NE(objects.out.find("\"Url\""), std::string::npos) << objects.out;  // not vacuous: properties are there
  ASSERT_NE(objects.out.find("***"), std::string::npos) << objects.out;      // and redacted
  collect("GetManagedObjects", objects);
  for (const std::string id : {"main", "refused", "tls", "nothere", "added"}) {
    collect("GetAll " + id, h.busctl({"call", "org.wsheartd1", user_path(id), "org.freedesktop.DBus.Properties",
                                      "GetAll", "s", "org.wsheartd1.User"}));
  }
  const CommandResult intro = h.busctl({"introspect", "org.wsheartd1", user_path("main")});
  collect("busctl introspect", intro);
  EXPECT_NE(intro.out.find("Url"), std::string::npos) << intro.out;

  monitor.signal(SIGINT);
  monitor_json.signal(SIGINT);
  monitor.wait();
  monitor_json.wait();
  collected.emplace_back("wsheartctl monitor", monitor.out() + monitor.err());
  collected.emplace_back("wsheartctl --json monitor", monitor_json.out() + monitor_json.err());
  EXPECT_NE(monitor.out().find("public"), std::string::npos) << monitor.out();  // the monitor saw traffic

  // The daemon's whole log so far (it runs at --log-level debug).
  const std::string log = h.daemon().err();
  EXPECT_NE(log.find("tls_error"), std::string::npos) << log;
  EXPECT_NE(log.find("http_401"), std::string::npos) << log;
  collected.emplace_back("wsheartd stderr", log + h.daemon().out());

  for (const auto& [what, text] : collected) expect_no_secret(what, text);

  // Not vacuous: the server received every secret. The echo logs the
  // resource it was asked for, and answers "headers" with the request headers.
  EXPECT_NE(echo.process().err().find("path=/ws?token=" + kQuerySecret), std::string::npos) << echo.process().err();
  const CommandResult sent = ctl(h, {"send", "main", "headers"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::string headers_seen;
  ASSERT_TRUE(eventually([&] {
    headers_seen = ctl(h, {"recent", "main"}).out;
    return headers_seen.find("X-Api-Key") != std::string::npos;
  })) << headers_seen;
  EXPECT_NE(headers_seen.find(kHeaderSecret), std::string::npos) << headers_seen;
  EXPECT_NE(headers_seen.find(kFileSecret), std::string::npos) << headers_seen;
  EXPECT_NE(headers_seen.find("Basic " + kBasicCredentials), std::string::npos) << headers_seen;
}

// ---------------------------------------------------------------------------
// TLS

std::string tls_user(const std::string& id, std::uint16_t port, const std::string& extra) {
  return "[[user]]\nid = \"" + id + "\"\nurl = \"wss://127.0.0.1:" + std::to_string(port) + "/ws?u=" + id + "\"\n" +
         extra + "\n";
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

TEST(Tls, VerificationPinningAndClientCertificatesEndToEnd) {
  Pki pki;
  ASSERT_EQ(pki.server_pin().size(), 44u) << pki.server_pin();
  const auto server = [&](const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--tls-cert", pki.path(name + ".pem"), "--tls-key", pki.path(name + ".key")};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  EchoServer good(server("server"));
  EchoServer expired(server("expired"));
  EchoServer wronghost(server("wronghost"));
  EchoServer mutual(server("server", {"--tls-client-ca", pki.path("ca.pem")}));

  const std::string ca = "ca_file = " + quoted(pki.path("ca.pem")) + "\n";
  const std::string client = "client_cert = " + quoted(pki.path("client.pem")) + "\nclient_key = " +
                             quoted(pki.path("client.key")) + "\n";
  DaemonHarness h;
  h.write_config(
      "[defaults]\nheartbeat_interval = \"200ms\"\nheartbeat_timeout = \"500ms\"\nconnect_timeout = \"3s\"\n"
      "reconnect_initial = \"20ms\"\nreconnect_max = \"50ms\"\nfatal_backoff = \"10m\"\n" +
      tls_user("valid", good.port(), ca) +
      tls_user("untrusted", good.port(), "ca_file = " + quoted(pki.path("other-ca.pem"))) +
      tls_user("systemstore", good.port(), "") +
      tls_user("expired", expired.port(), ca) +
      tls_user("wronghost", wronghost.port(), ca) +
      tls_user("nocert", mutual.port(), ca) +
      tls_user("withcert", mutual.port(), ca + client) +
      tls_user("pinok", good.port(), ca + "pin_sha256 = " + quoted(pki.server_pin())) +
      tls_user("pinlist", good.port(),
               ca + "pin_sha256 = [" + quoted("sha256//" + pki.other_pin()) + ", " + quoted(pki.server_pin()) + "]") +
      tls_user("pinbad", good.port(), ca + "pin_sha256 = " + quoted(pki.other_pin())) +
      tls_user("pinnoverify", good.port(), "tls_verify = false\npin_sha256 = " + quoted(pki.server_pin())) +
      tls_user("pinbadnoverify", good.port(), "tls_verify = false\npin_sha256 = " + quoted(pki.other_pin())));
  ASSERT_TRUE(h.start()) << h.daemon().err();

  for (const std::string id : {"valid", "withcert", "pinok", "pinlist", "pinnoverify"}) {
    EXPECT_TRUE(h.wait_state(id, "open")) << id << ": " << h.user_property(id, "StateReason") << "\n"
                                          << h.daemon().err();
  }
  const auto reason_is = [&](const std::string& id, const std::string& expected) {
    std::string reason;
    const bool ok = eventually([&] {
      reason = h.user_property(id, "StateReason");
      return reason == expected;
    });
    EXPECT_TRUE(ok) << id << ": StateReason is '" << reason << "', expected '" << expected << "'";
    EXPECT_EQ(h.user_property(id, "State"), "backoff") << id;
  };
  reason_is("expired", "tls_error: certificate has expired");
  reason_is("wronghost", "tls_error: host name mismatch");
  reason_is("untrusted", "tls_error: unable to get local issuer certificate");
  reason_is("systemstore", "tls_error: unable to get local issuer certificate");
  reason_is("pinbad", "tls_error: public key pin mismatch");
  reason_is("pinbadnoverify", "tls_error: public key pin mismatch");
  // The server refuses a client without a certificate: never open.
  EXPECT_TRUE(eventually([&] { return h.user_property("nocert", "StateReason").rfind("tls_error", 0) == 0; }))
      << h.user_property("nocert", "StateReason");
  EXPECT_NE(h.user_property("nocert", "State"), "open");

  // Verification failures are not retried soon: fatal_backoff (10m) applies.
  std::this_thread::sleep_for(300ms);  // 15 x reconnect_max: a retryable failure would have retried
  for (const std::string id : {"expired", "wronghost", "untrusted", "pinbad"}) {
    EXPECT_EQ(h.user_property(id, "Reconnects"), "0") << id;
  }

  // The reasons reach the log.
  const std::string log = h.daemon().err();
  for (const std::string reason : {"tls_error: certificate has expired", "tls_error: host name mismatch",
                                   "tls_error: public key pin mismatch"}) {
    EXPECT_NE(log.find(reason), std::string::npos) << reason << "\n" << log;
  }
  // Traffic flows over the pinned and the mutually authenticated connections.
  for (const std::string id : {"withcert", "pinok"}) {
    auto sent = h.busctl({"call", "org.wsheartd1", user_path(id), "org.wsheartd1.User", "Send", "s", "echo:over-tls"});
    EXPECT_EQ(sent.exit_code, 0) << sent.err;
    EXPECT_TRUE(eventually([&] { return h.user_property(id, "MessagesReceived") == "1"; })) << id;
  }
}

TEST(Tls, ClientKeyThatDoesNotMatchFailsTheAttemptWithoutLeakingIt) {
  Pki pki;
  EchoServer mutual({"--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key"), "--tls-client-ca",
                     pki.path("ca.pem")});
  DaemonHarness h;
  h.write_config("[defaults]\nreconnect_initial = \"20ms\"\nreconnect_max = \"50ms\"\n" +
                 tls_user("mismatch", mutual.port(),
                          "ca_file = " + quoted(pki.path("ca.pem")) + "\nclient_cert = " +
                              quoted(pki.path("client.pem")) + "\nclient_key = " + quoted(pki.path("server.key"))));
  ASSERT_TRUE(h.start()) << h.daemon().err();
  std::string reason;
  EXPECT_TRUE(eventually([&] {
    reason = h.user_property("mismatch", "StateReason");
    return reason.find("client_key") != std::string::npos;
  })) << reason;
  EXPECT_NE(h.user_property("mismatch", "State"), "open");
  EXPECT_EQ(h.daemon().err().find("PRIVATE KEY"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Per-user access on a system bus, end to end: wsheartd --system (as root) on a
// private dbus-daemon configured like Debian's system bus (default deny, no
// eavesdropping) with the project's policy file, clients as root and as
// nobody (setpriv).

constexpr const char* kNobody = "65534";

std::vector<std::string> as_nobody(std::vector<std::string> argv) {
  std::vector<std::string> out{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

class SystemBus {
 public:
  SystemBus() {
    ::chmod(dir_.path().c_str(), 0755);
    const std::string conf = dir_.write(
        "system.conf",
        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
        " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
        "<busconfig><type>system</type><listen>unix:path=" + dir_.path() + "/bus</listen><auth>EXTERNAL</auth>\n"
        // As Debian's /usr/share/dbus-1/system.conf: no eavesdrop="true" anywhere.
        "<policy context=\"default\"><allow user=\"*\"/><deny own=\"*\"/><deny send_type=\"method_call\"/>"
        "<allow send_type=\"signal\"/><allow send_requested_reply=\"true\" send_type=\"method_return\"/>"
        "<allow send_requested_reply=\"true\" send_type=\"error\"/><allow receive_type=\"method_call\"/>"
        "<allow receive_type=\"method_return\"/><allow receive_type=\"error\"/><allow receive_type=\"signal\"/>"
        "<allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus\"/>"
        "<allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus.Introspectable\"/>"
        "<allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus.Properties\"/>"
        "</policy>\n"
        "<include>" WSHEART_SOURCE_DIR "/systemd/org.wsheartd1.conf</include>\n"
        // The test runs the daemon as root rather than as the wsheartd user.
        "<policy user=\"root\"><allow own=\"org.wsheartd1\"/></policy>\n"
        "</busconfig>\n");
    daemon_.emplace(std::vector<std::string>{"dbus-daemon", "--config-file=" + conf, "--nofork", "--print-address=1"});
    auto line = daemon_->wait_for_line([](const std::string& l) { return l.rfind("unix:", 0) == 0; });
    if (!line) throw std::runtime_error("dbus-daemon did not start: " + daemon_->err());
    address_ = *line;
  }
  const std::string& address() const { return address_; }
  EnvOverrides env() const { return {{"DBUS_SYSTEM_BUS_ADDRESS", address_}, {"DBUS_SESSION_BUS_ADDRESS", ""}}; }

 private:
  TempDir dir_;
  std::optional<Subprocess> daemon_;
  std::string address_;
};

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

TEST(Access, SystemBusMessagesReachOnlyTheOwnerAndRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run clients as another user";
  SystemBus bus;
  EchoServer echo;
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  const std::string config = dir.write(
      "config.toml", "[[user]]\nid = \"mine\"\nurl = \"" + echo.url("/mine") + "\"\nunix_user = " + kNobody +
                         "\n[[user]]\nid = \"theirs\"\nurl = \"" + echo.url("/theirs") +
                         "\"\nunix_user = 4242\n[[user]]\nid = \"public\"\nurl = \"" + echo.url("/public") + "\"\n");
  Subprocess daemon({wsheartd_bin(), "--system", "--config", config, "--log-level", "debug"}, bus.env());
  const auto busctl = [&](std::vector<std::string> args, bool nobody = false) {
    std::vector<std::string> argv{"busctl", "--address=" + bus.address()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(nobody ? as_nobody(argv) : argv);
  };
  const auto state = [&](const std::string& id) {
    return busctl({"get-property", "org.wsheartd1", user_path(id), "org.wsheartd1.User", "State"}).out;
  };
  for (const std::string id : {"mine", "theirs", "public"}) {
    ASSERT_TRUE(eventually([&] { return state(id) == "s \"open\"\n"; })) << id << state(id) << daemon.err();
  }
  const auto ctl = [&](std::vector<std::string> args, bool nobody) {
    std::vector<std::string> argv{wsheartctl_bin(), "--system"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(nobody ? as_nobody(argv) : argv, bus.env(), 10s);
  };

  // Listeners: subscribed monitors as root and as nobody; nobody's monitor
  // asking for "theirs" explicitly; a non-subscribed nobody with a match rule
  // (gdbus monitor) and one trying to eavesdrop (dbus-monitor).
  const std::size_t subscribed_before = count_of(daemon.err(), ") added");
  Subprocess root_monitor({wsheartctl_bin(), "--system", "--json", "monitor"}, bus.env());
  Subprocess nobody_monitor(as_nobody({wsheartctl_bin(), "--system", "--json", "monitor"}), bus.env());
  Subprocess nobody_theirs(as_nobody({wsheartctl_bin(), "--system", "--json", "monitor", "theirs", "public"}), bus.env());
  ASSERT_TRUE(eventually([&] { return count_of(daemon.err(), ") added") >= subscribed_before + 3; }))
      << daemon.err() << root_monitor.err() << nobody_monitor.err();
  EXPECT_NE(daemon.err().find("(uid 65534) added"), std::string::npos);
  Subprocess matcher(as_nobody({"gdbus", "monitor", "--address", bus.address(), "--dest", "org.wsheartd1"}));
  ASSERT_TRUE(matcher.wait_for_line([](const std::string& l) { return l.find("is owned by") != std::string::npos; }))
      << matcher.err();
  Subprocess eavesdropper(as_nobody({"dbus-monitor", "--address", bus.address()}));
  ASSERT_TRUE(eavesdropper.wait_for_line([](const std::string& l) { return l.find("NameAcquired") != std::string::npos; }))
      << eavesdropper.err();

  for (const std::string id : {"mine", "theirs", "public"}) {
    auto sent = busctl({"call", "org.wsheartd1", user_path(id), "org.wsheartd1.User", "Send", "s", "echo:text-of-" + id});
    ASSERT_EQ(sent.exit_code, 0) << sent.err;
  }
  ASSERT_TRUE(eventually([&] {
    return root_monitor.out().find("text-of-mine") != std::string::npos &&
           root_monitor.out().find("text-of-theirs") != std::string::npos &&
           root_monitor.out().find("text-of-public") != std::string::npos;
  })) << root_monitor.out() << root_monitor.err();
  // A last public message: once everyone has it, the earlier ones were delivered or never will be.
  ASSERT_EQ(busctl({"call", "org.wsheartd1", user_path("public"), "org.wsheartd1.User", "Send", "s", "echo:the-end"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] {
    return nobody_monitor.out().find("the-end") != std::string::npos &&
           nobody_theirs.out().find("the-end") != std::string::npos &&
           matcher.out().find("the-end") != std::string::npos && eavesdropper.out().find("the-end") != std::string::npos;
  })) << nobody_monitor.out() << "\n--\n" << nobody_theirs.out() << "\n--\n" << matcher.out() << "\n--\n"
      << eavesdropper.out() << eavesdropper.err();

  EXPECT_NE(nobody_monitor.out().find("text-of-mine"), std::string::npos) << nobody_monitor.out();
  EXPECT_NE(nobody_monitor.out().find("text-of-public"), std::string::npos) << nobody_monitor.out();
  for (Subprocess* other : {&nobody_monitor, &nobody_theirs, &matcher, &eavesdropper}) {
    EXPECT_EQ(other->out().find("text-of-theirs"), std::string::npos) << other->out();
  }
  for (Subprocess* bystander : {&matcher, &eavesdropper}) {
    EXPECT_EQ(bystander->out().find("text-of-mine"), std::string::npos) << bystander->out();
    EXPECT_NE(bystander->out().find("text-of-public"), std::string::npos) << bystander->out();
  }

  // Methods: nobody is denied on "theirs", allowed on "mine"; Reload is root's.
  for (const auto& [method, args] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"Send", {"s", "echo:x"}}, {"Reconnect", {}}, {"ReconnectFresh", {}}, {"RecentMessages", {"t", "0"}}}) {
    std::vector<std::string> call{"call", "org.wsheartd1", user_path("theirs"), "org.wsheartd1.User", method};
    call.insert(call.end(), args.begin(), args.end());
    const CommandResult r = busctl(call, true);
    EXPECT_NE(r.exit_code, 0) << method;
    EXPECT_NE(r.err.find("access to user theirs denied"), std::string::npos) << method << ": " << r.err;
    EXPECT_EQ(r.out.find("text-of-theirs"), std::string::npos) << method;
    call[2] = user_path("mine");
    EXPECT_EQ(busctl(call, true).exit_code, 0) << method;
  }
  const CommandResult recent_theirs = ctl({"recent", "theirs"}, true);
  EXPECT_NE(recent_theirs.exit_code, 0);
  EXPECT_EQ(recent_theirs.out.find("text-of-theirs"), std::string::npos);
  EXPECT_NE(ctl({"send", "theirs", "x"}, true).exit_code, 0);
  EXPECT_NE(ctl({"reconnect", "theirs"}, true).exit_code, 0);
  EXPECT_NE(ctl({"recent", "mine"}, true).out.find("text-of-mine"), std::string::npos);
  EXPECT_NE(ctl({"recent", "theirs"}, false).out.find("text-of-theirs"), std::string::npos);
  const CommandResult reload = busctl({"call", "org.wsheartd1", "/org/wsheartd1", "org.wsheartd1.Manager", "Reload"}, true);
  EXPECT_NE(reload.exit_code, 0);
  EXPECT_NE(reload.err.find("only root"), std::string::npos) << reload.err;
  EXPECT_NE(ctl({"reload"}, true).exit_code, 0);
  EXPECT_EQ(ctl({"reload"}, false).exit_code, 0);

  // "theirs" is handed to nobody by a reload: the history it had (4242's
  // messages) is not handed over with it; seq goes on.
  dir.write("config.toml", "[[user]]\nid = \"mine\"\nurl = \"" + echo.url("/mine") + "\"\nunix_user = " + kNobody +
                               "\n[[user]]\nid = \"theirs\"\nurl = \"" + echo.url("/theirs") +
                               "\"\nunix_user = " + kNobody + "\n[[user]]\nid = \"public\"\nurl = \"" +
                               echo.url("/public") + "\"\n");
  ASSERT_EQ(ctl({"reload"}, false).exit_code, 0);
  const CommandResult handed_over = ctl({"recent", "theirs"}, true);
  EXPECT_EQ(handed_over.exit_code, 0) << handed_over.err;
  EXPECT_EQ(handed_over.out.find("text-of-theirs"), std::string::npos) << handed_over.out;
  EXPECT_EQ(ctl({"recent", "theirs"}, false).out.find("text-of-theirs"), std::string::npos);
  ASSERT_TRUE(eventually([&] { return state("theirs") == "s \"open\"\n"; }));
  ASSERT_EQ(busctl({"call", "org.wsheartd1", user_path("theirs"), "org.wsheartd1.User", "Send", "s", "echo:now-for-nobody"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return ctl({"recent", "theirs"}, true).out.find("now-for-nobody") != std::string::npos; }));
  // "mine" did not change owner: its history stays.
  EXPECT_NE(ctl({"recent", "mine"}, true).out.find("text-of-mine"), std::string::npos);

  // A subscriber that leaves the bus without unsubscribing is forgotten.
  nobody_monitor.signal(SIGKILL);
  nobody_monitor.wait();
  EXPECT_TRUE(eventually([&] { return daemon.err().find("left the bus") != std::string::npos; })) << daemon.err();
}

}  // namespace
}  // namespace wsheart::test
