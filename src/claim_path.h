// Claim paths for `tasker_jwt_claim_set $variable CLAIM;`: an exact claim name, upper-case
// letters kept, or a dotted path into nested objects ("realm_access.roles"). Parsed once at
// configuration load; looked up in a verified token's claims (Claims::renderPath, verify.h).
//
//   ClaimPath p;
//   const char* why = nullptr;
//   if (ClaimPath::parse("realm_access.roles", &p, &why) != Status::Ok) { /* report why */ }
//   claims->renderPath(p, &value);   // "admin,user" for {"realm_access":{"roles":[...]}}
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace tasker {

// A parsed claim path: the member names to follow from the claims object, one per level.
// Immutable after parse; copyable.
class ClaimPath {
 public:
  // Parses `text`. '.' separates member names; "\." is a literal dot inside a name (for
  // namespaced claims such as "https://example\.com/tenant") and "\\" a literal backslash.
  // Rejected, with ConfigInvalid and a static reason in *why (when why is not null):
  // empty text, more than kMaxClaimPathBytes bytes, more than kMaxClaimPathDepth names, an
  // empty name (leading, trailing or doubled dot), a backslash before anything else or at the
  // end, and control bytes (below 0x20, DEL). OutOfMemory on allocation failure. On failure
  // *out is left unchanged. Does not check that any token carries the claim.
  static Status parse(std::string_view text, ClaimPath* out, const char** why = nullptr) noexcept;

  // The member names, outermost first; never empty after a successful parse.
  const std::vector<std::string>& segments() const noexcept { return segments_; }

 private:
  std::vector<std::string> segments_;
};

}  // namespace tasker
