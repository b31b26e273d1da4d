#include "verify.h"

#include <new>

#include <openssl/err.h>

#include "claim_path_internal.h"
#include "json.h"
#include "jwt.h"
#include "tasker_limits.h"
#include "ossl.h"

namespace tasker {

namespace {

// exp and iat (required) and nbf (optional), read once: their JSON types decide `types`.
struct TimeClaims {
  Status types = Status::Ok;
  JsonNumber exp, iat, nbf;
  bool has_nbf = false;
};
TimeClaims readTimeClaims(const json_t* claims) noexcept;
Status evaluateTimes(const TimeClaims& t, int64_t leeway_seconds, int64_t now) noexcept;

// Claims of a verified token, for $tasker_jwt_claim_<name> and tasker-ctl.
class JsonClaims final : public Claims {
 public:
  // The time claims are read here once, so that checkTimes (run on every cache hit) is a few
  // comparisons rather than three jansson lookups; the tree never changes after this.
  explicit JsonClaims(JsonPtr root) : root_(std::move(root)), times_(readTimeClaims(root_.get())) {}

  bool render(std::string_view name, std::string* out) const override {
    const json_t* v = jsonMember(root_.get(), name);
    return v != nullptr && renderClaimValue(v, out);
  }

  bool renderPath(const ClaimPath& path, std::string* out) const override {
    const json_t* v = claimPathLookup(root_.get(), path);
    return v != nullptr && renderClaimValue(v, out);
  }

  Status checkTimes(int64_t leeway_seconds, int64_t now) const noexcept override {
    return evaluateTimes(times_, leeway_seconds, now);
  }

  std::string toJson() const override {
    try {
      return jsonCompact(root_.get());
    } catch (const std::bad_alloc&) {
      return std::string();
    }
  }

 private:
  JsonPtr root_;
  TimeClaims times_;
};

// Verifies sig over input with key, for alg (already known to fit the key type).
Status verifySignature(const VerifyKey& key, Alg alg, std::string_view input,
                       const std::string& sig) {
  auto* pkey = static_cast<EVP_PKEY*>(key.evpPkey());
  std::string der;
  std::string_view to_check = sig;
  switch (key.type()) {
    case KeyType::Rsa:
      // PKCS#1 v1.5 and PSS signatures are exactly as long as the modulus.
      if (sig.size() != static_cast<size_t>(EVP_PKEY_get_size(pkey))) {
        return Status::TokenBadSignature;
      }
      break;
    case KeyType::EcP256:
    case KeyType::EcP384:
    case KeyType::EcP521: {
      // JWS carries ECDSA as fixed-size R||S (RFC 7518 3.4); OpenSSL wants DER.
      Status s = ecdsaRawToDer(sig, ecCoordinateBytes(key.type()), &der);
      if (s != Status::Ok) return s;
      to_check = der;
      break;
    }
    case KeyType::Ed25519:
      if (sig.size() != 64) return Status::TokenBadSignature;
      break;
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return osslFail(Status::OutOfMemory);
  const auto* prepared = static_cast<const EVP_MD_CTX*>(key.preparedVerifyCtx(alg));
  if (prepared != nullptr) {
    // A copy of the context prepared at key load: same digest, padding and key, no fetching.
    if (EVP_MD_CTX_copy_ex(ctx.get(), prepared) != 1) return osslFail(Status::OutOfMemory);
  } else {
    EVP_PKEY_CTX* pctx = nullptr;  // borrowed: owned by ctx
    if (EVP_DigestVerifyInit(ctx.get(), &pctx, algDigest(alg), nullptr, pkey) != 1) {
      return osslFail(Status::Internal);
    }
    Status s = configureSignatureCtx(pctx, alg);
    if (s != Status::Ok) return s;
  }
  int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(to_check.data()),
                            to_check.size(), reinterpret_cast<const unsigned char*>(input.data()),
                            input.size());
  if (rc != 1) return osslFail(Status::TokenBadSignature);
  return Status::Ok;
}

// exp: the token is valid while now < exp + leeway, i.e. expired when exp + leeway <= now.
// Integers are compared exactly for any int64 claim and clock (the difference is taken in
// uint64 once its sign is known, so nothing overflows); reals are compared as doubles.
bool isExpired(const JsonNumber& exp, int64_t leeway, int64_t now) noexcept {
  if (!exp.is_integer) return exp.real + static_cast<double>(leeway) <= static_cast<double>(now);
  if (exp.integer > now) return false;  // leeway >= 0
  uint64_t past = static_cast<uint64_t>(now) - static_cast<uint64_t>(exp.integer);
  return static_cast<uint64_t>(leeway) <= past;
}

// nbf / iat: not yet valid when value - leeway > now, i.e. valid from now >= value - leeway.
bool isInFuture(const JsonNumber& t, int64_t leeway, int64_t now) noexcept {
  if (!t.is_integer) return t.real - static_cast<double>(leeway) > static_cast<double>(now);
  if (t.integer <= now) return false;
  uint64_t ahead = static_cast<uint64_t>(t.integer) - static_cast<uint64_t>(now);
  return ahead > static_cast<uint64_t>(leeway);
}

// Reads the permissions claim into out->permissions (absent: empty). A string containing a comma
// makes the claim malformed whatever the strict setting: no permission has one, and in the
// comma-joined $tasker_auth_permissions it would read like two grants (SPEC 5).
Status readPermissions(const json_t* claims, const std::string& name, VerifiedToken* out) {
  const json_t* p = jsonMember(claims, name);
  if (p == nullptr) return Status::Ok;
  if (json_is_string(p)) {
    // OAuth "scope" style: space-separated (RFC 6749 3.3); empty pieces are dropped.
    std::string_view s = jsonStringView(p);
    size_t pos = 0;
    while (pos < s.size()) {
      size_t end = s.find(' ', pos);
      if (end == std::string_view::npos) end = s.size();
      if (end > pos) {
        if (out->permissions.size() >= kMaxPermissionsPerCredential) {
          return Status::TokenBadPermissionsClaim;
        }
        std::string_view item = s.substr(pos, end - pos);
        if (item.find(',') != std::string_view::npos) return Status::TokenBadPermissionsClaim;
        out->permissions.emplace_back(item);
      }
      pos = end + 1;
    }
    return Status::Ok;
  }
  if (!json_is_array(p)) return Status::TokenBadPermissionsClaim;  // null, number, object, bool
  if (json_array_size(p) > kMaxPermissionsPerCredential) return Status::TokenBadPermissionsClaim;
  for (size_t i = 0; i < json_array_size(p); ++i) {
    const json_t* m = json_array_get(p, i);
    if (!json_is_string(m)) return Status::TokenBadPermissionsClaim;
    std::string_view item = jsonStringView(m);
    if (item.find(',') != std::string_view::npos) return Status::TokenBadPermissionsClaim;
    out->permissions.emplace_back(item);
  }
  return Status::Ok;
}

TimeClaims readTimeClaims(const json_t* claims) noexcept {
  TimeClaims t;
  t.types = jsonGetNumber(claims, "exp", &t.exp);
  if (t.types != Status::Ok) return t;
  t.types = jsonGetNumber(claims, "iat", &t.iat);
  if (t.types != Status::Ok) return t;
  Status s = jsonGetNumber(claims, "nbf", &t.nbf);
  t.has_nbf = s == Status::Ok;
  if (s == Status::TokenBadClaimType) t.types = s;
  return t;
}

// exp, nbf, iat values at `now` (after their types passed).
Status evaluateTimes(const TimeClaims& t, int64_t leeway_seconds, int64_t now) noexcept {
  if (t.types != Status::Ok) return t.types;
  // Why a leeway: issuer and gateway clocks drift; a small symmetric allowance (default 60 s)
  // avoids rejecting fresh tokens without meaningfully extending a stolen token's life.
  int64_t leeway = leeway_seconds > 0 ? leeway_seconds : 0;
  if (isExpired(t.exp, leeway, now)) return Status::TokenExpired;
  if (t.has_nbf && isInFuture(t.nbf, leeway, now)) return Status::TokenNotYetValid;
  if (isInFuture(t.iat, leeway, now)) return Status::TokenNotYetValid;
  return Status::Ok;
}

// exp and iat (required) and nbf (optional): JSON types, then values at `now`.
Status checkTimeClaims(const json_t* claims, int64_t leeway_seconds, int64_t now) {
  return evaluateTimes(readTimeClaims(claims), leeway_seconds, now);
}

// Registered claims: presence and JSON types first, then values.
Status checkClaims(const json_t* claims, const VerifyOptions& opts, int64_t now,
                   VerifiedToken* out) {
  std::string_view sub, iss;
  Status s = jsonGetString(claims, "sub", &sub);
  if (s != Status::Ok) return s;
  out->subject.assign(sub);
  s = jsonGetString(claims, "iss", &iss);
  if (s != Status::Ok) return s;
  const json_t* aud = jsonMember(claims, "aud");
  if (aud == nullptr) return Status::TokenMissingClaim;
  if (!json_is_string(aud) && !json_is_array(aud)) return Status::TokenBadClaimType;
  s = checkTimeClaims(claims, opts.leeway_seconds, now);
  if (s != Status::Ok) return s;

  if (iss != opts.issuer) return Status::TokenBadIssuer;
  bool aud_ok = false;
  if (json_is_string(aud)) {
    aud_ok = jsonStringView(aud) == opts.audience;
  } else {
    for (size_t i = 0; i < json_array_size(aud) && !aud_ok; ++i) {
      const json_t* a = json_array_get(aud, i);
      aud_ok = json_is_string(a) && jsonStringView(a) == opts.audience;  // others never match
    }
  }
  if (!aud_ok) return Status::TokenBadAudience;

  s = readPermissions(claims, opts.permissions_claim, out);
  if (s != Status::Ok) {
    out->permissions.clear();
    return s;
  }
  for (const std::string& p : out->permissions) {
    out->grant.add(p);
    if (!isKnownPermissionString(p)) out->unknown.push_back(p);
  }
  return Status::Ok;
}

Status verifyImpl(std::string_view token, const KeySet& keys, const VerifyOptions& opts,
                  int64_t now, VerifiedToken* out) {
  Jwt jwt;
  Status s = decodeJwt(token, &jwt);
  if (s != Status::Ok) return s;
  const JwtHeader& header = jwt.hdr;

  // The allowlist is the defence against alg confusion: the token names its algorithm, but only
  // the ten asymmetric ones we implement, and only those configured, are ever considered.
  if (!header.has_alg) return Status::TokenAlgNotAllowed;
  Alg alg;
  if (parseAlg(header.alg, &alg) != Status::Ok) return Status::TokenAlgNotAllowed;
  if ((opts.algorithms & algBit(alg)) == 0) return Status::TokenAlgNotAllowed;

  // RFC 7515 4.1.11: a recipient must reject a token whose crit names an extension it does not
  // understand; we understand none.
  if (header.has_crit) return Status::TokenCritUnsupported;

  std::string_view kid = header.kid;
  bool has_kid = header.has_kid;
  if (has_kid) out->kid.assign(kid);

  // jku, x5u, jwk and x5c are never read: keys only ever come from the configuration.
  const VerifyKey* key = nullptr;
  if (opts.require_kid) {
    if (!has_kid || kid.empty()) return Status::TokenKidMissing;
    key = keys.find(kid);
    if (key == nullptr) return Status::TokenUnknownKid;
  } else {
    key = keys.first();
    if (key == nullptr) return Status::KeysUnavailable;
  }
  if (!algFitsKey(alg, key->type())) return Status::TokenAlgKeyMismatch;
  if (key->jwkAlg() && *key->jwkAlg() != alg) return Status::TokenAlgKeyMismatch;

  s = verifySignature(*key, alg, jwt.signing_input, jwt.signature);
  if (s != Status::Ok) return s;

  // Only now are the claims trusted enough to be parsed.
  JsonPtr claims;
  s = parseJwtClaims(jwt, &claims);
  if (s != Status::Ok) return s;
  s = checkClaims(claims.get(), opts, now, out);
  if (s != Status::Ok) return s;

  out->claims = std::make_shared<JsonClaims>(std::move(claims));
  if (opts.strict && !out->unknown.empty()) return Status::TokenUnknownPermission;
  return Status::Ok;
}

}  // namespace

Status verifyToken(std::string_view token, const KeySet& keys, const VerifyOptions& opts,
                   int64_t now, VerifiedToken* out) noexcept {
  try {
    *out = VerifiedToken();
    return verifyImpl(token, keys, opts, now, out);
  } catch (const std::bad_alloc&) {
    ERR_clear_error();
    return Status::OutOfMemory;
  } catch (...) {
    ERR_clear_error();
    return Status::Internal;
  }
}

}  // namespace tasker
