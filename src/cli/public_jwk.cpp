#include "cli/public_jwk.h"

#include <memory>
#include <vector>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "base64url.h"
#include "cli/cli_util.h"

namespace tasker {
namespace cli {

namespace {

// Raw bytes as the string_view the core's base64urlEncode takes.
std::string_view bytesOf(const unsigned char* data, size_t len) {
  return std::string_view(reinterpret_cast<const char*>(data), len);
}

struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
using BignumPtr = std::unique_ptr<BIGNUM, BnFree>;

// base64url of a big-endian integer, padded to `width` bytes (0: minimal length, as RSA n/e).
bool bnParam(const EVP_PKEY* pkey, const char* name, int width, std::string* out) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) return false;
  BignumPtr bn(raw);
  int len = width > 0 ? width : BN_num_bytes(bn.get());
  if (len <= 0 || BN_num_bytes(bn.get()) > len) return false;
  std::vector<unsigned char> buf(static_cast<size_t>(len));
  if (BN_bn2binpad(bn.get(), buf.data(), len) != len) return false;
  *out = base64urlEncode(bytesOf(buf.data(), buf.size()));
  return true;
}

bool exportParams(const EVP_PKEY* pkey, KeyType type, PublicJwk* jwk) {
  switch (type) {
    case KeyType::Rsa:
      jwk->kty = "RSA";
      jwk->alg = Alg::RS256;
      return bnParam(pkey, OSSL_PKEY_PARAM_RSA_N, 0, &jwk->n) &&
             bnParam(pkey, OSSL_PKEY_PARAM_RSA_E, 0, &jwk->e);
    case KeyType::EcP256:
    case KeyType::EcP384:
    case KeyType::EcP521: {
      int width = type == KeyType::EcP256 ? 32 : type == KeyType::EcP384 ? 48 : 66;
      jwk->kty = "EC";
      jwk->crv = type == KeyType::EcP256 ? "P-256" : type == KeyType::EcP384 ? "P-384" : "P-521";
      jwk->alg = type == KeyType::EcP256   ? Alg::ES256
                 : type == KeyType::EcP384 ? Alg::ES384
                                           : Alg::ES512;
      return bnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_X, width, &jwk->x) &&
             bnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, width, &jwk->y);
    }
    case KeyType::Ed25519: {
      unsigned char pub[32];
      size_t len = sizeof pub;
      jwk->kty = "OKP";
      jwk->crv = "Ed25519";
      jwk->alg = Alg::EdDSA;
      if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 || len != sizeof pub) return false;
      jwk->x = base64urlEncode(bytesOf(pub, len));
      return true;
    }
  }
  return false;
}

void setString(json_t* obj, const char* name, const std::string& value) {
  json_object_set_new(obj, name, json_stringn(value.data(), value.size()));
}

}  // namespace

Status publicJwkOf(const VerifyKey& key, PublicJwk* out) {
  // Borrowed: the VerifyKey owns the EVP_PKEY.
  const EVP_PKEY* pkey = static_cast<const EVP_PKEY*>(key.evpPkey());
  if (!pkey) return Status::Internal;
  PublicJwk jwk;
  if (!exportParams(pkey, key.type(), &jwk)) {
    ERR_clear_error();
    return Status::Internal;
  }
  *out = std::move(jwk);
  return Status::Ok;
}

std::string jwkThumbprint(const PublicJwk& jwk) {
  // RFC 7638 section 3.2: required members only, lexicographic order, no whitespace. Every
  // value is base64url or a fixed name, so no JSON escaping is ever needed.
  std::string canonical;
  if (jwk.kty == "RSA") {
    canonical = "{\"e\":\"" + jwk.e + "\",\"kty\":\"RSA\",\"n\":\"" + jwk.n + "\"}";
  } else if (jwk.kty == "EC") {
    canonical = "{\"crv\":\"" + jwk.crv + "\",\"kty\":\"EC\",\"x\":\"" + jwk.x + "\",\"y\":\"" +
                jwk.y + "\"}";
  } else {
    canonical = "{\"crv\":\"" + jwk.crv + "\",\"kty\":\"" + jwk.kty + "\",\"x\":\"" + jwk.x + "\"}";
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    ERR_clear_error();
    return std::string();
  }
  return base64urlEncode(bytesOf(digest, len));
}

std::string jwksDocument(const PublicJwk& jwk, const std::string& kid) {
  JsonPtr key(json_object());
  setString(key.get(), "kty", jwk.kty);
  setString(key.get(), "use", "sig");
  setString(key.get(), "alg", algName(jwk.alg));
  setString(key.get(), "kid", kid);
  if (!jwk.crv.empty()) setString(key.get(), "crv", jwk.crv);
  if (!jwk.n.empty()) setString(key.get(), "n", jwk.n);
  if (!jwk.e.empty()) setString(key.get(), "e", jwk.e);
  if (!jwk.x.empty()) setString(key.get(), "x", jwk.x);
  if (!jwk.y.empty()) setString(key.get(), "y", jwk.y);
  JsonPtr keys(json_array());
  json_array_append(keys.get(), key.get());
  JsonPtr doc(json_object());
  json_object_set(doc.get(), "keys", keys.get());
  return prettyJson(doc.get());
}

}  // namespace cli
}  // namespace tasker
