// Shared fixtures for the crypto/JWT unit tests: in-memory keys (generated once per process,
// never written to disk), token builders, a fixed clock and the signature bit-flip helpers.
// Include after the module header under test; brings in cmocka.
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "algorithms.h"
#include "base64url.h"
#include "keys.h"
#include "signer.h"
#include "status.h"
#include "verify.h"

// Fails the test with both status names when `expr` is not `want`.
#define assert_status(expr, want)                                                        \
  do {                                                                                   \
    ::tasker::Status got_ = (expr);                                                      \
    ::tasker::Status want_ = (want);                                                     \
    if (got_ != want_) {                                                                 \
      fail_msg("%s:%d: got %s, want %s", __FILE__, __LINE__, ::tasker::statusName(got_), \
               ::tasker::statusName(want_));                                             \
    }                                                                                    \
  } while (0)

// assert_string_equal for std::string / string_view arguments.
#define assert_str(got, want) \
  assert_string_equal(std::string(got).c_str(), std::string(want).c_str())

namespace tasker {
namespace test {

// The fixed "now" of every verification test (2023-11-14T22:13:20Z).
constexpr int64_t kNow = 1700000000;

constexpr Alg kAllAlgs[kAlgCount] = {Alg::RS256, Alg::RS384, Alg::RS512, Alg::PS256, Alg::PS384,
                                     Alg::PS512, Alg::ES256, Alg::ES384, Alg::ES512, Alg::EdDSA};

// A JSON string literal for s (tests only use printable ASCII plus the escapes below).
inline std::string q(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// PEM text of a raw OpenSSL key, public (SPKI) or private (PKCS#8).
inline std::string pemOf(EVP_PKEY* pkey, bool private_key) {
  BIO* bio = BIO_new(BIO_s_mem());
  int ok = private_key ? PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr)
                       : PEM_write_bio_PUBKEY(bio, pkey);
  if (ok != 1) fail_msg("PEM_write failed");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

// A fresh OpenSSL key: type "RSA" (bits), "EC" (curve), "ED25519", "X25519", "ED448", ...
inline EVP_PKEY* rawKey(const char* type, const char* curve = nullptr, size_t bits = 0) {
  EVP_PKEY* k = nullptr;
  if (bits != 0) {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, type, bits);
  } else if (curve != nullptr) {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve);
  } else {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  }
  if (k == nullptr) fail_msg("keygen %s %s failed", type, curve ? curve : "");
  return k;
}

// A fresh signing key of the family `alg` needs. P-384/P-521 go through PEM because
// SigningKey::generate only offers the CLI's choices (RSA, P-256, Ed25519).
inline std::unique_ptr<SigningKey> newKeyFor(KeyType type) {
  std::unique_ptr<SigningKey> key;
  Status s = Status::Internal;
  switch (type) {
    case KeyType::Rsa:
      s = SigningKey::generate(KeyAlgorithm::Rsa, 2048, &key);
      break;
    case KeyType::EcP256:
      s = SigningKey::generate(KeyAlgorithm::EcP256, 0, &key);
      break;
    case KeyType::Ed25519:
      s = SigningKey::generate(KeyAlgorithm::Ed25519, 0, &key);
      break;
    case KeyType::EcP384:
    case KeyType::EcP521: {
      EVP_PKEY* raw = rawKey("EC", type == KeyType::EcP384 ? "P-384" : "P-521");
      s = SigningKey::fromPem(pemOf(raw, true), &key);
      EVP_PKEY_free(raw);
      break;
    }
  }
  if (s != Status::Ok) fail_msg("key generation: %s", statusName(s));
  return key;
}

inline KeyType keyTypeFor(Alg a) {
  switch (a) {
    case Alg::ES256:
      return KeyType::EcP256;
    case Alg::ES384:
      return KeyType::EcP384;
    case Alg::ES512:
      return KeyType::EcP521;
    case Alg::EdDSA:
      return KeyType::Ed25519;
    default:
      return KeyType::Rsa;
  }
}

// Cached keys: slot 0 is "the" key of a family, slot 1 another key of the same family.
inline const SigningKey& cachedKey(KeyType type, int slot) {
  static std::unique_ptr<SigningKey> keys[5][2];
  auto& k = keys[static_cast<int>(type)][slot];
  if (!k) k = newKeyFor(type);
  return *k;
}
inline const SigningKey& keyFor(Alg a) { return cachedKey(keyTypeFor(a), 0); }
inline const SigningKey& otherKeyFor(Alg a) { return cachedKey(keyTypeFor(a), 1); }

// Public-key-mode KeySet (SPKI PEM) for a signing key.
inline KeySetConstPtr keySetFor(const SigningKey& key) {
  std::string pem;
  assert_status(key.publicPem(&pem), Status::Ok);
  KeySetConstPtr ks;
  assert_status(KeySet::fromPem(pem, &ks), Status::Ok);
  return ks;
}

// A JWKS document holding the given JWK object texts.
inline std::string jwks(const std::vector<std::string>& jwk_objects) {
  std::string out = "{\"keys\":[";
  for (size_t i = 0; i < jwk_objects.size(); ++i) {
    if (i > 0) out += ",";
    out += jwk_objects[i];
  }
  return out + "]}";
}

inline std::string publicJwkOf(const SigningKey& key, std::string_view kid) {
  std::string jwk;
  assert_status(key.publicJwk(kid, &jwk), Status::Ok);
  return jwk;
}

// Options accepting exactly `alg` (module defaults otherwise).
inline VerifyOptions optsFor(Alg alg) {
  VerifyOptions o;
  o.algorithms = algBit(alg);
  return o;
}

// Ordered claims as raw JSON member values, so tests can give any claim any JSON type.
class ClaimSet {
 public:
  // Replaces name's value, or appends it.
  ClaimSet& set(const std::string& name, const std::string& raw_json) {
    for (auto& m : members_) {
      if (m.first == name) {
        m.second = raw_json;
        return *this;
      }
    }
    members_.emplace_back(name, raw_json);
    return *this;
  }
  // Appends even when present (duplicate members).
  ClaimSet& append(const std::string& name, const std::string& raw_json) {
    members_.emplace_back(name, raw_json);
    return *this;
  }
  ClaimSet& erase(const std::string& name) {
    for (auto it = members_.begin(); it != members_.end(); ++it) {
      if (it->first == name) {
        members_.erase(it);
        return *this;
      }
    }
    return *this;
  }
  std::string json() const {
    std::string out = "{";
    for (size_t i = 0; i < members_.size(); ++i) {
      if (i > 0) out += ",";
      out += q(members_[i].first) + ":" + members_[i].second;
    }
    return out + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> members_;
};

// Valid claims for the default VerifyOptions at kNow.
inline ClaimSet defaultClaims() {
  ClaimSet c;
  c.set("sub", q("user-1"))
      .set("iss", q("tasker-core"))
      .set("aud", q("tasker-api"))
      .set("iat", std::to_string(kNow - 10))
      .set("exp", std::to_string(kNow + 3600))
      .set("permissions", "[\"tasks:read\",\"tasks:list\"]");
  return c;
}

// {"alg":"<alg>","typ":"JWT"[,"kid":"<kid>"]}
inline std::string headerFor(Alg alg, std::string_view kid = {}) {
  std::string h = "{\"alg\":" + q(algName(alg)) + ",\"typ\":\"JWT\"";
  if (!kid.empty()) h += ",\"kid\":" + q(kid);
  return h + "}";
}

// Signs header and claims verbatim with key, as alg.
inline std::string signRaw(const SigningKey& key, Alg alg, const std::string& header,
                           const std::string& claims) {
  std::string token;
  Status s = signJwt(key, alg, header, claims, &token);
  if (s != Status::Ok) fail_msg("signJwt: %s", statusName(s));
  return token;
}

// A token for alg, signed by keyFor(alg), with the given claims.
inline std::string makeToken(Alg alg, const ClaimSet& claims = defaultClaims(),
                             std::string_view kid = {}) {
  return signRaw(keyFor(alg), alg, headerFor(alg, kid), claims.json());
}

// The three base64url segments of a token.
struct Segments {
  std::string header, claims, signature;
};
inline Segments split(const std::string& token) {
  size_t d1 = token.find('.');
  size_t d2 = token.find('.', d1 + 1);
  return {token.substr(0, d1), token.substr(d1 + 1, d2 - d1 - 1), token.substr(d2 + 1)};
}
inline std::string join(const Segments& s) { return s.header + "." + s.claims + "." + s.signature; }

// The raw signature bytes of a token.
inline std::string signatureBytes(const std::string& token) {
  std::string sig;
  assert_status(base64urlDecode(split(token).signature, &sig), Status::Ok);
  return sig;
}

// The token with its signature replaced by `sig` (raw bytes).
inline std::string withSignature(const std::string& token, std::string_view sig) {
  Segments s = split(token);
  s.signature = base64urlEncode(sig);
  return join(s);
}

// The token with bit `bit` of signature byte `index` inverted.
inline std::string flipSignatureBit(const std::string& token, size_t index, int bit) {
  std::string sig = signatureBytes(token);
  sig[index] = static_cast<char>(sig[index] ^ (1 << bit));
  return withSignature(token, sig);
}

// verifyToken with the fixed clock; vt may be nullptr.
inline Status verifyAt(const std::string& token, const KeySet& keys, const VerifyOptions& opts,
                       int64_t now = kNow, VerifiedToken* vt = nullptr) {
  VerifiedToken scratch;
  return verifyToken(token, keys, opts, now, vt ? vt : &scratch);
}

// verifyToken of a token for alg against keyFor(alg)'s public key, with optsFor(alg).
inline Status verifyFor(Alg alg, const std::string& token, int64_t now = kNow,
                        VerifiedToken* vt = nullptr) {
  return verifyAt(token, *keySetFor(keyFor(alg)), optsFor(alg), now, vt);
}

// JSON nested `depth` containers deep: {"a":[[...[1]...]]} counts the outer object as 1.
inline std::string nestedObject(size_t depth) {
  std::string inner = "1";
  for (size_t i = 1; i < depth; ++i) inner = "[" + inner + "]";
  return "{\"a\":" + inner + "}";
}

}  // namespace test
}  // namespace tasker
