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

bool isJsonSpace(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Reads a string with no escapes and only printable ASCII at json[*pos] (the opening quote).
bool readPlainString(std::string_view json, size_t* pos, std::string_view* out) noexcept {
  size_t i = *pos;
  if (i >= json.size() || json[i] != '"') return false;
  size_t start = ++i;
  for (; i < json.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(json[i]);
    if (c == '"') break;
    if (c < 0x20 || c > 0x7e || c == '\\') return false;
  }
  if (i >= json.size()) return false;
  *out = json.substr(start, i - start);
  *pos = i + 1;
  return true;
}

void skipSpace(std::string_view json, size_t* pos) noexcept {
  while (*pos < json.size() && isJsonSpace(json[*pos])) ++*pos;
}

// Fills *out from the jansson header object (the general path).
void headerFromJson(const json_t* header, JwtHeader* out) noexcept {
  out->has_alg = jsonGetString(header, "alg", &out->alg) == Status::Ok;
  out->has_kid = jsonGetString(header, "kid", &out->kid) == Status::Ok;
  out->has_crit = jsonMember(header, "crit") != nullptr;
}

}  // namespace

bool readSimpleHeader(std::string_view json, JwtHeader* out) noexcept {
  constexpr size_t kMaxSimpleMembers = 8;
  std::string_view names[kMaxSimpleMembers];
  size_t count = 0;
  JwtHeader h;
  size_t pos = 0;
  skipSpace(json, &pos);
  if (pos >= json.size() || json[pos] != '{') return false;
  ++pos;
  skipSpace(json, &pos);
  if (pos < json.size() && json[pos] == '}') {
    ++pos;
  } else {
    for (;;) {
      std::string_view name, value;
      if (!readPlainString(json, &pos, &name)) return false;
      skipSpace(json, &pos);
      if (pos >= json.size() || json[pos] != ':') return false;
      ++pos;
      skipSpace(json, &pos);
      if (!readPlainString(json, &pos, &value)) return false;  // non-strings: general path
      for (size_t i = 0; i < count; ++i) {
        if (names[i] == name) return false;  // duplicate: the general path rejects it
      }
      if (count == kMaxSimpleMembers) return false;
      names[count++] = name;
      if (name == "alg") {
        h.has_alg = true;
        h.alg = value;
      } else if (name == "kid") {
        h.has_kid = true;
        h.kid = value;
      } else if (name == "crit") {
        h.has_crit = true;
      }
      skipSpace(json, &pos);
      if (pos < json.size() && json[pos] == ',') {
        ++pos;
        skipSpace(json, &pos);
        continue;
      }
      if (pos < json.size() && json[pos] == '}') {
        ++pos;
        break;
      }
      return false;
    }
  }
  skipSpace(json, &pos);
  if (pos != json.size()) return false;
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
