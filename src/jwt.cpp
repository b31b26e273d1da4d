#include "jwt.h"

#include "base64url.h"
#include "flat_claims.h"
#include "tasker_limits.h"

namespace tasker {

namespace {

// jsonParseObject plus the member cap shared by header and claims.
Status parseCapped(std::string_view text, JsonPtr* out) noexcept {
  Status s = jsonParseObject(text, out);
  if (s != Status::Ok) return s;
  if (json_object_size(out->get()) > kMaxClaims) {
    out->reset();
    return Status::TokenBadJson;
  }
  return Status::Ok;
}

// Fills *out from the jansson header object (the general path).
void headerFromJson(const json_t* header, JwtHeader* out) noexcept {
  out->has_alg = jsonGetString(header, "alg", &out->alg) == Status::Ok;
  out->has_kid = jsonGetString(header, "kid", &out->kid) == Status::Ok;
  out->has_crit = jsonMember(header, "crit") != nullptr;
}

}  // namespace

bool readSimpleHeader(std::string_view json, JwtHeader* out) noexcept {
  // The flat claims reader does the reading (same JSON subset, no allocation for up to
  // FlatMembers::kInline members); a header is simple when it has few members, all strings.
  constexpr size_t kMaxSimpleMembers = 8;
  FlatMembers members;
  if (!readFlatClaims(json, &members) || members.size() > kMaxSimpleMembers) return false;
  JwtHeader h;
  for (const FlatMember& m : members) {
    if (m.kind != FlatKind::String) return false;  // non-strings: general path
    std::string_view name = m.name(json);
    if (name == "alg") {
      h.has_alg = true;
      h.alg = m.value(json);
    } else if (name == "kid") {
      h.has_kid = true;
      h.kid = m.value(json);
    } else if (name == "crit") {
      h.has_crit = true;
    }
  }
  *out = h;
  return true;
}

Status decodeJwt(std::string_view token, Jwt* out) {
  if (token.size() > kMaxTokenBytes) return Status::TokenTooLarge;
  if (token.empty()) return Status::TokenMalformed;
  size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return Status::TokenMalformed;
  size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return Status::TokenMalformed;
  if (token.find('.', dot2 + 1) != std::string_view::npos) return Status::TokenMalformed;

  std::string_view header_b64 = token.substr(0, dot1);
  std::string_view claims_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view sig_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || claims_b64.empty()) return Status::TokenMalformed;

  Status s = base64urlDecode(header_b64, &out->header_json);
  if (s == Status::Ok) s = base64urlDecode(claims_b64, &out->claims_json);
  if (s == Status::Ok) s = base64urlDecode(sig_b64, &out->signature);
  if (s != Status::Ok) return s;

  out->signing_input = token.substr(0, dot2);
  out->header.reset();
  if (readSimpleHeader(out->header_json, &out->hdr)) return Status::Ok;
  s = parseCapped(out->header_json, &out->header);
  if (s != Status::Ok) return s;
  headerFromJson(out->header.get(), &out->hdr);
  return Status::Ok;
}

Status parseJwtClaims(const Jwt& jwt, JsonPtr* claims) noexcept {
  return parseCapped(jwt.claims_json, claims);
}

Status parseJwtClaims(std::string_view claims_json, JsonPtr* claims) noexcept {
  return parseCapped(claims_json, claims);
}

}  // namespace tasker
