// Self-signed X.509 certificates for the unit tests, built in memory: nothing is written to disk
// and no key material is committed. Failing to build one aborts (OpenSSL is broken, which is not
// a result of the test; and a forked child must not reach cmocka's runner).
#pragma once

#include <stdlib.h>

#include <initializer_list>
#include <string>
#include <utility>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace tasker {
namespace test {

// A v3 certificate for `key`, subject and issuer CN=`cn`, valid from a minute ago for an hour,
// with the given extensions as X509V3_EXT_conf_nid takes them, e.g.
// {NID_subject_alt_name, "IP:127.0.0.1"}. The caller frees it with X509_free.
inline X509* selfSignedX509(EVP_PKEY* key, const char* cn,
                            std::initializer_list<std::pair<int, const char*>> extensions = {}) {
  X509* cert = X509_new();
  if (cert == nullptr) abort();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) abort();
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert, key, EVP_sha256()) <= 0) abort();
  return cert;
}

// The certificate as a PEM block.
inline std::string x509Pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || PEM_write_bio_X509(bio, cert) != 1) abort();
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

}  // namespace test
}  // namespace tasker
