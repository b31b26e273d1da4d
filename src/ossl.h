// OpenSSL 3 ownership aliases and small shared helpers. Internal to the core: only .cpp files
// include this header. EVP APIs only; nothing here uses the deprecated RSA* / EC_KEY* types.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include "algorithms.h"
#include "status.h"

namespace tasker {

// Deleters for the unique_ptr aliases below; each frees one handle type (BIGNUMs are cleared
// first, as they may hold private values).
struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct EvpPkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const noexcept { BIO_free_all(p); }
};
struct BignumDeleter {
  void operator()(BIGNUM* p) const noexcept { BN_clear_free(p); }
};
struct OsslParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
};
struct OsslParamDeleter {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};

// Owning handles. A raw pointer taken with get() is borrowed for one call; release() only where
// an OpenSSL call takes ownership (commented at the call).
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using BignumPtr = std::unique_ptr<BIGNUM, BignumDeleter>;
using OsslParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OsslParamBldDeleter>;
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, OsslParamDeleter>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter>;

// Clears OpenSSL's thread error queue and returns s, for one-line failure paths:
//   if (!ok) return osslFail(Status::KeyInvalidPem);
// Every failure path clears the queue so stale errors never reach nginx's SSL code.
Status osslFail(Status s) noexcept;

// The family of a key: Rsa (bits in 2048..16384), EcP256/EcP384/EcP521, Ed25519. Borrowed pkey.
// RSA under kMinRsaBits: KeyTooSmall; over kMaxRsaBits, RSA-PSS-restricted keys, other curves,
// explicit EC parameters, Ed448, X25519, DSA, DH, ...: KeyUnsupported. *bits gets the key size.
Status classifyKey(EVP_PKEY* pkey, KeyType* type, int* bits) noexcept;

// The digest of an algorithm (SHA-256/384/512), or nullptr for EdDSA (which hashes internally).
const EVP_MD* algDigest(Alg alg) noexcept;
// The size in bits of alg's digest (256, 384, 512); 0 for EdDSA.
int algDigestBits(Alg alg) noexcept;

// Bytes of one ECDSA coordinate / signature half: 32 (P-256), 48 (P-384), 66 (P-521); 0 otherwise.
size_t ecCoordinateBytes(KeyType type) noexcept;

// Configures a DigestSign/DigestVerify context for alg: RSA-PSS padding with salt length = hash
// length and MGF1 with the same hash for PS*; PKCS#1 v1.5 (the default) for RS*; nothing else.
Status configureSignatureCtx(EVP_PKEY_CTX* pctx, Alg alg) noexcept;

// JWS ECDSA signature R||S (2 * n bytes) to DER ECDSA-Sig-Value. Wrong length: TokenBadSignature.
Status ecdsaRawToDer(std::string_view raw, size_t n, std::string* der);

// DER ECDSA-Sig-Value to fixed-size R||S (2 * n bytes). Malformed or too large: Internal.
Status ecdsaDerToRaw(std::string_view der, size_t n, std::string* raw);

// A read-only memory BIO over text (borrowed; text must outlive the BIO). nullptr on failure.
BioPtr memBio(std::string_view text) noexcept;

// Everything written to a memory BIO, as a string. May throw bad_alloc.
std::string bioContents(BIO* bio);

// The big-endian bytes of bn, left-padded with zeros to `width` (0: minimal length).
Status bignumBytes(const BIGNUM* bn, size_t width, std::string* out);

}  // namespace tasker
