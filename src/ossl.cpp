#include "ossl.h"

#include <cstring>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "tasker_limits.h"

namespace tasker {

Status osslFail(Status s) noexcept {
  ERR_clear_error();
  return s;
}

Status classifyKey(EVP_PKEY* pkey, KeyType* type, int* bits) noexcept {
  if (pkey == nullptr) return osslFail(Status::Internal);
  int b = EVP_PKEY_get_bits(pkey);
  *bits = b;
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
      // Why a floor: RSA under 2048 bits is factorable with public effort (NIST SP 800-131A).
      // Why a ceiling: verification cost grows with the modulus; 16384 bits bounds the work a
      // hostile JWKS can impose per request.
      if (b < kMinRsaBits) return osslFail(Status::KeyTooSmall);
      if (b > kMaxRsaBits) return osslFail(Status::KeyUnsupported);
      *type = KeyType::Rsa;
      return Status::Ok;
    case EVP_PKEY_EC: {
      char group[64] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                         &len) != 1) {
        return osslFail(Status::KeyUnsupported);  // explicit curve parameters
      }
      if (std::strcmp(group, "prime256v1") == 0 || std::strcmp(group, "P-256") == 0) {
        *type = KeyType::EcP256;
      } else if (std::strcmp(group, "secp384r1") == 0 || std::strcmp(group, "P-384") == 0) {
        *type = KeyType::EcP384;
      } else if (std::strcmp(group, "secp521r1") == 0 || std::strcmp(group, "P-521") == 0) {
        *type = KeyType::EcP521;
      } else {
        return osslFail(Status::KeyUnsupported);
      }
      return Status::Ok;
    }
    case EVP_PKEY_ED25519:
      *type = KeyType::Ed25519;
      return Status::Ok;
    default:
      return osslFail(Status::KeyUnsupported);
  }
}

int algDigestBits(Alg alg) noexcept {
  switch (alg) {
    case Alg::RS256:
    case Alg::PS256:
    case Alg::ES256:
      return 256;
    case Alg::RS384:
    case Alg::PS384:
    case Alg::ES384:
      return 384;
    case Alg::RS512:
    case Alg::PS512:
    case Alg::ES512:
      return 512;
    case Alg::EdDSA:
      return 0;
  }
  return 0;
}

const EVP_MD* algDigest(Alg alg) noexcept {
  switch (algDigestBits(alg)) {
    case 256:
      return EVP_sha256();
    case 384:
      return EVP_sha384();
    case 512:
      return EVP_sha512();
    default:
      return nullptr;
  }
}

size_t ecCoordinateBytes(KeyType type) noexcept {
  switch (type) {
    case KeyType::EcP256:
      return 32;
    case KeyType::EcP384:
      return 48;
    case KeyType::EcP521:
      return 66;
    default:
      return 0;
  }
}

Status configureSignatureCtx(EVP_PKEY_CTX* pctx, Alg alg) noexcept {
  switch (alg) {
    case Alg::PS256:
    case Alg::PS384:
    case Alg::PS512:
      // RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash output. A PSS signature
      // with any other salt length does not verify.
      if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, algDigest(alg)) <= 0) {
        return osslFail(Status::Internal);
      }
      return Status::Ok;
    case Alg::RS256:
    case Alg::RS384:
    case Alg::RS512:
      if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) {
        return osslFail(Status::Internal);
      }
      return Status::Ok;
    default:
      return Status::Ok;
  }
}

Status ecdsaRawToDer(std::string_view raw, size_t n, std::string* der) {
  if (n == 0 || raw.size() != 2 * n) return Status::TokenBadSignature;
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  BignumPtr r(BN_bin2bn(p, static_cast<int>(n), nullptr));
  BignumPtr s(BN_bin2bn(p + n, static_cast<int>(n), nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig) return osslFail(Status::OutOfMemory);
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return osslFail(Status::Internal);
  r.release();  // owned by sig now
  s.release();
  unsigned char* buf = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &buf);
  if (len <= 0) return osslFail(Status::Internal);
  der->assign(reinterpret_cast<const char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return Status::Ok;
}

Status ecdsaDerToRaw(std::string_view der, size_t n, std::string* raw) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return osslFail(Status::Internal);
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string rb, sb;
  Status st = bignumBytes(r, n, &rb);
  if (st == Status::Ok) st = bignumBytes(s, n, &sb);
  if (st != Status::Ok) return st;
  *raw = rb + sb;
  return Status::Ok;
}

BioPtr memBio(std::string_view text) noexcept {
  if (text.size() > static_cast<size_t>(INT32_MAX)) return nullptr;
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) ERR_clear_error();
  return bio;
}

std::string bioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return std::string();
  return std::string(data, static_cast<size_t>(len));
}

Status bignumBytes(const BIGNUM* bn, size_t width, std::string* out) {
  if (bn == nullptr) return osslFail(Status::Internal);
  size_t len = static_cast<size_t>(BN_num_bytes(bn));
  if (width == 0) width = len == 0 ? 1 : len;
  if (len > width) return osslFail(Status::Internal);
  out->assign(width, '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(&(*out)[0]), static_cast<int>(width)) !=
      static_cast<int>(width)) {
    return osslFail(Status::Internal);
  }
  return Status::Ok;
}

}  // namespace tasker
