#include "signer.h"

#include <new>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "base64url.h"
#include "json.h"
#include "keys.h"
#include "tasker_limits.h"
#include "ossl.h"

namespace tasker {

namespace {

// Password callback that supplies no password: an encrypted PEM fails to load instead of
// prompting on the terminal.
int noPassword(char*, int, int, void*) { return 0; }

// True when pkey holds private key material (PEM_read_bio_PrivateKey must not hand us a public
// key, whatever the input was).
bool hasPrivate(EVP_PKEY* pkey, KeyType type) noexcept {
  bool ok = false;
  if (type == KeyType::Ed25519) {
    size_t len = 0;
    ok = EVP_PKEY_get_raw_private_key(pkey, nullptr, &len) == 1 && len == 32;
  } else {
    BIGNUM* bn = nullptr;
    const char* name = type == KeyType::Rsa ? OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY;
    ok = EVP_PKEY_get_bn_param(pkey, name, &bn) == 1 && bn != nullptr;
    BN_clear_free(bn);
  }
  if (!ok) ERR_clear_error();
  return ok;
}

// A BIGNUM parameter of pkey as big-endian bytes, left-padded to width (0: minimal).
Status bnParam(EVP_PKEY* pkey, const char* name, size_t width, std::string* out) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) return osslFail(Status::Internal);
  BignumPtr bn(raw);
  return bignumBytes(bn.get(), width, out);
}

const char* curveName(KeyType type) noexcept {
  switch (type) {
    case KeyType::EcP256:
      return "P-256";
    case KeyType::EcP384:
      return "P-384";
    case KeyType::EcP521:
      return "P-521";
    default:
      return "";
  }
}

// The public JWK members as (name, base64url or literal value) pairs, in the lexicographic order
// RFC 7638 requires for the thumbprint.
struct JwkMembers {
  std::string kty;
  std::string crv;   // EC and OKP
  std::string n, e;  // RSA, base64url
  std::string x, y;  // EC (x, y) and OKP (x), base64url
};

Status jwkMembers(EVP_PKEY* pkey, KeyType type, JwkMembers* m) {
  Status s = Status::Ok;
  std::string a, b;
  switch (type) {
    case KeyType::Rsa:
      m->kty = "RSA";
      s = bnParam(pkey, OSSL_PKEY_PARAM_RSA_N, 0, &a);
      if (s == Status::Ok) s = bnParam(pkey, OSSL_PKEY_PARAM_RSA_E, 0, &b);
      if (s != Status::Ok) return s;
      m->n = base64urlEncode(a);
      m->e = base64urlEncode(b);
      return Status::Ok;
    case KeyType::EcP256:
    case KeyType::EcP384:
    case KeyType::EcP521: {
      m->kty = "EC";
      m->crv = curveName(type);
      size_t width = ecCoordinateBytes(type);
      s = bnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_X, width, &a);
      if (s == Status::Ok) s = bnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, width, &b);
      if (s != Status::Ok) return s;
      m->x = base64urlEncode(a);
      m->y = base64urlEncode(b);
      return Status::Ok;
    }
    case KeyType::Ed25519: {
      m->kty = "OKP";
      m->crv = "Ed25519";
      unsigned char raw[32];
      size_t len = sizeof raw;
      if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != sizeof raw) {
        return osslFail(Status::Internal);
      }
      m->x = base64urlEncode(std::string_view(reinterpret_cast<const char*>(raw), len));
      return Status::Ok;
    }
  }
  return Status::Internal;
}

// Appends "name":"value" with a leading comma unless first.
void member(const char* name, std::string_view value, bool first, std::string* out) {
  if (!first) out->push_back(',');
  jsonAppendQuoted(name, out);
  out->push_back(':');
  jsonAppendQuoted(value, out);
}

}  // namespace

SigningKey::~SigningKey() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

Status SigningKey::generate(KeyAlgorithm algorithm, int rsa_bits,
                            std::unique_ptr<SigningKey>* out) {
  try {
    EvpPkeyPtr pkey;
    switch (algorithm) {
      case KeyAlgorithm::Rsa:
        if (rsa_bits < kMinRsaBits) return Status::KeyTooSmall;
        if (rsa_bits > kMaxRsaBits) return Status::KeyUnsupported;
        pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits)));
        break;
      case KeyAlgorithm::EcP256:
        pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
        break;
      case KeyAlgorithm::Ed25519:
        pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
        break;
    }
    if (!pkey) return osslFail(Status::Internal);
    KeyType type = KeyType::Rsa;
    int bits = 0;
    Status s = classifyKey(pkey.get(), &type, &bits);
    if (s != Status::Ok) return s;
    std::unique_ptr<SigningKey> k(new SigningKey());
    k->pkey_ = pkey.release();
    k->type_ = type;
    *out = std::move(k);
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return osslFail(Status::OutOfMemory);
  }
}

Status SigningKey::fromPem(std::string_view pem, std::unique_ptr<SigningKey>* out) {
  try {
    // One key block, or nothing is decoded: PEM_read_bio_PrivateKey takes the first key and would
    // leave a second one (which the user may have meant) unnoticed, as KeySet::fromPem refuses.
    // An "EC PARAMETERS" block (`openssl ecparam -genkey` writes one before the key) is allowed.
    if (pemBlockCount(pem, "EC PARAMETERS-----") > 1) return Status::KeyMultiplePemBlocks;
    BioPtr bio = memBio(pem);
    if (!bio) return osslFail(Status::OutOfMemory);
    // Reads PKCS#8, PKCS#1 and SEC1 (skipping a leading "EC PARAMETERS" block).
    EvpPkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassword, nullptr));
    if (!pkey) return osslFail(Status::KeyInvalidPem);
    KeyType type = KeyType::Rsa;
    int bits = 0;
    Status s = classifyKey(pkey.get(), &type, &bits);
    if (s != Status::Ok) return s;
    if (!hasPrivate(pkey.get(), type)) return Status::KeyInvalidPem;
    std::unique_ptr<SigningKey> k(new SigningKey());
    k->pkey_ = pkey.release();
    k->type_ = type;
    *out = std::move(k);
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return osslFail(Status::OutOfMemory);
  }
}

Alg SigningKey::defaultAlg() const noexcept {
  switch (type_) {
    case KeyType::Rsa:
      return Alg::RS256;
    case KeyType::EcP256:
      return Alg::ES256;
    case KeyType::EcP384:
      return Alg::ES384;
    case KeyType::EcP521:
      return Alg::ES512;
    case KeyType::Ed25519:
      return Alg::EdDSA;
  }
  return Alg::RS256;
}

Status SigningKey::privatePem(std::string* out) const {
  try {
    // Secure-heap BIO: the buffer holding the private key is cleared when freed.
    BioPtr bio(BIO_new(BIO_s_secmem()));
    if (!bio) return osslFail(Status::OutOfMemory);
    if (PEM_write_bio_PrivateKey(bio.get(), static_cast<EVP_PKEY*>(pkey_), nullptr, nullptr, 0,
                                 nullptr, nullptr) != 1) {
      return osslFail(Status::Internal);
    }
    *out = bioContents(bio.get());
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return osslFail(Status::OutOfMemory);
  }
}

Status SigningKey::publicPem(std::string* out) const {
  try {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio) return osslFail(Status::OutOfMemory);
    if (PEM_write_bio_PUBKEY(bio.get(), static_cast<EVP_PKEY*>(pkey_)) != 1) {
      return osslFail(Status::Internal);
    }
    *out = bioContents(bio.get());
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return osslFail(Status::OutOfMemory);
  }
}

Status SigningKey::thumbprint(std::string* out) const {
  try {
    JwkMembers m;
    Status s = jwkMembers(static_cast<EVP_PKEY*>(pkey_), type_, &m);
    if (s != Status::Ok) return s;
    // RFC 7638 3.2: required members only, lexicographic order, no whitespace.
    std::string json = "{";
    if (m.kty == "RSA") {
      member("e", m.e, true, &json);
      member("kty", m.kty, false, &json);
      member("n", m.n, false, &json);
    } else if (m.kty == "EC") {
      member("crv", m.crv, true, &json);
      member("kty", m.kty, false, &json);
      member("x", m.x, false, &json);
      member("y", m.y, false, &json);
    } else {
      member("crv", m.crv, true, &json);
      member("kty", m.kty, false, &json);
      member("x", m.x, false, &json);
    }
    json.push_back('}');
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(json.data(), json.size(), md, &md_len, EVP_sha256(), nullptr) != 1) {
      return osslFail(Status::Internal);
    }
    *out = base64urlEncode(std::string_view(reinterpret_cast<const char*>(md), md_len));
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return osslFail(Status::OutOfMemory);
  }
}

Status SigningKey::publicJwk(std::string_view kid, std::string* out) const {
  try {
    JwkMembers m;
    Status s = jwkMembers(static_cast<EVP_PKEY*>(pkey_), type_, &m);
    if (s != Status::Ok) return s;
    std::string json = "{";
    member("kty", m.kty, true, &json);
    if (m.kty == "RSA") {
      member("n", m.n, false, &json);
      member("e", m.e, false, &json);
    } else {
      member("crv", m.crv, false, &json);
      member("x", m.x, false, &json);
      if (m.kty == "EC") member("y", m.y, false, &json);
    }
    if (!kid.empty()) member("kid", kid, false, &json);
    member("use", "sig", false, &json);
    member("alg", algName(defaultAlg()), false, &json);
    json.push_back('}');
    *out = std::move(json);
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return osslFail(Status::OutOfMemory);
  }
}

Status signJwt(const SigningKey& key, Alg alg, std::string_view header_json,
               std::string_view claims_json, std::string* token) {
  try {
    if (!algFitsKey(alg, key.type())) return Status::TokenAlgKeyMismatch;
    std::string input = base64urlEncode(header_json) + "." + base64urlEncode(claims_json);
    auto* pkey = static_cast<EVP_PKEY*>(key.evpPkey());
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx) return osslFail(Status::OutOfMemory);
    EVP_PKEY_CTX* pctx = nullptr;  // borrowed: owned by ctx
    if (EVP_DigestSignInit(ctx.get(), &pctx, algDigest(alg), nullptr, pkey) != 1) {
      return osslFail(Status::Internal);
    }
    Status s = configureSignatureCtx(pctx, alg);
    if (s != Status::Ok) return s;
    const auto* in = reinterpret_cast<const unsigned char*>(input.data());
    size_t sig_len = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &sig_len, in, input.size()) != 1) {
      return osslFail(Status::Internal);
    }
    std::string sig(sig_len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(&sig[0]), &sig_len, in,
                       input.size()) != 1) {
      return osslFail(Status::Internal);
    }
    sig.resize(sig_len);
    size_t n = ecCoordinateBytes(key.type());
    if (n != 0) {
      // OpenSSL produces DER; JWS wants fixed-size R||S (RFC 7518 3.4).
      std::string raw;
      s = ecdsaDerToRaw(sig, n, &raw);
      if (s != Status::Ok) return s;
      sig = std::move(raw);
    }
    *token = input + "." + base64urlEncode(sig);
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return osslFail(Status::OutOfMemory);
  }
}

}  // namespace tasker
