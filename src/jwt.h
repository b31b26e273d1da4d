// Compact JWS structure: split a token into its three segments, decode them, parse the header.
// No cryptography and no claim validation here (see verify.h). Internal to the core.
//
// Usage:
//   Jwt jwt;
//   Status s = decodeJwt(token, &jwt);       // structure, encoding, header JSON
//   ... verify jwt.signature over jwt.signing_input ...
//   JsonPtr claims;
//   s = parseJwtClaims(jwt, &claims);        // only after the signature verified
#pragma once

#include <string>
#include <string_view>

#include "json.h"
#include "status.h"

namespace tasker {

// The header members verification reads. Views point into Jwt::header_json or Jwt::header, so a
// Jwt is used where decodeJwt filled it (never copied or moved).
struct JwtHeader {
  bool has_alg = false;  // "alg" present and a string
  std::string_view alg;
  bool has_kid = false;  // "kid" present and a string
  std::string_view kid;
  bool has_crit = false;  // "crit" present (any type)
};

// A decoded, not yet verified, compact JWS.
struct Jwt {
  std::string_view signing_input;  // "<header b64>.<claims b64>", a view into the token
  std::string header_json;         // decoded header bytes
  std::string claims_json;         // decoded claims bytes (parsed by parseJwtClaims)
  std::string signature;           // decoded signature bytes (may be empty)
  JwtHeader hdr;                   // alg, kid, crit of the header
  // The header as a jansson object, only when the fast reader below did not take it: the usual
  // header (a flat object of plain ASCII strings, like {"alg":"RS256","typ":"JWT","kid":"k1"})
  // is read without jansson or allocation; anything else (escapes, non-string values, nesting,
  // duplicates, more than 8 members, invalid JSON) goes through jsonParseObject, which decides
  // the status exactly as before. Both readers give the same JwtHeader for any header both take.
  JsonPtr header;
};

// The fast reader on its own (for tests): true and *out filled when `json` is a flat object of at
// most 8 distinct members whose names and values are strings of printable ASCII without
// escapes, with JSON whitespace allowed between tokens; false (nothing decided) otherwise.
bool readSimpleHeader(std::string_view json, JwtHeader* out) noexcept;

// Splits and decodes `token` (which must outlive *out: signing_input points into it). In order:
//  - longer than kMaxTokenBytes: TokenTooLarge;
//  - empty, not exactly three '.'-separated segments, or an empty header or claims segment:
//    TokenMalformed (an empty signature segment is left to the signature check);
//  - any segment not strict unpadded base64url: TokenBadEncoding;
//  - header not a JSON object, deeper than kMaxJsonDepth or with more than kMaxClaims members:
//    TokenBadJson; a duplicate header member: TokenDuplicateMember.
// On Ok, out->hdr holds alg, kid and crit (and out->header the jansson object, unless the fast
// reader took the header).
// The claims bytes are decoded but not parsed: claims are untrusted until the signature verifies.
// May throw std::bad_alloc.
Status decodeJwt(std::string_view token, Jwt* out);

// Parses jwt.claims_json into *claims: a JSON object at most kMaxJsonDepth deep with at most
// kMaxClaims members (else TokenBadJson), without duplicate members (TokenDuplicateMember).
Status parseJwtClaims(const Jwt& jwt, JsonPtr* claims) noexcept;
// The same for claims text decoded elsewhere (jwt.claims_json moved out of the Jwt).
Status parseJwtClaims(std::string_view claims_json, JsonPtr* claims) noexcept;

}  // namespace tasker
