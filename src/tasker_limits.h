// Named caps on every untrusted input the core handles. Change them here only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tasker {

constexpr size_t kMaxTokenBytes = 8192;          // a bearer token longer than this is rejected
constexpr size_t kMaxJsonDepth = 16;             // nesting of objects/arrays in header and claims
constexpr size_t kMaxClaims = 256;               // members in the claims object
constexpr size_t kMaxClaimPathBytes = 256;       // tasker_jwt_claim_set CLAIM text
constexpr size_t kMaxClaimPathDepth = kMaxJsonDepth;  // member names in one claim path
constexpr size_t kMaxPermissionsPerCredential = 256;
constexpr size_t kMaxJwksBytes = 256 * 1024;     // JWKS document body
constexpr size_t kMaxPemFileBytes = 1024 * 1024;   // a key file (tasker_jwt_public_key_path)
constexpr size_t kMaxCaBundleBytes = 4 * 1024 * 1024;  // tasker_jwks_ca_file (Debian's bundle: ~220 KB)
constexpr size_t kMaxJwksKeys = 64;              // keys considered in one JWKS document
constexpr size_t kMaxApiKeyBytes = 1024;         // presented API key header value
constexpr size_t kMaxAuthorizationBytes = kMaxTokenBytes + 64;
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;
constexpr long kJwksConnectTimeoutMs = 5000;     // libcurl connect timeout for a JWKS fetch
constexpr long kJwksTotalTimeoutMs = 15000;      // libcurl total timeout for a JWKS fetch
constexpr int64_t kJwksEarlyRefreshSeconds = 30; // min gap between fetches of one URL for unknown kids
constexpr long kJwksMaxRedirects = 3;            // redirects followed when a fetch opts in to them
constexpr long kJwksStepMinDelayMs = 1;          // JwksFetch::suggestedDelayMs() lower clamp
constexpr long kJwksStepMaxDelayMs = 100;        // ... upper clamp: poll period while curl waits

}  // namespace tasker
