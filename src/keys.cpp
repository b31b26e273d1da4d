#include "keys.h"

#include <atomic>
#include <cstdio>
#include <new>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base64url.h"
#include "json.h"
#include "printable.h"
#include "tasker_limits.h"
#include "ossl.h"
#include "regular_file.h"

namespace tasker {

namespace {

// OpenSSL itself refuses RSA public exponents over 64 bits for moduli above 3072 bits; we apply
// that bound to every JWK so a hostile JWKS cannot make verification expensive.
constexpr size_t kMaxRsaExponentBytes = 8;

// EC public key checks beyond decoding: the point must lie on the curve and not be infinity.
// Decoding already refuses most bad points; this is the explicit, documented gate. The quick
// check is that; the full one also multiplies the point by the group order, which proves nothing
// more on P-256, P-384 and P-521 (cofactor 1) and cost 1.4 ms per P-521 key of a JWKS document.
bool ecPublicKeyValid(EVP_PKEY* pkey) noexcept {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx || EVP_PKEY_public_check_quick(ctx.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  return true;
}

// Printable, bounded copy of an attacker-chosen string for the *skipped messages.
std::string printable(std::string_view s) { return shownText(s, 64, true); }

// Builds an EVP_PKEY from OSSL_PARAMs (EVP_PKEY_fromdata, public part only).
EvpPkeyPtr pkeyFromParams(const char* type, const OSSL_PARAM* params) noexcept {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) !=
          1) {
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    return nullptr;
  }
  return EvpPkeyPtr(pkey);
}

// Decodes a required base64url string member of a JWK. false (with *reason) when absent, not a
// string, not strict base64url or empty.
bool jwkBytes(const json_t* jwk, const char* name, std::string* out, std::string* reason) {
  std::string_view text;
  if (jsonGetString(jwk, name, &text) != Status::Ok) {
    *reason = std::string("member \"") + name + "\" missing or not a string";
    return false;
  }
  if (base64urlDecode(text, out) != Status::Ok || out->empty()) {
    *reason = std::string("member \"") + name + "\" is not unpadded base64url";
    return false;
  }
  return true;
}

// kty RSA: n and e. Result Ok or a skip (Key* status with *reason).
Status rsaFromJwk(const json_t* jwk, EvpPkeyPtr* out, std::string* reason) {
  std::string n, e;
  if (!jwkBytes(jwk, "n", &n, reason) || !jwkBytes(jwk, "e", &e, reason)) {
    return Status::KeyInvalidPem;
  }
  size_t lead = n.find_first_not_of('\0');
  size_t n_bytes = lead == std::string::npos ? 0 : n.size() - lead;
  if (n_bytes > static_cast<size_t>(kMaxRsaBits) / 8) {
    *reason = "RSA modulus over " + std::to_string(kMaxRsaBits) + " bits";
    return Status::KeyUnsupported;
  }
  if (e.size() > kMaxRsaExponentBytes) {
    *reason = "RSA exponent over 64 bits";
    return Status::KeyUnsupported;
  }
  const auto* nb = reinterpret_cast<const unsigned char*>(n.data());
  const auto* eb = reinterpret_cast<const unsigned char*>(e.data());
  BignumPtr bn_n(BN_bin2bn(nb, static_cast<int>(n.size()), nullptr));
  BignumPtr bn_e(BN_bin2bn(eb, static_cast<int>(e.size()), nullptr));
  if (!bn_n || !bn_e) return osslFail(Status::OutOfMemory);
  if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get()) || !BN_is_odd(bn_n.get())) {
    *reason = "RSA modulus or exponent is not a valid value";
    return Status::KeyInvalidPem;
  }
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return osslFail(Status::OutOfMemory);
  }
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return osslFail(Status::OutOfMemory);
  *out = pkeyFromParams("RSA", params.get());
  if (!*out) {
    *reason = "RSA members do not form a key";
    return Status::KeyInvalidPem;
  }
  return Status::Ok;
}

// kty EC: crv, x, y. The point is checked to lie on the curve.
Status ecFromJwk(const json_t* jwk, EvpPkeyPtr* out, std::string* reason) {
  std::string_view crv;
  if (jsonGetString(jwk, "crv", &crv) != Status::Ok) {
    *reason = "member \"crv\" missing or not a string";
    return Status::KeyInvalidPem;
  }
  size_t width = 0;
  if (crv == "P-256") {
    width = 32;
  } else if (crv == "P-384") {
    width = 48;
  } else if (crv == "P-521") {
    width = 66;
  } else {
    *reason = "unsupported EC crv \"" + printable(crv) + "\"";
    return Status::KeyUnsupported;
  }
  std::string x, y;
  if (!jwkBytes(jwk, "x", &x, reason) || !jwkBytes(jwk, "y", &y, reason)) {
    return Status::KeyInvalidPem;
  }
  // RFC 7518 6.2.1.2/6.2.1.3: coordinates are the full field size, leading zeros kept.
  if (x.size() != width || y.size() != width) {
    *reason = "EC coordinates are not " + std::to_string(width) + " bytes";
    return Status::KeyInvalidPem;
  }
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  std::string group(crv);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, &group[0], 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, &point[0], point.size()),
      OSSL_PARAM_construct_end(),
  };
  *out = pkeyFromParams("EC", params);
  if (!*out || !ecPublicKeyValid(out->get())) {
    out->reset();
    *reason = "EC point is not on the curve";
    return Status::KeyInvalidPem;
  }
  return Status::Ok;
}

// kty OKP: crv Ed25519 and x.
Status okpFromJwk(const json_t* jwk, EvpPkeyPtr* out, std::string* reason) {
  std::string_view crv;
  if (jsonGetString(jwk, "crv", &crv) != Status::Ok) {
    *reason = "member \"crv\" missing or not a string";
    return Status::KeyInvalidPem;
  }
  if (crv != "Ed25519") {
    *reason = "unsupported OKP crv \"" + printable(crv) + "\"";
    return Status::KeyUnsupported;
  }
  std::string x;
  if (!jwkBytes(jwk, "x", &x, reason)) return Status::KeyInvalidPem;
  if (x.size() != 32) {
    *reason = "Ed25519 \"x\" is not 32 bytes";
    return Status::KeyInvalidPem;
  }
  out->reset(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x.data()), x.size()));
  if (!*out) {
    ERR_clear_error();
    *reason = "Ed25519 key rejected";
    return Status::KeyInvalidPem;
  }
  return Status::Ok;
}

// One JWK to a VerifyKey. Anything but Ok/OutOfMemory means "skip this key"; *reason says why.
Status keyFromJwk(const json_t* jwk, std::unique_ptr<VerifyKey>* out, std::string* kid_out,
                  std::string* reason) {
  if (!json_is_object(jwk)) {
    *reason = "not a JSON object";
    return Status::JwksBadJson;
  }
  std::string_view kid;
  Status s = jsonGetString(jwk, "kid", &kid);
  if (s == Status::TokenMissingClaim || (s == Status::Ok && kid.empty())) {
    // Why skip: in JWKS mode the token's kid selects the key; a key without one is unreachable.
    *reason = "no kid";
    return Status::JwksBadJson;
  }
  if (s != Status::Ok) {
    *reason = "kid is not a string";
    return Status::JwksBadJson;
  }
  *kid_out = std::string(kid);

  std::string_view use;
  s = jsonGetString(jwk, "use", &use);
  if (s == Status::TokenBadClaimType) {
    *reason = "use is not a string";
    return Status::JwksBadJson;
  }
  if (s == Status::Ok && use != "sig") {
    *reason = "use is \"" + printable(use) + "\", not \"sig\"";
    return Status::KeyUnsupported;
  }

  std::optional<Alg> alg;
  std::string_view alg_name;
  s = jsonGetString(jwk, "alg", &alg_name);
  if (s == Status::TokenBadClaimType) {
    *reason = "alg is not a string";
    return Status::JwksBadJson;
  }
  if (s == Status::Ok) {
    Alg a;
    if (parseAlg(alg_name, &a) != Status::Ok) {
      *reason = "unsupported alg \"" + printable(alg_name) + "\"";
      return Status::KeyUnsupported;
    }
    alg = a;
  }

  std::string_view kty;
  if (jsonGetString(jwk, "kty", &kty) != Status::Ok) {
    *reason = "kty missing or not a string";
    return Status::JwksBadJson;
  }
  EvpPkeyPtr pkey;
  if (kty == "RSA") {
    s = rsaFromJwk(jwk, &pkey, reason);
  } else if (kty == "EC") {
    s = ecFromJwk(jwk, &pkey, reason);
  } else if (kty == "OKP") {
    s = okpFromJwk(jwk, &pkey, reason);
  } else {
    *reason = "unsupported kty \"" + printable(kty) + "\"";
    return Status::KeyUnsupported;
  }
  if (s != Status::Ok) return s;

  KeyType type = KeyType::Rsa;
  int bits = 0;
  s = classifyKey(pkey.get(), &type, &bits);
  if (s == Status::KeyTooSmall) {
    *reason = "RSA key of " + std::to_string(bits) + " bits, under " + std::to_string(kMinRsaBits);
    return s;
  }
  if (s != Status::Ok) {
    *reason = "key type not supported";
    return s;
  }
  if (alg && !algFitsKey(*alg, type)) {
    *reason = "alg \"" + std::string(algName(*alg)) + "\" does not fit the key type";
    return Status::KeyUnsupported;
  }
  s = VerifyKey::create(pkey.release(), std::string(kid), alg, out);  // create owns the key
  if (s != Status::Ok && s != Status::OutOfMemory) *reason = "key rejected";
  return s;
}

// PEM label and DER body of the first PEM block in `pem` (fromPem checks it is the only one).
Status readPemBlock(std::string_view pem, std::string* label, std::string* der) {
  BioPtr bio = memBio(pem);
  if (!bio) return osslFail(Status::OutOfMemory);
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
    return osslFail(Status::KeyInvalidPem);
  }
  bool encrypted = header != nullptr && header[0] != '\0';
  label->assign(name);
  der->assign(reinterpret_cast<const char*>(data), static_cast<size_t>(len));
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  // Public keys carry no PEM headers; Proc-Type/DEK-Info means an encrypted private key.
  return encrypted ? Status::KeyInvalidPem : Status::Ok;
}

}  // namespace

size_t pemBlockCount(std::string_view text, std::string_view except) noexcept {
  // OpenSSL's PEM reader starts a block at a line beginning with this, and it reads a long line
  // in 255-byte pieces, each taken as a line. Counting every occurrence is stricter than that.
  constexpr std::string_view kBegin = "-----BEGIN ";
  size_t count = 0;
  for (size_t at = text.find(kBegin); at != std::string_view::npos;
       at = text.find(kBegin, at + kBegin.size())) {
    if (except.empty() || text.substr(at + kBegin.size(), except.size()) != except) ++count;
  }
  return count;
}

VerifyKey::~VerifyKey() {
  for (void* ctx : prepared_) EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx));
  for (void* ctx : in_place_) EVP_PKEY_CTX_free(static_cast<EVP_PKEY_CTX*>(ctx));
  EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_));
}

void VerifyKey::prepare() noexcept {
  auto* pkey = static_cast<EVP_PKEY*>(pkey_);
  for (int i = 0; i < kAlgCount; ++i) {
    Alg alg = static_cast<Alg>(i);
    if (!algFitsKey(alg, type_) || (alg_ && *alg_ != alg)) continue;
    if (type_ != KeyType::Ed25519) {
      EvpPkeyCtxPtr in_place(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
      if (in_place && EVP_PKEY_verify_init(in_place.get()) == 1 &&
          EVP_PKEY_CTX_set_signature_md(in_place.get(), algDigest(alg)) > 0 &&
          configureSignatureCtx(in_place.get(), alg) == Status::Ok) {
        in_place_[i] = in_place.release();  // owned by in_place_, freed in the destructor
        continue;
      }
      ERR_clear_error();  // not fatal: this alg takes the copied context below
    }
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // borrowed: owned by ctx
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, algDigest(alg), nullptr, pkey) != 1 ||
        configureSignatureCtx(pctx, alg) != Status::Ok) {
      ERR_clear_error();  // not fatal: this alg falls back to a per-call init
      continue;
    }
    prepared_[i] = ctx.release();  // owned by prepared_, freed in the destructor
  }
}

Status VerifyKey::create(void* pkey, std::string kid, std::optional<Alg> alg,
                         std::unique_ptr<VerifyKey>* out) {
  EvpPkeyPtr owned(static_cast<EVP_PKEY*>(pkey));
  if (!owned) return Status::Internal;
  KeyType type = KeyType::Rsa;
  int bits = 0;
  Status s = classifyKey(owned.get(), &type, &bits);
  if (s != Status::Ok) return s;
  if (type != KeyType::Rsa && type != KeyType::Ed25519 && !ecPublicKeyValid(owned.get())) {
    return Status::KeyInvalidPem;
  }
  // A key announcing an algorithm of another family is inconsistent; it could never verify.
  if (alg && !algFitsKey(*alg, type)) return Status::KeyUnsupported;
  try {
    std::unique_ptr<VerifyKey> k(new VerifyKey());
    k->pkey_ = owned.release();
    k->type_ = type;
    k->kid_ = std::move(kid);
    k->alg_ = alg;
    k->bits_ = bits;
    k->prepare();
    *out = std::move(k);
  } catch (const std::bad_alloc&) {
    return Status::OutOfMemory;
  }
  return Status::Ok;
}

Status KeySet::fromPem(std::string_view pem, KeySetConstPtr* out) {
  try {
    // Exactly one block, or nothing is decoded: PEM_read_bio would take the first block and
    // leave a second key (or private key material) unnoticed.
    if (pemBlockCount(pem) > 1) return Status::KeyMultiplePemBlocks;
    std::string label, der;
    Status s = readPemBlock(pem, &label, &der);
    if (s != Status::Ok) return s;
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    const auto* end = p + der.size();
    EvpPkeyPtr pkey;
    if (label == "PUBLIC KEY") {
      pkey.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
    } else if (label == "RSA PUBLIC KEY") {
      pkey.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size())));
    } else {
      // Private keys, certificates, parameters: never accepted as a verification key.
      return osslFail(Status::KeyInvalidPem);
    }
    if (!pkey || p != end) return osslFail(Status::KeyInvalidPem);

    std::unique_ptr<VerifyKey> key;
    s = VerifyKey::create(pkey.release(), std::string(), std::nullopt, &key);
    if (s != Status::Ok) return s;
    auto set = std::make_shared<KeySet>();
    set->keys_.push_back(std::move(key));
    *out = std::move(set);
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return osslFail(Status::OutOfMemory);
  }
}

Status KeySet::fromPemFile(const std::string& path, KeySetConstPtr* out) {
  try {
    std::string text;
    int err = 0;
    switch (readRegularFile(path, kMaxPemFileBytes, &text, &err)) {
      case ReadFileResult::Ok:
        return fromPem(text, out);
      case ReadFileResult::TooLarge:
        return Status::KeyInvalidPem;
      case ReadFileResult::Unreadable:
      case ReadFileResult::NotRegular:
        break;
    }
    return Status::KeyUnreadable;
  } catch (const std::bad_alloc&) {
    return Status::OutOfMemory;
  }
}

Status KeySet::fromJwks(std::string_view json, KeySetConstPtr* out,
                        std::vector<std::string>* skipped) {
  try {
    if (json.size() > kMaxJwksBytes) return Status::JwksTooLarge;
    JsonPtr root;
    Status s = jsonParseObject(json, &root);
    if (s == Status::OutOfMemory) return s;
    if (s != Status::Ok) return Status::JwksBadJson;
    const json_t* keys = nullptr;
    if (jsonGetArray(root.get(), "keys", &keys) != Status::Ok) return Status::JwksBadJson;

    auto set = std::make_shared<KeySet>();
    size_t count = json_array_size(keys);
    for (size_t i = 0; i < count; ++i) {
      if (i >= kMaxJwksKeys) {
        if (skipped) {
          skipped->push_back(std::to_string(count - i) + " keys beyond the first " +
                             std::to_string(kMaxJwksKeys) + " ignored");
        }
        break;
      }
      std::unique_ptr<VerifyKey> key;
      std::string kid, reason;
      s = keyFromJwk(json_array_get(keys, i), &key, &kid, &reason);
      if (s == Status::OutOfMemory) return s;
      if (s == Status::Ok && set->find(kid) != nullptr) {
        reason = "duplicate kid (the first key with it is used)";
        s = Status::JwksBadJson;
      }
      if (s != Status::Ok) {
        if (skipped) {
          std::string msg = "key #" + std::to_string(i);
          if (!kid.empty()) msg += " (kid \"" + printable(kid) + "\")";
          skipped->push_back(msg + " skipped: " + reason);
        }
        continue;
      }
      set->keys_.push_back(std::move(key));
    }
    if (set->keys_.empty()) return Status::JwksNoUsableKeys;
    *out = std::move(set);
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return osslFail(Status::OutOfMemory);
  }
}

const VerifyKey* KeySet::find(std::string_view kid) const noexcept {
  for (const auto& k : keys_) {
    if (k->kid() == kid) return k.get();
  }
  return nullptr;
}

uint64_t KeySet::nextId() noexcept {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace tasker
