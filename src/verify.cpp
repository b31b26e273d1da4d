#include "verify.h"

#include <new>

#include <openssl/err.h>

#include "claim_path_internal.h"
#include "digest.h"
#include "flat_claims.h"
#include "json.h"
#include "jwt.h"
#include "ossl.h"
#include "tasker_limits.h"
#include "verify_internal.h"

namespace tasker {

namespace {

// ---- claim sources ------------------------------------------------------------------------------
// The claim checks below are written once, over either form of a claims object: the jansson tree
// (JsonSource) or the members of the flat reader (FlatSource, flat_claims.h). A source gives
// member(name) (a null Value when absent), the type tests, the string and number of a value, and
// forEachElement(v, f), which calls f(const std::string_view* item) for each array element
// (nullptr for an element that is not a string) until f returns false.

struct JsonSource {
  using Value = const json_t*;
  const json_t* obj;

  Value member(std::string_view name) const noexcept { return jsonMember(obj, name); }
  bool isString(Value v) const noexcept { return json_is_string(v); }
  bool isArray(Value v) const noexcept { return json_is_array(v); }
  std::string_view stringOf(Value v) const noexcept { return jsonStringView(v); }
  size_t arraySize(Value v) const noexcept { return json_array_size(v); }
  template <class F>
  void forEachElement(Value v, F&& f) const {
    for (size_t i = 0; i < json_array_size(v); ++i) {
      const json_t* m = json_array_get(v, i);
      std::string_view item = jsonStringView(m);
      if (!f(json_is_string(m) ? &item : nullptr)) return;
    }
  }
  // Ok, or TokenBadClaimType when v is not a number.
  Status number(Value v, JsonNumber* out) const noexcept {
    if (json_is_integer(v)) {
      *out = JsonNumber{true, static_cast<int64_t>(json_integer_value(v)), 0};
      return Status::Ok;
    }
    if (json_is_real(v)) {
      *out = JsonNumber{false, 0, json_real_value(v)};
      return Status::Ok;
    }
    return Status::TokenBadClaimType;
  }
};

struct FlatSource {
  using Value = const FlatMember*;
  std::string_view text;
  const FlatMembers& members;

  Value member(std::string_view name) const noexcept { return members.find(text, name); }
  bool isString(Value v) const noexcept { return v->kind == FlatKind::String; }
  bool isArray(Value v) const noexcept { return v->kind == FlatKind::StringArray; }
  std::string_view stringOf(Value v) const noexcept { return v->value(text); }
  size_t arraySize(Value v) const noexcept { return static_cast<size_t>(v->integer); }
  template <class F>
  void forEachElement(Value v, F&& f) const {
    forEachFlatString(text, *v, [&](std::string_view item) { return f(&item); });
  }
  // The flat reader takes no reals: a number is an integer.
  Status number(Value v, JsonNumber* out) const noexcept {
    if (v->kind != FlatKind::Integer) return Status::TokenBadClaimType;
    *out = JsonNumber{true, v->integer, 0};
    return Status::Ok;
  }
};

// Ok, TokenMissingClaim (absent) or TokenBadClaimType (not a string), as jsonGetString.
template <class Source>
Status getString(const Source& src, std::string_view name, std::string_view* out) noexcept {
  typename Source::Value v = src.member(name);
  if (v == nullptr) return Status::TokenMissingClaim;
  if (!src.isString(v)) return Status::TokenBadClaimType;
  *out = src.stringOf(v);
  return Status::Ok;
}

// Ok, TokenMissingClaim or TokenBadClaimType, as jsonGetNumber.
template <class Source>
Status getNumber(const Source& src, std::string_view name, JsonNumber* out) noexcept {
  typename Source::Value v = src.member(name);
  if (v == nullptr) return Status::TokenMissingClaim;
  return src.number(v, out);
}

// exp and iat (required) and nbf (optional), read once: their JSON types decide `types`.
struct TimeClaims {
  Status types = Status::Ok;
  JsonNumber exp, iat, nbf;
  bool has_nbf = false;
};

template <class Source>
TimeClaims readTimeClaims(const Source& src) noexcept {
  TimeClaims t;
  t.types = getNumber(src, "exp", &t.exp);
  if (t.types != Status::Ok) return t;
  t.types = getNumber(src, "iat", &t.iat);
  if (t.types != Status::Ok) return t;
  Status s = getNumber(src, "nbf", &t.nbf);
  t.has_nbf = s == Status::Ok;
  if (s == Status::TokenBadClaimType) t.types = s;
  return t;
}

Status evaluateTimes(const TimeClaims& t, int64_t leeway_seconds, int64_t now) noexcept;

// Claims of a verified token, for $tasker_jwt_claim_<name> and tasker-ctl: the jansson tree.
class JsonClaims final : public Claims {
 public:
  // The time claims were read once by the checks, so that checkTimes (run on every cache hit)
  // is a few comparisons rather than three lookups; the tree never changes after this.
  JsonClaims(JsonPtr root, const TimeClaims& times) : times_(times), root_(std::move(root)) {}

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
  TimeClaims times_;  // first: beside the vtable pointer, where a cache hit's prefetch reads
  JsonPtr root_;
};

// The same for a flat claims object (flat_claims.h): the decoded text and its members, rendered
// exactly as JsonClaims renders the jansson tree of the same text.
class FlatClaims final : public Claims {
 public:
  FlatClaims(std::string text, FlatMembers members, const TimeClaims& times)
      : times_(times), text_(std::move(text)), members_(std::move(members)) {}

  bool render(std::string_view name, std::string* out) const override {
    const FlatMember* m = members_.find(text_, name);
    return m != nullptr && renderFlatValue(text_, *m, out);
  }

  // No member is an object, so only a path of one name can lead anywhere (claimPathLookup).
  bool renderPath(const ClaimPath& path, std::string* out) const override {
    return path.segments().size() == 1 && render(path.segments()[0], out);
  }

  Status checkTimes(int64_t leeway_seconds, int64_t now) const noexcept override {
    return evaluateTimes(times_, leeway_seconds, now);
  }

  std::string toJson() const override {
    try {
      return flatCompactJson(text_, members_);
    } catch (const std::bad_alloc&) {
      return std::string();
    }
  }

 private:
  TimeClaims times_;  // first: beside the vtable pointer, where a cache hit's prefetch reads
  std::string text_;  // members_ hold offsets into it
  FlatMembers members_;
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
  const auto* data = reinterpret_cast<const unsigned char*>(to_check.data());
  if (auto* in_place = static_cast<EVP_PKEY_CTX*>(key.inPlaceVerifyCtx(alg))) {
    uint8_t md[64];
    size_t md_len = 0;
    if (!shaDigest(algDigestBits(alg), input, md, &md_len)) return osslFail(Status::Internal);
    if (EVP_PKEY_verify(in_place, data, to_check.size(), md, md_len) != 1) {
      return osslFail(Status::TokenBadSignature);
    }
    return Status::Ok;
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
  int rc = EVP_DigestVerify(ctx.get(), data, to_check.size(),
                            reinterpret_cast<const unsigned char*>(input.data()), input.size());
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
template <class Source>
Status readPermissions(const Source& src, const std::string& name, VerifiedToken* out) {
  typename Source::Value p = src.member(name);
  if (p == nullptr) return Status::Ok;
  if (src.isString(p)) {
    // OAuth "scope" style: space-separated (RFC 6749 3.3); empty pieces are dropped.
    std::string_view s = src.stringOf(p);
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
  if (!src.isArray(p)) return Status::TokenBadPermissionsClaim;  // null, number, object, bool
  if (src.arraySize(p) > kMaxPermissionsPerCredential) return Status::TokenBadPermissionsClaim;
  Status s = Status::Ok;
  src.forEachElement(p, [&](const std::string_view* item) {
    if (item == nullptr || item->find(',') != std::string_view::npos) {
      s = Status::TokenBadPermissionsClaim;
      return false;
    }
    out->permissions.emplace_back(*item);
    return true;
  });
  return s;
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

// Registered claims: presence and JSON types first, then values. *times gets the time claims
// as read (for Claims::checkTimes).
template <class Source>
Status checkClaims(const Source& src, const VerifyOptions& opts, int64_t now, VerifiedToken* out,
                   TimeClaims* times) {
  std::string_view sub, iss;
  Status s = getString(src, "sub", &sub);
  if (s != Status::Ok) return s;
  out->subject.assign(sub);
  s = getString(src, "iss", &iss);
  if (s != Status::Ok) return s;
  typename Source::Value aud = src.member("aud");
  if (aud == nullptr) return Status::TokenMissingClaim;
  if (!src.isString(aud) && !src.isArray(aud)) return Status::TokenBadClaimType;
  if (src.isArray(aud)) {
    // RFC 7519 4.1.3: an array of strings. Any other element is a wrongly typed claim (SPEC 3),
    // whether or not a string element matches.
    bool strings = true;
    src.forEachElement(aud, [&](const std::string_view* a) {
      strings = a != nullptr;
      return strings;
    });
    if (!strings) return Status::TokenBadClaimType;
  }
  *times = readTimeClaims(src);
  s = evaluateTimes(*times, opts.leeway_seconds, now);
  if (s != Status::Ok) return s;

  if (iss != opts.issuer) return Status::TokenBadIssuer;
  bool aud_ok = false;
  if (src.isString(aud)) {
    aud_ok = src.stringOf(aud) == opts.audience;
  } else {
    src.forEachElement(aud, [&](const std::string_view* a) {
      aud_ok = a != nullptr && *a == opts.audience;  // every element is a string (above)
      return !aud_ok;
    });
  }
  if (!aud_ok) return Status::TokenBadAudience;

  s = readPermissions(src, opts.permissions_claim, out);
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

// The claims through the flat reader: false when it declines (nothing done), else true with the
// outcome in *status.
bool verifyFlatClaims(std::string* claims_json, const VerifyOptions& opts, int64_t now,
                      VerifiedToken* out, Status* status) {
  FlatMembers members;
  if (!readFlatClaims(*claims_json, &members)) return false;
  TimeClaims times;
  *status = checkClaims(FlatSource{*claims_json, members}, opts, now, out, &times);
  if (*status == Status::Ok) {
    out->claims = std::make_shared<FlatClaims>(std::move(*claims_json), std::move(members), times);
  }
  return true;
}

// The claims through jansson: jsonParseObject and the kMaxClaims cap decide the JSON statuses.
Status verifyJanssonClaims(std::string_view claims_json, const VerifyOptions& opts, int64_t now,
                           VerifiedToken* out) {
  JsonPtr claims;
  Status s = parseJwtClaims(claims_json, &claims);
  if (s != Status::Ok) return s;
  TimeClaims times;
  s = checkClaims(JsonSource{claims.get()}, opts, now, out, &times);
  if (s != Status::Ok) return s;
  out->claims = std::make_shared<JsonClaims>(std::move(claims), times);
  return Status::Ok;
}

}  // namespace

Status verifyClaimsText(ClaimsReader reader, std::string claims_json, const VerifyOptions& opts,
                        int64_t now, VerifiedToken* out) {
  Status s = Status::Ok;
  if (reader == ClaimsReader::Jansson) {
    s = verifyJanssonClaims(claims_json, opts, now, out);
  } else if (!verifyFlatClaims(&claims_json, opts, now, out, &s)) {
    // Declined: anything but the usual flat object (nested values, escapes, reals, invalid
    // JSON, ...) takes the jansson path, which decides exactly as before the flat reader.
    if (reader == ClaimsReader::Flat) return Status::Internal;
    s = verifyJanssonClaims(claims_json, opts, now, out);
  }
  if (s != Status::Ok) return s;
  if (opts.strict && !out->unknown.empty()) return Status::TokenUnknownPermission;
  return Status::Ok;
}

namespace {

// The header checks that need no key: alg, crit, and in JWKS mode a kid.
Status checkHeader(const JwtHeader& header, const VerifyOptions& opts, Alg* alg) noexcept {
  // The allowlist is the defence against alg confusion: the token names its algorithm, but only
  // the ten asymmetric ones we implement, and only those configured, are ever considered.
  if (!header.has_alg) return Status::TokenAlgNotAllowed;
  if (parseAlg(header.alg, alg) != Status::Ok) return Status::TokenAlgNotAllowed;
  if ((opts.algorithms & algBit(*alg)) == 0) return Status::TokenAlgNotAllowed;

  // RFC 7515 4.1.11: a recipient must reject a token whose crit names an extension it does not
  // understand; we understand none.
  if (header.has_crit) return Status::TokenCritUnsupported;

  if (opts.require_kid && (!header.has_kid || header.kid.empty())) {
    return Status::TokenKidMissing;
  }
  return Status::Ok;
}

Status verifyImpl(std::string_view token, const KeySet& keys, const VerifyOptions& opts,
                  int64_t now, VerifiedToken* out) {
  Jwt jwt;
  Status s = decodeJwt(token, &jwt);
  if (s != Status::Ok) return s;
  const JwtHeader& header = jwt.hdr;

  if (header.has_kid) out->kid.assign(header.kid);
  Alg alg;
  s = checkHeader(header, opts, &alg);
  if (s != Status::Ok) return s;
  std::string_view kid = header.kid;

  // jku, x5u, jwk and x5c are never read: keys only ever come from the configuration.
  const VerifyKey* key = nullptr;
  if (opts.require_kid) {
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
  return verifyClaimsText(ClaimsReader::Auto, std::move(jwt.claims_json), opts, now, out);
}

}  // namespace

Status checkTokenShape(std::string_view token, const VerifyOptions& opts) noexcept {
  try {
    Jwt jwt;
    Status s = decodeJwt(token, &jwt);
    if (s != Status::Ok) return s;
    Alg alg;
    return checkHeader(jwt.hdr, opts, &alg);
  } catch (const std::bad_alloc&) {
    return Status::OutOfMemory;
  } catch (...) {
    return Status::Internal;
  }
}

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
