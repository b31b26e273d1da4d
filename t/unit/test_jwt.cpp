// Unit tests for src/jwt.cpp: compact JWS structure and decoding (no cryptography).
#include "jwt.h"

#include "tasker_limits.h"
#include "test_helpers.h"

namespace tasker {
namespace {

using test::nestedObject;

// header.claims.signature from plain texts.
std::string tok(std::string_view header, std::string_view claims, std::string_view sig = "sig") {
  return base64urlEncode(header) + "." + base64urlEncode(claims) + "." + base64urlEncode(sig);
}

Status decode(const std::string& token, Jwt* out = nullptr) {
  Jwt scratch;
  return decodeJwt(token, out ? out : &scratch);
}

void test_jwt_decodes_segments(void** state) {
  std::string t = tok("{\"alg\":\"RS256\"}", "{\"sub\":\"a\"}", std::string("\x00\xff", 2));
  Jwt jwt;
  assert_status(decode(t, &jwt), Status::Ok);
  assert_str(jwt.signing_input, t.substr(0, t.rfind('.')));
  assert_str(jwt.header_json, "{\"alg\":\"RS256\"}");
  assert_str(jwt.claims_json, "{\"sub\":\"a\"}");
  assert_true(jwt.signature == std::string("\x00\xff", 2));
  assert_true(jwt.hdr.has_alg);
  assert_str(jwt.hdr.alg, "RS256");
  assert_false(jwt.hdr.has_kid);
  assert_false(jwt.hdr.has_crit);
  JsonPtr claims;
  assert_status(parseJwtClaims(jwt, &claims), Status::Ok);
  std::string_view sub;
  assert_status(jsonGetString(claims.get(), "sub", &sub), Status::Ok);
  assert_str(sub, "a");
}

void test_jwt_rejects_two_segments(void** state) {
  assert_status(decode("eyJ9.eyJ9"), Status::TokenMalformed);
  assert_status(decode("abc"), Status::TokenMalformed);
}

void test_jwt_rejects_four_and_five_segments(void** state) {
  std::string t = tok("{}", "{}");
  assert_status(decode(t + ".x"), Status::TokenMalformed);
  assert_status(decode(t + ".x.y"), Status::TokenMalformed);  // JWE shape
  assert_status(decode(t + "."), Status::TokenMalformed);
}

void test_jwt_rejects_empty_parts(void** state) {
  assert_status(decode(""), Status::TokenMalformed);
  assert_status(decode(".."), Status::TokenMalformed);
  assert_status(decode("." + base64urlEncode("{}") + ".c2ln"), Status::TokenMalformed);
  assert_status(decode(base64urlEncode("{}") + "..c2ln"), Status::TokenMalformed);
}

void test_jwt_allows_empty_signature_segment(void** state) {
  // An unsigned ("alg":"none") token has an empty third segment; rejecting it is the alg
  // check's job, so the structure itself decodes.
  Jwt jwt;
  assert_status(
      decode(base64urlEncode("{\"alg\":\"none\"}") + "." + base64urlEncode("{}") + ".", &jwt),
      Status::Ok);
  assert_true(jwt.signature.empty());
}

void test_jwt_size_limit_8192(void** state) {
  std::string t = tok("{}", "{}");
  std::string at_limit = t.substr(0, t.rfind('.') + 1);
  at_limit += std::string(kMaxTokenBytes - at_limit.size(), 'A');
  assert_int_equal(at_limit.size(), 8192);
  assert_status(decode(at_limit), Status::Ok);
  assert_status(decode(at_limit + "A"), Status::TokenTooLarge);
  assert_status(decode(std::string(100000, '.')), Status::TokenTooLarge);
}

void test_jwt_rejects_bad_encoding_in_each_segment(void** state) {
  std::string h = base64urlEncode("{}"), c = base64urlEncode("{}"), s = base64urlEncode("sig");
  const char* bad[] = {"=", "+", "/", " ", "\n"};
  for (const char* b : bad) {
    assert_status(decode(h + b + "." + c + "." + s), Status::TokenBadEncoding);
    assert_status(decode(h + "." + c + b + "." + s), Status::TokenBadEncoding);
    assert_status(decode(h + "." + c + "." + s + b), Status::TokenBadEncoding);
  }
  // Standard base64 with padding of a header whose length is not a multiple of 3.
  assert_status(decode("eyJhbGciOiJSUzI1NiJ9==." + c + "." + s), Status::TokenBadEncoding);
  assert_status(decode(h + "." + c + ".A"), Status::TokenBadEncoding);  // impossible length
}

void test_jwt_rejects_bad_header_json(void** state) {
  assert_status(decode(tok("not json", "{}")), Status::TokenBadJson);
  assert_status(decode(tok("[\"alg\"]", "{}")), Status::TokenBadJson);
  assert_status(decode(tok("\"RS256\"", "{}")), Status::TokenBadJson);
  assert_status(decode(tok("{\"alg\":\"RS256\"} trailing", "{}")), Status::TokenBadJson);
}

void test_jwt_rejects_duplicate_header_member(void** state) {
  assert_status(decode(tok("{\"alg\":\"RS256\",\"alg\":\"none\"}", "{}")),
                Status::TokenDuplicateMember);
}

void test_jwt_header_depth_16_ok_17_rejected(void** state) {
  assert_status(decode(tok(nestedObject(kMaxJsonDepth), "{}")), Status::Ok);
  assert_status(decode(tok(nestedObject(kMaxJsonDepth + 1), "{}")), Status::TokenBadJson);
}

void test_jwt_claims_parsed_only_on_request(void** state) {
  // decodeJwt never looks inside the claims: they are untrusted until the signature verifies.
  Jwt jwt;
  assert_status(decode(tok("{}", "{\"a\":1,\"a\":2}"), &jwt), Status::Ok);
  JsonPtr claims;
  assert_status(parseJwtClaims(jwt, &claims), Status::TokenDuplicateMember);
  assert_status(decode(tok("{}", "not json"), &jwt), Status::Ok);
  assert_status(parseJwtClaims(jwt, &claims), Status::TokenBadJson);
  assert_status(decode(tok("{}", "[1]"), &jwt), Status::Ok);
  assert_status(parseJwtClaims(jwt, &claims), Status::TokenBadJson);
  assert_status(decode(tok("{}", nestedObject(16)), &jwt), Status::Ok);
  assert_status(parseJwtClaims(jwt, &claims), Status::Ok);
  assert_status(decode(tok("{}", nestedObject(17)), &jwt), Status::Ok);
  assert_status(parseJwtClaims(jwt, &claims), Status::TokenBadJson);
}

void test_jwt_member_cap(void** state) {
  std::string members;
  for (size_t i = 0; i < kMaxClaims; ++i) {
    members += (i ? ",\"c" : "\"c") + std::to_string(i) + "\":0";
  }
  Jwt jwt;
  JsonPtr claims;
  assert_status(decode(tok("{}", "{" + members + "}"), &jwt), Status::Ok);
  assert_status(parseJwtClaims(jwt, &claims), Status::Ok);
  assert_status(decode(tok("{}", "{" + members + ",\"one_more\":0}"), &jwt), Status::Ok);
  assert_status(parseJwtClaims(jwt, &claims), Status::TokenBadJson);
}

// Both header readers must agree: for each header, decodeJwt's result (status and alg/kid/crit)
// equals what jansson alone gives, whichever reader took it.
void test_jwt_fast_header_reader_agrees_with_jansson(void** state) {
  const char* headers[] = {
      "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
      "{\"alg\":\"ES256\",\"kid\":\"k-1\",\"typ\":\"JWT\"}",
      " {\t\"alg\" : \"EdDSA\" ,\r\n\"kid\":\"\"} \n",
      "{}",
      "{ }",
      "{\"alg\":\"RS256\",\"crit\":\"b64\"}",
      "{\"alg\":\"RS256\",\"crit\":[\"b64\"]}",
      "{\"alg\":\"RS256\",\"kid\":7}",
      "{\"alg\":null}",
      "{\"alg\":\"RS\\u0032\\u0035\\u0036\"}",
      "{\"alg\":\"RS256\",\"alg\":\"none\"}",
      "{\"alg\":\"RS256\",\"kid\":\"a\",\"kid\":\"b\"}",
      "{\"alg\":\"RS256\"",
      "{\"alg\":\"RS256\"}x",
      "{\"alg\":\"RS256\",}",
      "{\"alg\" \"RS256\"}",
      "[\"alg\",\"RS256\"]",
      "{\"alg\":\"RS256\"}{}",
      "{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\",\"e\":\"5\",\"f\":\"6\",\"g\":\"7\","
      "\"h\":\"8\",\"alg\":\"RS256\"}",
      "{\"x\":{\"alg\":\"HS256\"},\"alg\":\"RS256\"}",
      "{\"alg\":\"RS256\\u00e9\"}",
      "{\"alg\":\"caf\xc3\xa9\"}",
      "{\"alg\":\"RS256\",\"kid\":\"\xff\"}",
  };
  for (const char* h : headers) {
    Jwt jwt;
    Status got = decode(tok(h, "{}"), &jwt);
    JsonPtr ref;
    Status want = jsonParseObject(h, &ref);
    assert_status(got, want);
    if (want != Status::Ok) continue;
    std::string_view alg, kid;
    bool has_alg = jsonGetString(ref.get(), "alg", &alg) == Status::Ok;
    bool has_kid = jsonGetString(ref.get(), "kid", &kid) == Status::Ok;
    assert_int_equal(jwt.hdr.has_alg, has_alg);
    assert_int_equal(jwt.hdr.has_kid, has_kid);
    assert_int_equal(jwt.hdr.has_crit, jsonMember(ref.get(), "crit") != nullptr);
    if (has_alg) assert_str(jwt.hdr.alg, alg);
    if (has_kid) assert_str(jwt.hdr.kid, kid);
  }
}

void test_jwt_fast_header_reader_takes_only_simple_headers(void** state) {
  JwtHeader h;
  assert_true(readSimpleHeader("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k\"}", &h));
  assert_str(h.alg, "RS256");
  assert_str(h.kid, "k");
  assert_false(readSimpleHeader("{\"alg\":\"RS256\",\"alg\":\"RS256\"}", &h));  // duplicate
  assert_false(readSimpleHeader("{\"alg\":\"R\\u0053256\"}", &h));              // escape
  assert_false(readSimpleHeader("{\"kid\":1}", &h));                            // number
  assert_false(readSimpleHeader("{\"alg\":\"RS256\"} x", &h));                  // trailing
}

}  // namespace
}  // namespace tasker

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_jwt_decodes_segments),
      cmocka_unit_test(test_jwt_rejects_two_segments),
      cmocka_unit_test(test_jwt_rejects_four_and_five_segments),
      cmocka_unit_test(test_jwt_rejects_empty_parts),
      cmocka_unit_test(test_jwt_allows_empty_signature_segment),
      cmocka_unit_test(test_jwt_size_limit_8192),
      cmocka_unit_test(test_jwt_rejects_bad_encoding_in_each_segment),
      cmocka_unit_test(test_jwt_rejects_bad_header_json),
      cmocka_unit_test(test_jwt_rejects_duplicate_header_member),
      cmocka_unit_test(test_jwt_header_depth_16_ok_17_rejected),
      cmocka_unit_test(test_jwt_claims_parsed_only_on_request),
      cmocka_unit_test(test_jwt_member_cap),
      cmocka_unit_test(test_jwt_fast_header_reader_agrees_with_jansson),
      cmocka_unit_test(test_jwt_fast_header_reader_takes_only_simple_headers),
  };
  return cmocka_run_group_tests_name("jwt", tests, nullptr, nullptr);
}
