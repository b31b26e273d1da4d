// Unit tests for src/flat_claims.cpp: the flat claims reader, and that the claims it takes come
// out of verification exactly as through jansson (verify_internal.h, verifyClaimsText).
#include "flat_claims.h"

#include <cstring>

#include "claim_path.h"
#include "json.h"
#include "jwt.h"
#include "tasker_limits.h"
#include "test_helpers.h"
#include "verify_internal.h"

namespace tasker {
namespace {

using test::kNow;
using test::q;

// The usual claims of a token that verifies at kNow with the default options.
const char kTypical[] =
    "{\"sub\":\"user-1\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1699999990,"
    "\"exp\":1700003600,\"permissions\":[\"tasks:read\",\"tasks:list\"]}";

bool takes(std::string_view text) {
  FlatMembers m;
  return readFlatClaims(text, &m);
}

// ---- the reader ---------------------------------------------------------------------------

void test_flat_claims_reads_members_in_order(void** state) {
  const std::string text =
      " {\"s\" : \"a b\",\t\"i\":-42,\"z\":0,\"t\":true,\"f\":false,\"n\":null,\r\n"
      "\"arr\":[ \"x\" , \"\" ,\"y,z\"],\"e\":[ ],\"\":\"\"}\n";
  FlatMembers m;
  assert_true(readFlatClaims(text, &m));
  assert_int_equal(m.size(), 9);
  const struct {
    const char* name;
    FlatKind kind;
    const char* value;  // the value's text as stored
    int64_t integer;
  } want[] = {{"s", FlatKind::String, "a b", 0},
              {"i", FlatKind::Integer, "-42", -42},
              {"z", FlatKind::Integer, "0", 0},
              {"t", FlatKind::True, "true", 0},
              {"f", FlatKind::False, "false", 0},
              {"n", FlatKind::Null, "null", 0},
              {"arr", FlatKind::StringArray, "[ \"x\" , \"\" ,\"y,z\"]", 3},
              {"e", FlatKind::StringArray, "[ ]", 0},
              {"", FlatKind::String, "", 0}};
  for (size_t i = 0; i < m.size(); ++i) {
    assert_str(m[i].name(text), want[i].name);
    assert_true(m[i].kind == want[i].kind);
    assert_str(m[i].value(text), want[i].value);
    assert_int_equal(m[i].integer, want[i].integer);
    assert_ptr_equal(m.find(text, want[i].name), &m[i]);
  }
  assert_null(m.find(text, "S"));
  assert_null(m.find(text, "arr "));
  std::vector<std::string> items;
  forEachFlatString(text, m[6], [&](std::string_view s) {
    items.emplace_back(s);
    return true;
  });
  assert_int_equal(items.size(), 3);
  assert_str(items[0], "x");
  assert_str(items[1], "");
  assert_str(items[2], "y,z");
}

void test_flat_claims_takes_integer_extremes(void** state) {
  FlatMembers m;
  std::string text = "{\"a\":999999999999999999,\"b\":-999999999999999999,\"c\":7}";
  assert_true(readFlatClaims(text, &m));
  assert_int_equal(m[0].integer, 999999999999999999LL);
  assert_int_equal(m[1].integer, -999999999999999999LL);
  assert_int_equal(m[2].integer, 7);
  assert_false(takes("{\"a\":1000000000000000000}"));  // 19 digits: jansson decides
  assert_false(takes("{\"a\":-1000000000000000000}"));
}

void test_flat_claims_declines_everything_else(void** state) {
  const char* const declined[] = {
      "",
      " ",
      "[]",
      "\"s\"",
      "1",
      "{",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\":1,}",
      "{,\"a\":1}",
      "{\"a\":1 \"b\":2}",
      "{\"a\":1}x",
      "{\"a\":1}{}",
      "{\"a\":\"x\\\"y\"}",         // escapes, in values
      "{\"a\\u0062\":1}",           // and in names
      "{\"a\":\"\t\"}",             // a control byte in a string
      "{\"a\":\"\x7f\"}",           // DEL
      "{\"a\":\"caf\xc3\xa9\"}",    // UTF-8
      "{\"a\":1.5}",                // reals
      "{\"a\":1e3}",
      "{\"a\":1E3}",
      "{\"a\":0.0}",
      "{\"a\":-0}",                 // jansson's integer 0: not reproduced
      "{\"a\":01}",                 // invalid JSON
      "{\"a\":-01}",
      "{\"a\":+1}",
      "{\"a\":-}",
      "{\"a\":--1}",
      "{\"a\":truex}",
      "{\"a\":tru}",
      "{\"a\":nul}",
      "{\"a\":True}",
      "{\"a\":{}}",                 // nested objects
      "{\"a\":{\"b\":1}}",
      "{\"a\":[1]}",                // arrays of anything but strings
      "{\"a\":[\"x\",null]}",
      "{\"a\":[[]]}",
      "{\"a\":[\"x\",]}",
      "{\"a\":[\"x\"}",
      "{\"a\":1,\"a\":1}",          // duplicates
      "{\"a\":1,\"b\":2,\"a\":\"x\"}",
      "\xef\xbb\xbf{}",             // a BOM
      "{\"a\":1}\f",                // not JSON whitespace
      "\v{}",
  };
  for (const char* text : declined) {
    FlatMembers m;
    if (readFlatClaims(text, &m)) fail_msg("took %s", text);
    assert_int_equal(m.size(), 0);
  }
  // Embedded NUL bytes (the literals above stop at the first).
  assert_false(takes(std::string_view("{\"a\":\"x\0y\"}", 11)));
  assert_false(takes(std::string_view("{\"a\":1}\0", 8)));
  assert_false(takes(std::string_view("{\"a\0\":1}", 8)));
  // Valid JSON: jansson takes these; the flat reader may decline anything.
  JsonPtr root;
  assert_status(jsonParseObject("{\"a\":-0}", &root), Status::Ok);
  assert_status(jsonParseObject("{\"a\":\"x\\\"y\"}", &root), Status::Ok);
}

void test_flat_claims_empty_objects(void** state) {
  for (const char* text : {"{}", " { } ", "\r\n\t{\n}\n"}) {
    FlatMembers m;
    assert_true(readFlatClaims(text, &m));
    assert_int_equal(m.size(), 0);
  }
}

// Past FlatMembers::kInline members the storage moves to the heap; up to kMaxClaims are taken.
void test_flat_claims_member_cap(void** state) {
  auto object = [](size_t n) {
    std::string text = "{";
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) text += ",";
      text += q("m" + std::to_string(i)) + ":" + std::to_string(i);
    }
    return text + "}";
  };
  for (size_t n : {FlatMembers::kInline, FlatMembers::kInline + 1, size_t{100}, kMaxClaims}) {
    const std::string text = object(n);
    FlatMembers m;
    assert_true(readFlatClaims(text, &m));
    assert_int_equal(m.size(), n);
    for (size_t i = 0; i < n; ++i) {
      const FlatMember* found = m.find(text, "m" + std::to_string(i));
      assert_non_null(found);
      assert_int_equal(found->integer, static_cast<int64_t>(i));
    }
  }
  FlatMembers m;
  assert_false(readFlatClaims(object(kMaxClaims + 1), &m));
  assert_int_equal(m.size(), 0);
  JsonPtr root;
  assert_status(parseJwtClaims(object(kMaxClaims + 1), &root), Status::TokenBadJson);
  // A duplicate past the inline members is found too.
  assert_false(takes(object(40).substr(0, object(40).size() - 1) + ",\"m3\":1}"));
}

// A reader used twice starts afresh.
void test_flat_claims_reuse_clears(void** state) {
  FlatMembers m;
  assert_true(readFlatClaims(kTypical, &m));
  assert_int_equal(m.size(), 6);
  assert_false(readFlatClaims("{\"a\":1.5}", &m));
  assert_int_equal(m.size(), 0);
  assert_true(readFlatClaims("{\"a\":1}", &m));
  assert_int_equal(m.size(), 1);
}

// ---- flat against jansson -----------------------------------------------------------------

// Claim documents the flat reader takes, each with the verification outcome at kNow under the
// default options (the same through both readers).
const struct {
  const char* json;
  Status want;
} kDocuments[] = {
    {kTypical, Status::Ok},
    {"{\"sub\":\"u\",\"iss\":\"tasker-core\",\"aud\":[\"x\",\"tasker-api\"],\"iat\":1699999990,"
     "\"exp\":1700000060,\"nbf\":1700000060,\"permissions\":\"tasks:read  dlq:*\",\"e\":null}",
     Status::Ok},
    {"{\"sub\":\"u\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1699999990,"
     "\"exp\":1699999940}",
     Status::TokenExpired},
    {"{\"sub\":\"u\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1699999990,"
     "\"exp\":1700003600,\"nbf\":1700000061}",
     Status::TokenNotYetValid},
    {"{\"sub\":\"u\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1700000061,"
     "\"exp\":1700003600}",
     Status::TokenNotYetValid},
    {"{\"sub\":\"u\",\"iss\":\"other\",\"aud\":\"tasker-api\",\"iat\":1,\"exp\":1699999000}",
     Status::TokenExpired},  // times before the issuer
    {"{\"sub\":\"u\",\"iss\":\"other\",\"aud\":\"tasker-api\",\"iat\":1,\"exp\":1800000000}",
     Status::TokenBadIssuer},
    {"{\"sub\":\"u\",\"iss\":\"tasker-core\",\"aud\":[],\"iat\":1,\"exp\":1800000000}",
     Status::TokenBadAudience},
    {"{\"sub\":\"u\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1,\"exp\":1800000000,"
     "\"permissions\":[\"tasks:read\",\"nope\"]}",
     Status::TokenUnknownPermission},
    {"{\"sub\":\"u\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1,\"exp\":1800000000,"
     "\"permissions\":[\"tasks:read,dlq:read\"]}",
     Status::TokenBadPermissionsClaim},
    {"{\"sub\":\"u\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1,\"exp\":1800000000,"
     "\"permissions\":true}",
     Status::TokenBadPermissionsClaim},
    {"{\"sub\":\"u\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1,\"exp\":1800000000,"
     "\"permissions\":null}",
     Status::TokenBadPermissionsClaim},
    {"{\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1,\"exp\":1800000000}",
     Status::TokenMissingClaim},
    {"{\"sub\":7,\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1,\"exp\":1800000000}",
     Status::TokenBadClaimType},
    {"{\"sub\":\"u\",\"iss\":\"tasker-core\",\"aud\":true,\"iat\":1,\"exp\":1800000000}",
     Status::TokenBadClaimType},
    {"{\"sub\":\"u\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1,\"exp\":\"1\"}",
     Status::TokenBadClaimType},
    {"{\"sub\":\"u\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1,\"exp\":1800000000,"
     "\"nbf\":null}",
     Status::TokenBadClaimType},
    {"{\"sub\":\"u\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"exp\":1800000000}",
     Status::TokenMissingClaim},
    {"{}", Status::TokenMissingClaim},
    {"{\"sub\":\"\"}", Status::TokenMissingClaim},  // short: the text stays inline when moved
};

// Names rendered for each document: its own and a few absent ones.
const char* const kNames[] = {"sub", "iss", "aud", "exp", "iat", "nbf", "permissions", "e",
                              "absent", "", "SUB"};

void compareClaims(const Claims& f, const Claims& j, const char* doc) {
  for (const char* name : kNames) {
    std::string fo = "stale", jo = "stale";
    bool fr = f.render(name, &fo), jr = j.render(name, &jo);
    if (fr != jr || fo != jo) {
      fail_msg("render(%s) of %s: %s/%s", name, doc, fo.c_str(), jo.c_str());
    }
    for (const std::string& p : {std::string(name), std::string(name) + ".x"}) {
      ClaimPath path;
      if (ClaimPath::parse(p, &path) != Status::Ok) continue;
      fo = jo = "stale";
      fr = f.renderPath(path, &fo);
      jr = j.renderPath(path, &jo);
      if (fr != jr || fo != jo) fail_msg("renderPath(%s) of %s", p.c_str(), doc);
    }
  }
  ClaimPath none;  // no segments: never found
  std::string out;
  assert_false(f.renderPath(none, &out));
  assert_false(j.renderPath(none, &out));
  for (int64_t now : {kNow, kNow + 3600, int64_t{0}, int64_t{1800000000}}) {
    for (int64_t leeway : {int64_t{-1}, int64_t{0}, int64_t{60}}) {
      assert_int_equal(static_cast<int>(f.checkTimes(leeway, now)),
                       static_cast<int>(j.checkTimes(leeway, now)));
    }
  }
  assert_str(f.toJson(), j.toJson());
}

void test_flat_claims_same_outcomes_as_jansson(void** state) {
  VerifyOptions lax;
  lax.strict = false;
  lax.permissions_claim = "scope";
  lax.leeway_seconds = 0;
  const VerifyOptions option_sets[] = {VerifyOptions(), lax};
  for (const auto& d : kDocuments) {
    if (!takes(d.json)) fail_msg("declined %s", d.json);
    for (const VerifyOptions& opts : option_sets) {
      for (int64_t now : {kNow, kNow + 7200, int64_t{1}}) {
        VerifiedToken f, j, a;
        Status fs = verifyClaimsText(ClaimsReader::Flat, d.json, opts, now, &f);
        Status js = verifyClaimsText(ClaimsReader::Jansson, d.json, opts, now, &j);
        Status as = verifyClaimsText(ClaimsReader::Auto, d.json, opts, now, &a);
        if (fs != js || as != js) {
          fail_msg("%s: flat %s, jansson %s, auto %s", d.json, statusName(fs), statusName(js),
                   statusName(as));
        }
        if (&opts == &option_sets[0] && now == kNow && js != d.want) {
          fail_msg("%s: %s, want %s", d.json, statusName(js), statusName(d.want));
        }
        assert_str(f.subject, j.subject);
        assert_true(f.permissions == j.permissions);
        assert_true(f.unknown == j.unknown);
        assert_int_equal(f.grant.bits, j.grant.bits);
        assert_int_equal(f.claims == nullptr, j.claims == nullptr);
        if (f.claims) compareClaims(*f.claims, *j.claims, d.json);
      }
    }
  }
}

// The claims of every document through a signed token: verifyToken (flat reader first) agrees
// with the jansson path.
void test_flat_claims_verify_token_agrees(void** state) {
  static KeySetConstPtr ks = test::keySetFor(test::keyFor(Alg::EdDSA));
  for (const auto& d : kDocuments) {
    std::string token = test::signRaw(test::keyFor(Alg::EdDSA), Alg::EdDSA,
                                      "{\"alg\":\"EdDSA\"}", d.json);
    VerifiedToken vt, j;
    assert_status(verifyToken(token, *ks, test::optsFor(Alg::EdDSA), kNow, &vt), d.want);
    assert_status(verifyClaimsText(ClaimsReader::Jansson, d.json, VerifyOptions(), kNow, &j),
                  d.want);
    assert_str(vt.subject, j.subject);
    assert_true(vt.permissions == j.permissions);
    assert_int_equal(vt.claims == nullptr, j.claims == nullptr);
    if (vt.claims) compareClaims(*vt.claims, *j.claims, d.json);
  }
}

// What the reader declines still verifies exactly as before, through jansson.
void test_flat_claims_declined_documents_take_jansson_path(void** state) {
  const struct {
    const char* json;
    Status want;
  } cases[] = {
      {"{\"sub\":\"u\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1699999990.5,"
       "\"exp\":1700003600}",
       Status::Ok},
      {"{\"sub\":\"\\u0075\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1,"
       "\"exp\":1800000000,\"o\":{\"a\":[1]}}",
       Status::Ok},
      {"{\"sub\":\"u\",\"sub\":\"v\"}", Status::TokenDuplicateMember},
      {"{\"sub\":\"u\",\"iat\":01}", Status::TokenBadJson},
      {"{\"sub\":\"u\"} x", Status::TokenBadJson},
      {"[]", Status::TokenBadJson},
  };
  for (const auto& c : cases) {
    assert_false(takes(c.json));
    VerifiedToken a, j, f;
    assert_status(verifyClaimsText(ClaimsReader::Auto, c.json, VerifyOptions(), kNow, &a), c.want);
    assert_status(verifyClaimsText(ClaimsReader::Jansson, c.json, VerifyOptions(), kNow, &j),
                  c.want);
    assert_status(verifyClaimsText(ClaimsReader::Flat, c.json, VerifyOptions(), kNow, &f),
                  Status::Internal);
    assert_str(a.subject, j.subject);
  }
}

// Rendering and toJson on their own, for every kind.
void test_flat_claims_render_every_kind(void** state) {
  const std::string text =
      "{\"s\":\"a b\",\"i\":-42,\"t\":true,\"f\":false,\"n\":null,\"arr\":[\"x\",\"\",\"y\"],"
      "\"e\":[]}";
  FlatMembers m;
  assert_true(readFlatClaims(text, &m));
  const char* const want[] = {"a b", "-42", "true", "false", "", "x,,y", ""};
  for (size_t i = 0; i < m.size(); ++i) {
    std::string out = "stale";
    assert_true(renderFlatValue(text, m[i], &out));
    assert_str(out, want[i]);
  }
  assert_str(flatCompactJson(text, m), text);
  JsonPtr root;
  assert_status(jsonParseObject(text, &root), Status::Ok);
  assert_str(jsonCompact(root.get()), text);
  FlatMembers empty;
  assert_true(readFlatClaims(" { } ", &empty));
  assert_str(flatCompactJson(" { } ", empty), "{}");
}

}  // namespace
}  // namespace tasker

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flat_claims_reads_members_in_order),
      cmocka_unit_test(test_flat_claims_takes_integer_extremes),
      cmocka_unit_test(test_flat_claims_declines_everything_else),
      cmocka_unit_test(test_flat_claims_empty_objects),
      cmocka_unit_test(test_flat_claims_member_cap),
      cmocka_unit_test(test_flat_claims_reuse_clears),
      cmocka_unit_test(test_flat_claims_same_outcomes_as_jansson),
      cmocka_unit_test(test_flat_claims_verify_token_agrees),
      cmocka_unit_test(test_flat_claims_declined_documents_take_jansson_path),
      cmocka_unit_test(test_flat_claims_render_every_kind),
  };
  return cmocka_run_group_tests_name("flat_claims", tests, nullptr, nullptr);
}
