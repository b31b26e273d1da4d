// The core's only error currency. Every fallible function in namespace tasker returns a Status
// and writes its result through its last out-parameter; nothing in the core throws.
#pragma once

namespace tasker {

enum class Status {
  Ok,  // success

  // -- credentials on a request --
  CredentialsMissing,  // no bearer token and no API key header (SPEC 3, step 5)

  // -- bearer token structure --
  TokenTooLarge,          // token longer than kMaxTokenBytes
  TokenMalformed,         // not three segments, or empty
  TokenBadEncoding,       // a segment is not strict unpadded base64url
  TokenBadJson,           // header or claims not a JSON object, or nested deeper than kMaxJsonDepth
  TokenDuplicateMember,   // a member name appears twice in the header or the claims
  TokenAlgNotAllowed,     // alg missing, not a string, none/HS*, or not in the allowlist
  TokenCritUnsupported,   // the header carries crit: no extension is understood
  TokenKidMissing,        // JWKS mode and the header has no (string) kid
  TokenUnknownKid,        // JWKS mode and the kid is not in the current key set
  TokenAlgKeyMismatch,    // alg does not fit the key type, or differs from the JWK's own alg
  TokenBadSignature,      // signature does not verify (wrong length, tampered, other key)

  // -- bearer token claims --
  TokenExpired,             // exp + leeway <= now
  TokenNotYetValid,         // nbf - leeway > now, or iat - leeway > now
  TokenMissingClaim,        // sub, iss, aud, exp or iat absent
  TokenBadClaimType,        // a registered claim has the wrong JSON type
  TokenBadIssuer,           // iss differs from the configured issuer
  TokenBadAudience,         // aud neither equals nor contains the configured audience
  TokenBadPermissionsClaim, // permissions claim is null, a number, or an array with a non-string
  TokenUnknownPermission,   // strict validation: the token holds a string outside the vocabulary

  // -- API keys --
  ApiKeyInvalid,  // the presented key (possibly empty) matches no registry entry

  // -- authorisation --
  PermDenied,            // a required permission is not granted
  PermMethodNotCovered,  // rules exist, but none applies to the request's method

  // -- key material (configuration load, JWKS refresh) --
  KeyUnreadable,         // a key file cannot be read
  KeyInvalidPem,         // PEM text does not parse as a public key
  KeyMultiplePemBlocks,  // PEM text holds more than one PEM block (any labels)
  KeyUnsupported,        // key type or curve we do not verify with (e.g. P-224, DSA, X25519)
  KeyTooSmall,           // RSA modulus under 2048 bits
  JwksTooLarge,          // document larger than kMaxJwksBytes
  JwksBadJson,           // not a JSON object with a "keys" array
  JwksNoUsableKeys,      // every key was skipped
  KeysUnavailable,       // JWKS mode and no key set has been loaded yet (503)

  // -- JWKS transfer --
  FetchFailed,      // connection, TLS or protocol error
  FetchTimeout,     // connect or total timeout
  FetchHttpStatus,  // non-2xx response
  FetchTooLarge,    // body over kMaxJwksBytes

  // -- configuration --
  ConfigUnknownPermission,  // a name outside the vocabulary where one is required
  ConfigWildcardRequired,   // a wildcard used as a required permission
  ConfigBadMethod,          // a method name that is not an HTTP method we know
  ConfigBadAlgorithm,       // an algorithm name outside the ten we verify
  ConfigBadHash,            // malformed sha256:<64 hex>
  ConfigDuplicateKey,       // the same API key twice in a registry
  ConfigInvalid,            // any other invalid value (detail in the message)
  ConfigFileUnreadable,     // tasker_auth_config file missing or unreadable
  ConfigFileSyntax,         // TOML syntax error
  ConfigTableMissing,       // the requested TOML table is absent

  Internal,     // a broken invariant or an unexpected library failure
  OutOfMemory,  // std::bad_alloc or a failed OpenSSL/jansson allocation
};

// Neutral category of a Status; the adapter maps it to HTTP (or gRPC) in exactly one place.
enum class Verdict {
  Allow,            // Ok
  Unauthenticated,  // 401
  Forbidden,        // 403
  Unavailable,      // 503
  Error,            // 500
};

// Stable snake_case name of a Status, for logs and tests. Static storage; never allocates.
const char* statusName(Status s) noexcept;

// The `reason` label of tasker_auth_failures_total (SPEC 6) for an authentication failure, or
// nullptr for statuses that are not authentication failures (Ok, Perm*, configuration).
const char* failureReason(Status s) noexcept;

// The category a request-time Status falls into. Configuration statuses map to Error. Inline:
// every request asks, and an allowed one is answered without a call.
inline Verdict verdictFor(Status s) noexcept {
  switch (s) {
    case Status::Ok:
      return Verdict::Allow;
    case Status::PermDenied:
    case Status::PermMethodNotCovered:
      return Verdict::Forbidden;
    case Status::KeysUnavailable:
      return Verdict::Unavailable;
    default:
      break;
  }
  return failureReason(s) != nullptr ? Verdict::Unauthenticated : Verdict::Error;
}

}  // namespace tasker
