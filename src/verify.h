// Bearer token verification: decode (jwt.h), select a key, check the signature, then the claims.
// Knows nothing about HTTP; `now` is always passed in (Unix seconds).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "algorithms.h"
#include "claim_path.h"
#include "keys.h"
#include "local_ref.h"
#include "permissions.h"
#include "status.h"

namespace tasker {

// What a token must satisfy. Defaults are the module's defaults (SPEC 2).
struct VerifyOptions {
  std::string issuer = "tasker-core";           // required iss (exact)
  std::string audience = "tasker-api";          // aud equal to it, or an array containing it
  AlgMask algorithms = kDefaultAlgs;            // allowlist; none/HS* can never be in it
  int64_t leeway_seconds = 60;                  // skew allowed on exp, nbf, iat
  std::string permissions_claim = "permissions";
  bool strict = true;                           // unknown permission strings reject the token
  bool require_kid = false;                     // JWKS mode: kid required and selects the key
};

// The parsed claims of a verified token, kept for $tasker_jwt_claim_<name>. Opaque: a jansson
// tree, or for the usual flat claims the decoded text and its members (flat_claims.h); both
// behave alike.
class Claims {
 public:
  virtual ~Claims() = default;
  // Renders top-level claim `name` (SPEC 5, 8): strings raw; integers and booleans as text;
  // arrays of strings comma-joined; other arrays, objects and floats as compact JSON; null as "".
  // Returns false when the claim is absent (or, without throwing, when memory runs out).
  // Reals use the shortest text that reads back to the same double (1.5, 0.1); an empty array
  // counts as an array of strings and renders as "".
  virtual bool render(std::string_view name, std::string* out) const = 0;
  // Renders the claim at `path` (claim_path.h) the same way, following nested objects
  // (tasker_jwt_claim_set). Returns false when a member on the way is absent or an intermediate
  // value is not an object (or, without throwing, when memory runs out).
  virtual bool renderPath(const ClaimPath& path, std::string* out) const = 0;
  // The whole claims object as compact JSON, members in token order (for tasker-ctl). Empty
  // string only on allocation failure.
  virtual std::string toJson() const = 0;
  // Re-applies the time checks of verifyToken (exp, nbf, iat with the leeway) at `now`, with the
  // same boundaries and statuses (Ok, TokenExpired, TokenNotYetValid). Lets a cache of verified
  // tokens stay exact: a cached token is only reused while it would still verify.
  virtual Status checkTimes(int64_t leeway_seconds, int64_t now) const noexcept = 0;
};
using ClaimsConstPtr = std::shared_ptr<const Claims>;

// The outcome of verifyToken. On Ok everything is filled. On TokenUnknownPermission the subject,
// permissions and unknown lists are filled too (for the log). On TokenUnknownKid, kid is filled.
struct VerifiedToken {
  std::string subject;                     // sub
  std::string kid;                         // header kid, if any
  std::vector<std::string> permissions;    // granted strings in token order (unknown ones kept)
  std::vector<std::string> unknown;        // strings outside the vocabulary
  Grant grant;                             // compiled from permissions
  ClaimsConstPtr claims;
};
// A verification result shared within one worker: its token cache entry, the decision and the
// request that use it (local_ref.h: plain, non-atomic counts).
using VerifiedTokenRef = LocalRef<const VerifiedToken>;

// Verifies a compact JWS. Checks, in order: size (kMaxTokenBytes), three strict base64url
// segments, header JSON (depth, duplicates), alg in the allowlist, no crit, kid (JWKS mode),
// key selection and alg/key fit (incl. the JWK's own alg), signature, then claims: sub (string),
// iss, aud, exp, iat present and valid within the leeway, nbf when present, duplicates, the
// permissions claim (array of strings, or one space-separated string; absent = empty; a
// string containing a comma is TokenBadPermissionsClaim in every mode), and
// strict validation. jku, x5u, jwk, x5c and typ in the header are ignored.
// In public-key mode (require_kid false) the kid is ignored and keys.first() is used.
// Never throws; an allocation failure gives OutOfMemory.
//
// Exact time boundaries (all in Unix seconds, L = max(leeway_seconds, 0); exp/nbf/iat may be
// JSON integers or reals, any other type is TokenBadClaimType):
//   exp: accepted iff now <  exp + L   (now == exp + L is TokenExpired)
//   nbf: accepted iff now >= nbf - L   (now == nbf - L - 1 is TokenNotYetValid)
//   iat: accepted iff now >= iat - L   (same rule as nbf)
// Claim checks run in this order: sub, iss, aud, exp, iat, nbf present and well-typed
// (TokenMissingClaim / TokenBadClaimType), then exp, nbf, iat, iss, aud values, the permissions
// claim, strict validation. The header kid (a string) is copied to out->kid in both modes; in
// JWKS mode a missing, non-string or empty kid is TokenKidMissing. Once the signature verified,
// out->subject is filled as soon as sub is read, whatever the later outcome. More than
// kMaxPermissionsPerCredential permission strings: TokenBadPermissionsClaim (never truncated).
Status verifyToken(std::string_view token, const KeySet& keys, const VerifyOptions& opts,
                   int64_t now, VerifiedToken* out) noexcept;

// The checks verifyToken makes before it needs a key, with the same statuses: size, three
// strict base64url segments, header JSON, alg in the allowlist, no crit, and a kid when
// require_kid. Ok: the token is well formed and a key is all it lacks. For a JWKS location that
// has no key set yet, so that a malformed token is still 401, not 503. Never throws.
Status checkTokenShape(std::string_view token, const VerifyOptions& opts) noexcept;

}  // namespace tasker
