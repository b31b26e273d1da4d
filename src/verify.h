// Bearer token verification: decode (jwt.h), select a key, check the signature, then the claims.
// Knows nothing about HTTP; `now` is always passed in (Unix seconds).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "algorithms.h"
#include "keys.h"
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

// The parsed claims of a verified token, kept for $tasker_jwt_claim_<name>. Opaque (jansson inside).
class Claims {
 public:
  virtual ~Claims() = default;
  // Renders top-level claim `name` (SPEC 5, 8): strings raw; integers and booleans as text;
  // arrays of strings comma-joined; other arrays, objects and floats as compact JSON; null as "".
  // Returns false when the claim is absent.
  virtual bool render(std::string_view name, std::string* out) const = 0;
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

// Verifies a compact JWS. Checks, in order: size (kMaxTokenBytes), three strict base64url
// segments, header JSON (depth, duplicates), alg in the allowlist, no crit, kid (JWKS mode),
// key selection and alg/key fit (incl. the JWK's own alg), signature, then claims: sub (string),
// iss, aud, exp, iat present and valid within the leeway, nbf when present, duplicates, the
// permissions claim (array of strings, or one space-separated string; absent = empty), and
// strict validation. jku, x5u, jwk, x5c and typ in the header are ignored.
// In public-key mode (require_kid false) the kid is ignored and keys.first() is used.
// Never throws; an allocation failure gives OutOfMemory.
Status verifyToken(std::string_view token, const KeySet& keys, const VerifyOptions& opts,
                   int64_t now, VerifiedToken* out) noexcept;

}  // namespace tasker
