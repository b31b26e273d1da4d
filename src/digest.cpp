#include "digest.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

namespace tasker {

namespace {

// OpenSSL 3 looks EVP_sha256() up in the provider again on every digest, which was most of an API
// key lookup's cost; an explicitly fetched EVP_MD skips that. Never freed (process lifetime).
const EVP_MD* sha256Md() noexcept {
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched ? static_cast<const EVP_MD*>(fetched) : EVP_sha256();
  }();
  return md;
}

}  // namespace

bool sha256(std::string_view data, Sha256Digest* out) noexcept {
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out->data(), &len, sha256Md(), nullptr) != 1 ||
      len != out->size()) {
    ERR_clear_error();
    OPENSSL_cleanse(out->data(), out->size());
    return false;
  }
  return true;
}

}  // namespace tasker
