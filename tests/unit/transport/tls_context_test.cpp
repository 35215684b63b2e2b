// TLS contexts without a connection: what is loaded, what is refused, and
// the public key digest against openssl(1)'s own.
#include "transport/tls_context.hpp"

#include <gtest/gtest.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <memory>
#include <string>

#include "process.hpp"

namespace wsheart::transport {
namespace {

struct Cert {
  std::string cert;
  std::string key;
};

Cert make_cert(const test::TempDir& dir, const std::string& name) {
  Cert c{dir.path() + "/" + name + ".crt", dir.path() + "/" + name + ".key"};
  const auto r = test::run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                                    "-subj", "/CN=localhost", "-keyout", c.key, "-out", c.cert});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return c;
}

int verify_mode(const std::shared_ptr<asio::ssl::context>& ctx) { return ::SSL_CTX_get_verify_mode(ctx->native_handle()); }

TEST(TlsContext, VerifiesPeersAgainstACaFile) {
  test::TempDir dir;
  const Cert ca = make_cert(dir, "ca");
  TlsSettings settings;
  settings.ca_file = ca.cert;
  std::string error;
  const auto ctx = make_tls_context(settings, "localhost", nullptr, error);
  ASSERT_NE(ctx, nullptr) << error;
  EXPECT_EQ(verify_mode(ctx), SSL_VERIFY_PEER);
  EXPECT_EQ(::SSL_CTX_get_min_proto_version(ctx->native_handle()), TLS1_2_VERSION);
}

TEST(TlsContext, VerificationOffWithoutPinsChecksNothing) {
  TlsSettings settings;
  settings.verify = false;
  std::string error;
  const auto ctx = make_tls_context(settings, "localhost", nullptr, error);
  ASSERT_NE(ctx, nullptr) << error;
  EXPECT_EQ(verify_mode(ctx), SSL_VERIFY_NONE);
}

TEST(TlsContext, VerificationOffStillChecksPins) {
  TlsSettings settings;
  settings.verify = false;
  settings.pin_sha256 = {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
  std::string error;
  const auto ctx = make_tls_context(settings, "localhost", nullptr, error);
  ASSERT_NE(ctx, nullptr) << error;
  EXPECT_EQ(verify_mode(ctx), SSL_VERIFY_PEER);
}

TEST(TlsContext, UnreadableFilesAreNamed) {
  std::string error;
  TlsSettings settings;
  settings.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(make_tls_context(settings, "localhost", nullptr, error), nullptr);
  EXPECT_NE(error.find("cannot load ca_file /nonexistent/ca.pem"), std::string::npos) << error;

  settings = TlsSettings{};
  settings.client_cert = "/nonexistent/client.pem";
  settings.client_key = "/nonexistent/client.key";
  EXPECT_EQ(make_tls_context(settings, "localhost", nullptr, error), nullptr);
  EXPECT_NE(error.find("cannot load client_cert /nonexistent/client.pem"), std::string::npos) << error;
}

TEST(TlsContext, ClientKeyMustMatchTheCertificate) {
  test::TempDir dir;
  const Cert a = make_cert(dir, "a");
  const Cert b = make_cert(dir, "b");
  TlsSettings settings;
  settings.client_cert = a.cert;
  settings.client_key = b.key;
  std::string error;
  EXPECT_EQ(make_tls_context(settings, "localhost", nullptr, error), nullptr);
  EXPECT_NE(error.find("cannot load client_key " + b.key), std::string::npos) << error;

  settings.client_key = a.key;
  error.clear();
  EXPECT_NE(make_tls_context(settings, "localhost", nullptr, error), nullptr) << error;
}

// The pin format of docs/config.md is what curl documents for --pinnedpubkey:
// base64(sha256(DER SubjectPublicKeyInfo)), computed here by openssl(1).
TEST(TlsContext, SpkiDigestMatchesOpenssl) {
  test::TempDir dir;
  const Cert c = make_cert(dir, "leaf");
  const auto expected = test::run_command(
      {"sh", "-c",
       "openssl x509 -in \"$0\" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | "
       "openssl base64 -A",
       c.cert});
  ASSERT_EQ(expected.exit_code, 0) << expected.err;

  std::FILE* file = std::fopen(c.cert.c_str(), "r");
  ASSERT_NE(file, nullptr);
  X509* cert = ::PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  ASSERT_NE(cert, nullptr);
  const std::string digest = spki_sha256(cert);
  ::X509_free(cert);
  EXPECT_EQ(digest, expected.out);
  EXPECT_EQ(digest.size(), 44u);
  EXPECT_EQ(spki_sha256(nullptr), "");
}

}  // namespace
}  // namespace wsheart::transport
