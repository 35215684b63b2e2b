#include "transport/tls_context.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <exception>
#include <string_view>
#include <utility>

#include <asio/ssl/host_name_verification.hpp>
#include <asio/ssl/verify_context.hpp>

#include "encoding.hpp"

namespace wsheart::transport {

std::string spki_sha256(X509* cert) {
  if (cert == nullptr) return {};
  unsigned char* der = nullptr;
  const int length = ::i2d_X509_PUBKEY(::X509_get_X509_PUBKEY(cert), &der);
  if (length <= 0 || der == nullptr) return {};
  unsigned char digest[SHA256_DIGEST_LENGTH];
  ::SHA256(der, static_cast<std::size_t>(length), digest);
  ::OPENSSL_free(der);
  return encoding::base64_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::shared_ptr<asio::ssl::context> make_tls_context(const TlsSettings& settings, const std::string& host,
                                                     VerifyFailed on_verify_failed, std::string& error) {
  std::shared_ptr<asio::ssl::context> ctx;
  try {
    ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  } catch (const std::exception& e) {
    error = std::string("cannot create TLS context: ") + e.what();
    return nullptr;
  }
  asio::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression,
                   ec);
  ::SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);

  if (!settings.client_cert.empty()) {
    ctx->use_certificate_chain_file(settings.client_cert, ec);
    if (ec) {
      error = "cannot load client_cert " + settings.client_cert + ": " + ec.message();
      return nullptr;
    }
    ctx->use_private_key_file(settings.client_key.empty() ? settings.client_cert : settings.client_key,
                              asio::ssl::context::pem, ec);
    if (ec || ::SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
      error = "cannot load client_key " + settings.client_key + ": " +
              (ec ? ec.message() : std::string("does not match client_cert"));
      return nullptr;
    }
  }

  if (!settings.verify) {
    if (settings.pin_sha256.empty()) {
      ctx->set_verify_mode(asio::ssl::verify_none, ec);
      return ctx;
    }
  } else if (settings.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      error = "cannot load the system CA store: " + ec.message();
      return nullptr;
    }
  } else {
    ctx->load_verify_file(settings.ca_file, ec);
    if (ec) {
      error = "cannot load ca_file " + settings.ca_file + ": " + ec.message();
      return nullptr;
    }
  }
  ctx->set_verify_mode(asio::ssl::verify_peer, ec);
  ctx->set_verify_callback(
      [on_verify_failed = std::move(on_verify_failed), verify = settings.verify, pins = settings.pin_sha256,
       verifier = asio::ssl::host_name_verification(host)](bool preverified, asio::ssl::verify_context& vctx) mutable {
        X509_STORE_CTX* store = vctx.native_handle();
        bool ok = true;
        std::string failure;
        if (verify) {
          try {
            ok = verifier(preverified, vctx);
          } catch (...) {
            ok = false;
          }
          if (!ok) {
            const int err = ::X509_STORE_CTX_get_error(store);
            failure = (preverified || err == X509_V_OK) ? std::string("host name mismatch")
                                                        : ::X509_verify_cert_error_string(err);
          }
        }
        // The pin is checked on the leaf, once the chain and the name are good.
        if (ok && !pins.empty() && ::X509_STORE_CTX_get_error_depth(store) == 0) {
          const std::string actual = spki_sha256(::X509_STORE_CTX_get_current_cert(store));
          if (actual.empty() || std::find(pins.begin(), pins.end(), actual) == pins.end()) {
            ok = false;
            failure = "public key pin mismatch";
            ::X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
          }
        }
        if (!ok && on_verify_failed) on_verify_failed(std::move(failure));
        return ok;
      },
      ec);
  if (ec) {
    error = "cannot set the TLS verify callback: " + ec.message();
    return nullptr;
  }
  return ctx;
}

}  // namespace wsheart::transport
