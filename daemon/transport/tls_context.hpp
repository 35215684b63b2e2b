// The TLS client context of one wss:// attempt: protocol floor, client
// certificate, trust store, host name check and public key pins. Built on
// asio::ssl (OpenSSL); no websocketpp.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio/ssl/context.hpp>

#include <openssl/x509.h>

namespace wsheart::transport {

struct TlsSettings {
  bool verify = true;       // chain and host name
  std::string ca_file;      // "" = the system store
  std::string client_cert;  // PEM chain; "" = none
  std::string client_key;   // "" = the key is in client_cert
  std::vector<std::string> pin_sha256;  // canonical base64 SPKI digests; empty = no pinning
};

// Called (during the handshake) with the first reason a certificate was
// refused: an OpenSSL verify error, "host name mismatch" or "public key pin
// mismatch".
using VerifyFailed = std::function<void(std::string reason)>;

// nullptr with `error` set when a file cannot be loaded.
std::shared_ptr<asio::ssl::context> make_tls_context(const TlsSettings& settings, const std::string& host,
                                                     VerifyFailed on_verify_failed, std::string& error);

// base64 SHA-256 of the certificate's DER SubjectPublicKeyInfo (HPKP, curl
// --pinnedpubkey); "" for no certificate.
std::string spki_sha256(X509* cert);

}  // namespace wsheart::transport
