// The jansson side of claim paths, for verify.cpp (Claims::render, Claims::renderPath) and the
// unit tests. Internal to the core: public headers never include it.
#pragma once

#include <string>

#include <jansson.h>

#include "claim_path.h"

namespace tasker {

// The value at `path` below the object `root` (borrowed), or nullptr when a member is absent or
// an intermediate value is not an object (paths do not index arrays).
const json_t* claimPathLookup(const json_t* root, const ClaimPath& path) noexcept;

// Renders a claim value as the claim variables show it (SPEC 5): strings raw; integers and
// booleans as text; null as ""; arrays of strings (including the empty array) comma-joined;
// other arrays, objects and reals as compact JSON (json.h). Returns false, with *out cleared,
// only when memory runs out. Control bytes are left as they are: the adapter replaces them.
bool renderClaimValue(const json_t* value, std::string* out) noexcept;

}  // namespace tasker
