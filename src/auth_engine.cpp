#include "auth_engine.h"

#include <chrono>
#include <new>

#include "hot.h"
#include "tasker_limits.h"

namespace tasker {

namespace {

bool isSpace(char c) noexcept { return c == ' ' || c == '\t'; }

uint64_t monotonicNs() noexcept {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

namespace {
const std::string kNoSubject;
const std::vector<std::string> kNoPermissions;
const ClaimsConstPtr kNoClaims;
}  // namespace

const std::string& identitySubject(const VerifiedToken* token, const ApiKeyEntry* key) noexcept {
  if (token != nullptr) return token->subject;
  return key != nullptr ? key->description : kNoSubject;
}

const std::vector<std::string>& identityPermissions(const VerifiedToken* token,
                                                   const ApiKeyEntry* key) noexcept {
  if (token != nullptr) return token->permissions;
  return key != nullptr ? key->permissions : kNoPermissions;
}

const std::string& Decision::subject() const noexcept { return identitySubject(token, api_key); }

const std::vector<std::string>& Decision::permissions() const noexcept {
  return identityPermissions(token, api_key);
}

const std::vector<std::string>& Decision::unknownPermissions() const noexcept {
  if (token != nullptr) return token->unknown;
  return api_key != nullptr ? api_key->unknown : kNoPermissions;
}

const ClaimsConstPtr& Decision::claims() const noexcept {
  return token != nullptr ? token->claims : kNoClaims;
}

TASKER_HOT
bool parseBearer(std::string_view authorization, std::string_view* token) noexcept {
  // The scheme runs up to the first space or tab and must be "bearer" in any case: six letters
  // compared with bit 0x20 set (which maps only 'B' and 'b' to 'b', and so on), then the end
  // or a separator. "Bearer<token>" has no separator, so its scheme is not "Bearer": it counts
  // as absent.
  static constexpr char kScheme[] = "bearer";
  constexpr size_t kLen = sizeof kScheme - 1;
  if (authorization.size() < kLen) return false;
  for (size_t i = 0; i < kLen; ++i) {
    if ((authorization[i] | 0x20) != kScheme[i]) return false;
  }
  if (authorization.size() > kLen && !isSpace(authorization[kLen])) return false;
  std::string_view rest = authorization.substr(kLen);
  while (!rest.empty() && isSpace(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && isSpace(rest.back())) rest.remove_suffix(1);
  *token = rest;
  return true;
}

size_t AuthPolicy::requestLines(const void** out, size_t max) const noexcept {
  size_t n = 0;
  if (n < max) out[n++] = this;
  if (cfg_.rules && n < max) out[n++] = cfg_.rules.get();
  if (cfg_.api_keys_enabled && cfg_.api_keys) {
    n += cfg_.api_keys->requestLines(out + n, max - n);
  }
  return n;
}

TASKER_HOT
void AuthPolicy::decide(const RequestView& req, int64_t now, const KeySet* jwks_keys,
                        Decision* out, TokenCache* cache) const noexcept {
  try {
    out->status = Status::Internal;

    // SPEC 3 step 2: a CORS preflight carries no credentials by design. A browser's preflight
    // never has a body or a Content-Type (Fetch), so an OPTIONS that has either is checked: a
    // gRPC call sent as OPTIONS with the two headers would otherwise reach a server that routes
    // by path alone (tonic does) without credentials.
    if (req.method == "OPTIONS" && req.has_origin && req.has_acr_method && !req.has_content) {
      out->preflight = true;
      out->status = Status::Ok;
      return;
    }

    std::string_view token;
    bool bearer = req.authorization && parseBearer(*req.authorization, &token);

    if (bearer) {
      // Step 3: a bearer token is the only credential tried; an API key alongside is ignored.
      out->method = AuthMethod::Jwt;
      out->presented = true;
      const KeySet* keys = cfg_.jwks ? jwks_keys : cfg_.static_keys.get();
      // Every bearer token counts as a verification attempt (SPEC 8: the histogram observes
      // each one), also the two refused before any check (verify_ns 0: the first bucket).
      out->jwt_attempted = true;
      if (!cfg_.jwt) {
        out->status = Status::TokenMalformed;  // nothing could ever verify it
        return;
      }
      if (keys == nullptr) {
        // No key set yet (JWKS): 503 only for a token a key could verify (SPEC 8: an empty or
        // malformed token is 401 whatever the keys).
        const Status shape = checkTokenShape(token, cfg_.verify);  // "" is TokenMalformed
        out->status = shape == Status::Ok ? Status::KeysUnavailable : shape;
        return;
      }
      Status s;
      bool cacheable = cache != nullptr && !token.empty() && token.size() <= kMaxTokenBytes;
      const VerifiedTokenRef* hit =
          cacheable ? cache->find(token, this, keys->id(), cfg_.verify.leeway_seconds, now)
                    : nullptr;
      const VerifiedToken* vt = nullptr;
      if (hit != nullptr) {
        s = Status::Ok;
        out->cache_hit = true;
        out->owned = *hit;  // shared: a later insert may evict the entry while a request uses it
        vt = out->owned.get();
        // verify_ns stays 0: a hit takes well under a microsecond, below the histogram's first
        // bound, and the two clock reads that would time it cost a third of the hit (perf).
      } else if (token.empty()) {
        s = Status::TokenMalformed;
      } else {
        const uint64_t t0 = monotonicNs();
        VerifiedToken fresh;
        s = verifyToken(token, *keys, cfg_.verify, now, &fresh);
        if (s == Status::Ok || s == Status::TokenUnknownPermission) {
          out->owned = VerifiedTokenRef::make(std::move(fresh));
          vt = out->owned.get();
          if (s == Status::Ok && cacheable) cache->insert(token, this, keys->id(), out->owned);
        }
        out->verify_ns = monotonicNs() - t0;
      }
      if (s == Status::TokenUnknownPermission) out->token = vt;
      if (s != Status::Ok) {
        out->status = s;
        return;
      }
      out->authenticated = true;
      out->token = vt;
      const char* missing = nullptr;
      out->status = cfg_.rules ? cfg_.rules->check(req.method, vt->grant, &missing) : Status::Ok;
      out->missing_permission = missing;
      return;
    }

    if (cfg_.api_keys_enabled && req.api_key) {
      // Step 4. An empty header value is a presented (invalid) key, not a missing one.
      out->method = AuthMethod::ApiKey;
      out->presented = true;
      const ApiKeyEntry* e = cfg_.api_keys ? cfg_.api_keys->lookup(*req.api_key) : nullptr;
      if (e == nullptr) {
        out->status = Status::ApiKeyInvalid;
        return;
      }
      out->authenticated = true;
      out->api_key = e;
      const char* missing = nullptr;
      out->status = cfg_.rules ? cfg_.rules->check(req.method, e->grant, &missing) : Status::Ok;
      out->missing_permission = missing;
      return;
    }

    out->status = Status::CredentialsMissing;
  } catch (const std::bad_alloc&) {
    out->status = Status::OutOfMemory;
  } catch (...) {
    out->status = Status::Internal;
  }
}

}  // namespace tasker
