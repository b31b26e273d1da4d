#include "jwt.h"

#include "base64url.h"
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

}  // namespace

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
  return parseCapped(out->header_json, &out->header);
}

Status parseJwtClaims(const Jwt& jwt, JsonPtr* claims) noexcept {
  return parseCapped(jwt.claims_json, claims);
}

}  // namespace tasker
