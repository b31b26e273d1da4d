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

namespace {

// One digest through OpenSSL's context functions for Ctx (SHA256_CTX, or SHA512_CTX for SHA-384
// and SHA-512). Not SHA256() and its siblings: OpenSSL 3 implements those one-shot calls with
// EVP_Q_digest, which fetches the algorithm and allocates a context every time. The context
// holds the tail of the input (for sha256, a whole API key), so it is wiped: explicit_bzero is
// glibc's vectorised memset that the compiler may not drop, several times cheaper than
// OPENSSL_cleanse's byte loop for these sizes.
template <typename Ctx>
bool contextDigest(int (*init)(Ctx*), int (*update)(Ctx*, const void*, size_t),
                   int (*final)(unsigned char*, Ctx*), std::string_view data,
                   uint8_t* out) noexcept {
  Ctx ctx;
  bool ok = init(&ctx) == 1 && update(&ctx, data.data(), data.size()) == 1 &&
            final(out, &ctx) == 1;
  explicit_bzero(&ctx, sizeof ctx);
  return ok;
}

}  // namespace

bool shaDigest(int bits, std::string_view data, uint8_t* out, size_t* len) noexcept {
  bool ok = false;
  switch (bits) {
    case 256:
      ok = contextDigest<SHA256_CTX>(SHA256_Init, SHA256_Update, SHA256_Final, data, out);
      break;
    case 384:
      ok = contextDigest<SHA512_CTX>(SHA384_Init, SHA384_Update, SHA384_Final, data, out);
      break;
    case 512:
      ok = contextDigest<SHA512_CTX>(SHA512_Init, SHA512_Update, SHA512_Final, data, out);
      break;
  }
  *len = ok ? static_cast<size_t>(bits / 8) : 0;
  if (!ok) ERR_clear_error();
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

}  // namespace

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

bool sha256(std::string_view data, Sha256Digest* out) noexcept {
  static_assert(std::tuple_size<Sha256Digest>::value == 32, "digest size");
  size_t len = 0;
  if (shaDigest(256, data, out->data(), &len) && len == out->size()) return true;
  OPENSSL_cleanse(out->data(), out->size());
  return false;
}

}  // namespace tasker
