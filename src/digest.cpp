// OpenSSL 3 deprecates the SHA256_* functions in favour of EVP, but keeps them in every 3.x build
// that is not configured with no-deprecated. They are used here on purpose: an API key check
// hashes some 30 bytes on every request, and EVP_Digest wraps that one block in a context
// allocation, a provider dispatch and a free, which cost more than the hash itself (about 120 ns
// against 50 on the build machine, and more with the cold caches of a busy worker: the EVP path
// also evicts the network stack's code from the instruction cache). A build without the
// deprecated API, or another major version, uses EVP with a digest fetched once.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "digest.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>

#if OPENSSL_VERSION_MAJOR == 3 && !defined(OPENSSL_NO_DEPRECATED_3_0)
#define TASKER_SHA256_LOW_LEVEL 1
#endif

namespace tasker {

#ifdef TASKER_SHA256_LOW_LEVEL

bool sha256(std::string_view data, Sha256Digest* out) noexcept {
  static_assert(SHA256_DIGEST_LENGTH == std::tuple_size<Sha256Digest>::value, "digest size");
  SHA256_CTX ctx;
  bool ok = SHA256_Init(&ctx) == 1 && SHA256_Update(&ctx, data.data(), data.size()) == 1 &&
            SHA256_Final(out->data(), &ctx) == 1;
  // The context holds the tail of the input (a whole API key). explicit_bzero is glibc's
  // vectorised memset that the compiler may not drop, several times cheaper than OPENSSL_cleanse's
  // byte loop for these sizes.
  explicit_bzero(&ctx, sizeof ctx);
  if (!ok) {
    ERR_clear_error();
    OPENSSL_cleanse(out->data(), out->size());
  }
  return ok;
}

bool shaDigest(int bits, std::string_view data, uint8_t* out, size_t* len) noexcept {
  // The context functions, not SHA256() and its siblings: OpenSSL 3 implements those one-shot
  // calls with EVP_Q_digest, which fetches the algorithm and allocates a context every time.
  bool ok = false;
  *len = 0;
  if (bits == 256) {
    SHA256_CTX c;
    ok = SHA256_Init(&c) == 1 && SHA256_Update(&c, data.data(), data.size()) == 1 &&
         SHA256_Final(out, &c) == 1;
    *len = SHA256_DIGEST_LENGTH;
  } else if (bits == 384 || bits == 512) {
    SHA512_CTX c;
    if (bits == 384) {
      ok = SHA384_Init(&c) == 1 && SHA384_Update(&c, data.data(), data.size()) == 1 &&
           SHA384_Final(out, &c) == 1;
      *len = SHA384_DIGEST_LENGTH;
    } else {
      ok = SHA512_Init(&c) == 1 && SHA512_Update(&c, data.data(), data.size()) == 1 &&
           SHA512_Final(out, &c) == 1;
      *len = SHA512_DIGEST_LENGTH;
    }
  }
  if (!ok) {
    ERR_clear_error();
    *len = 0;
  }
  return ok;
}

#else

namespace {

// OpenSSL 3 looks EVP_sha256() and its siblings up in the provider again on every digest; an
// explicitly fetched EVP_MD skips that. Never freed (process lifetime); a failed fetch falls back
// to the implicit lookup.
const EVP_MD* fetchedMd(const char* name, const EVP_MD* implicit) noexcept {
  EVP_MD* fetched = EVP_MD_fetch(nullptr, name, nullptr);
  if (fetched == nullptr) ERR_clear_error();
  return fetched ? static_cast<const EVP_MD*>(fetched) : implicit;
}

const EVP_MD* sha256Md() noexcept {
  static const EVP_MD* md = fetchedMd("SHA256", EVP_sha256());
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

bool shaDigest(int bits, std::string_view data, uint8_t* out, size_t* len) noexcept {
  static const EVP_MD* const mds[3] = {fetchedMd("SHA256", EVP_sha256()),
                                       fetchedMd("SHA384", EVP_sha384()),
                                       fetchedMd("SHA512", EVP_sha512())};
  const EVP_MD* md = bits == 256 ? mds[0] : bits == 384 ? mds[1] : bits == 512 ? mds[2] : nullptr;
  unsigned int n = 0;
  *len = 0;
  if (md == nullptr || EVP_Digest(data.data(), data.size(), out, &n, md, nullptr) != 1) {
    ERR_clear_error();
    return false;
  }
  *len = n;
  return true;
}

#endif

}  // namespace tasker
