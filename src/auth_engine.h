// The request-time facade (SPEC 3): a RequestView in, a Decision out. The adapter extracts header
// bytes into a RequestView, calls AuthPolicy::decide, and maps Decision::status through
// verdictFor() to a response. decide() never throws.
//
// Usage (configuration load):
//   PolicyConfig pc; pc.jwt = true; pc.static_keys = keys; pc.verify = opts; pc.rules = rules;
//   auto policy = std::make_shared<const AuthPolicy>(std::move(pc));
// Usage (request):
//   RequestView v; v.method = "GET"; v.authorization = header_value;
//   Decision d; policy->decide(v, now, jwks_keys_or_null, &d);
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api_keys.h"
#include "keys.h"
#include "permissions.h"
#include "status.h"
#include "token_cache.h"
#include "verify.h"

namespace tasker {

// Everything a location needs to decide. Built once at configuration load; immutable after.
// The members every request reads come first, within one cache line; the verify options
// (strings) only matter once a token is verified.
struct PolicyConfig {
  bool jwt = false;                 // a JWT key source is configured (static key or JWKS)
  bool jwks = false;                // keys come from JWKS: passed to decide(), not static_keys
  bool api_keys_enabled = false;
  std::shared_ptr<const ApiKeyRegistry> api_keys;
  std::shared_ptr<const RuleSet> rules;  // nullptr or empty: any authenticated credential passes
  KeySetConstPtr static_keys;       // public_key mode
  VerifyOptions verify;
};

// The parts of a request the decision depends on. Views into the request's own buffers.
struct RequestView {
  std::string_view method;                      // "GET", "POST", ...
  std::optional<std::string_view> authorization; // Authorization header value, if present
  std::optional<std::string_view> api_key;       // configured API key header value, if present
  bool has_origin = false;                       // Origin present
  bool has_acr_method = false;                   // Access-Control-Request-Method present
  bool has_content = false;  // a body or a Content-Type: never on a CORS preflight (Fetch)
};

enum class AuthMethod { None, Jwt, ApiKey };

// "jwt", "api_key" or "" (SPEC 5 $tasker_auth_method).
inline const char* authMethodName(AuthMethod m) noexcept {
  switch (m) {
    case AuthMethod::Jwt: return "jwt";
    case AuthMethod::ApiKey: return "api_key";
    case AuthMethod::None: break;
  }
  return "";
}

// The subject and permission list (credential order) of a verified token or, without one, of
// an API key entry; empty when both are null. Decision's accessors and the nginx adapter's
// variables (which keep the identity past the decision) both read through these.
const std::string& identitySubject(const VerifiedToken* token, const ApiKeyEntry* key) noexcept;
const std::vector<std::string>& identityPermissions(const VerifiedToken* token,
                                                   const ApiKeyEntry* key) noexcept;

struct Decision {
  Status status = Status::Internal;
  AuthMethod method = AuthMethod::None;   // the credential tried (Jwt for any bearer)
  bool preflight = false;                 // passed as a CORS preflight, nothing inspected
  bool presented = false;                 // a credential was presented (error="invalid_token")
  bool jwt_attempted = false;             // a bearer verification ran (histogram observation)
  bool cache_hit = false;                 // answered from the TokenCache
  uint64_t verify_ns = 0;                 // duration of that verification; 0 for a cache hit
  const char* missing_permission = nullptr;  // PermDenied: vocabulary name, static storage
  bool authenticated = false;             // identity below is valid (also for Perm* statuses)

  // The identity, read through these accessors (empty when there is none). On
  // TokenUnknownPermission the subject and unknown list are there too, for the log.
  const std::string& subject() const noexcept;
  const std::vector<std::string>& permissions() const noexcept;  // credential order
  const std::vector<std::string>& unknownPermissions() const noexcept;
  const ClaimsConstPtr& claims() const noexcept;                  // JWT only

  // Where the identity lives; nothing is copied per request. A JWT's is a verification result,
  // `owned`, shared with the cache entry it came from or was inserted as (a caller may keep it
  // for as long as it needs, e.g. move it into the request); `token` is owned.get(). An API
  // key's is its registry entry, part of the policy's configuration, which outlives the
  // request: a decision must not outlive the AuthPolicy that made it.
  const VerifiedToken* token = nullptr;
  VerifiedTokenRef owned;
  const ApiKeyEntry* api_key = nullptr;
};

class AuthPolicy {
 public:
  explicit AuthPolicy(PolicyConfig cfg) : cfg_(std::move(cfg)) {}

  // SPEC 3 steps 2-6. jwks_keys is the current JWKS key set in JWKS mode (nullptr when none has
  // been loaded: a bearer token then gives KeysUnavailable); ignored otherwise. now: Unix seconds.
  // cache (optional, per worker) answers a token this policy verified before with the same key
  // set, after re-checking its time claims at `now`.
  void decide(const RequestView& req, int64_t now, const KeySet* jwks_keys, Decision* out,
              TokenCache* cache = nullptr) const noexcept;

  const PolicyConfig& config() const noexcept { return cfg_; }

  // The addresses a decision reads besides the request (this policy, the API key index and its
  // entries, the rules), at most max: fixed once the policy is built, so the adapter keeps them
  // and prefetches them as a request arrives. Between two requests the kernel's network code
  // pushes them out of the first-level cache, and decide() would otherwise miss on each in turn
  // (each address is known only once the one before it is loaded).
  size_t requestLines(const void** out, size_t max) const noexcept;

 private:
  PolicyConfig cfg_;
};

// Splits an Authorization value. Returns true when the scheme is Bearer (case-insensitive) and
// sets *token to the rest after the single separating space run (possibly empty). "Bearer<tok>"
// and other schemes return false.
bool parseBearer(std::string_view authorization, std::string_view* token) noexcept;

}  // namespace tasker
