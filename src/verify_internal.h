// The claims half of verifyToken, for verify.cpp, the unit tests and fuzz/fuzz_flat_claims.cpp,
// which compare the flat reader (flat_claims.h) with the jansson path. Internal to the core.
#pragma once

#include <cstdint>
#include <string>

#include "status.h"
#include "verify.h"

namespace tasker {

// Which reader parses the claims text.
enum class ClaimsReader {
  Auto,     // what verifyToken does: the flat reader, and jansson when it declines
  Flat,     // the flat reader only: Internal when it declines (readFlatClaims false)
  Jansson,  // jansson only: the path verifyToken took before the flat reader
};

// Everything verifyToken does once the signature verified: parses `claims_json` (the decoded
// claims segment), runs the claim checks in verifyToken's order, fills out->subject,
// permissions, unknown and grant as verifyToken does, sets out->claims when the checks pass
// (also for TokenUnknownPermission) and returns the same status. `out` should be fresh (or hold
// only the kid). May throw std::bad_alloc.
Status verifyClaimsText(ClaimsReader reader, std::string claims_json, const VerifyOptions& opts,
                        int64_t now, VerifiedToken* out);

}  // namespace tasker
