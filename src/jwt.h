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

// A decoded, not yet verified, compact JWS.
struct Jwt {
  std::string_view signing_input;  // "<header b64>.<claims b64>", a view into the token
  std::string header_json;         // decoded header bytes
  std::string claims_json;         // decoded claims bytes (parsed by parseJwtClaims)
  std::string signature;           // decoded signature bytes (may be empty)
  JsonPtr header;                  // the header object
};

// Splits and decodes `token` (which must outlive *out: signing_input points into it). In order:
//  - longer than kMaxTokenBytes: TokenTooLarge;
//  - empty, not exactly three '.'-separated segments, or an empty header or claims segment:
//    TokenMalformed (an empty signature segment is left to the signature check);
//  - any segment not strict unpadded base64url: TokenBadEncoding;
//  - header not a JSON object, deeper than kMaxJsonDepth or with more than kMaxClaims members:
//    TokenBadJson; a duplicate header member: TokenDuplicateMember.
// The claims bytes are decoded but not parsed: claims are untrusted until the signature verifies.
// May throw std::bad_alloc.
Status decodeJwt(std::string_view token, Jwt* out);

// Parses jwt.claims_json into *claims: a JSON object at most kMaxJsonDepth deep with at most
// kMaxClaims members (else TokenBadJson), without duplicate members (TokenDuplicateMember).
Status parseJwtClaims(const Jwt& jwt, JsonPtr* claims) noexcept;

}  // namespace tasker
