// Claim paths (tasker_jwt_claim_set): parsing, escapes and limits; lookup in nested objects;
// rendering as the claim variables do, directly and through a verified token's Claims.
#include "claim_path.h"

#include "claim_path_internal.h"
#include "json.h"
#include "test_helpers.h"

namespace tasker {
namespace {

using test::kNow;
using test::q;

// Parses text, which must succeed, and returns the segments joined with '|'.
std::string segmentsOf(std::string_view text) {
  ClaimPath p;
  const char* why = nullptr;
  Status s = ClaimPath::parse(text, &p, &why);
  if (s != Status::Ok)
    fail_msg("parse \"%s\": %s (%s)", std::string(text).c_str(), statusName(s), why ? why : "-");
  std::string out;
  for (const std::string& seg : p.segments()) {
    if (!out.empty()) out += "|";
    out += seg;
  }
  return out;
}

// Parses text, which must fail with ConfigInvalid; returns the reason.
std::string reasonFor(std::string_view text) {
  ClaimPath p;
  const char* why = nullptr;
  assert_status(ClaimPath::parse(text, &p, &why), Status::ConfigInvalid);
  assert_non_null(why);
  assert_true(p.segments().empty());
  return why;
}

void test_claim_path_exact_names_keep_case(void** state) {
  assert_str(segmentsOf("tenantId"), "tenantId");
  assert_str(segmentsOf("X-Tenant"), "X-Tenant");
  assert_str(segmentsOf("sub"), "sub");
  assert_str(segmentsOf("caf\xc3\xa9"), "caf\xc3\xa9");
  assert_str(segmentsOf("a b"), "a b");
}

void test_claim_path_dots_split_levels(void** state) {
  assert_str(segmentsOf("realm_access.roles"), "realm_access|roles");
  assert_str(segmentsOf("a.b.c"), "a|b|c");
  assert_str(segmentsOf("resource_access.tasker-api.roles"), "resource_access|tasker-api|roles");
}

void test_claim_path_escapes(void** state) {
  assert_str(segmentsOf("https://example\\.com/tenant"), "https://example.com/tenant");
  assert_str(segmentsOf("a\\.b.c"), "a.b|c");
  assert_str(segmentsOf("back\\\\slash"), "back\\slash");
  assert_str(segmentsOf("\\.leading"), ".leading");
  assert_str(segmentsOf("trailing\\."), "trailing.");
}

void test_claim_path_rejects_empty_names(void** state) {
  assert_str(reasonFor(""), "is empty");
  const char* empty_member = "has an empty member name (a leading, trailing or double '.')";
  assert_str(reasonFor("."), empty_member);
  assert_str(reasonFor(".a"), empty_member);
  assert_str(reasonFor("a."), empty_member);
  assert_str(reasonFor("a..b"), empty_member);
}

void test_claim_path_rejects_bad_escapes_and_control_bytes(void** state) {
  assert_str(reasonFor("a\\"), "ends with a lone backslash");
  assert_str(reasonFor("a\\b"), "has a backslash that escapes neither '.' nor '\\'");
  assert_str(reasonFor("a\\n"), "has a backslash that escapes neither '.' nor '\\'");
  assert_str(reasonFor("a\nb"), "contains a control character");
  assert_str(reasonFor("a\tb"), "contains a control character");
  assert_str(reasonFor("a\x7f"), "contains a control character");
  assert_str(reasonFor(std::string_view("a\0b", 3)), "contains a control character");
}

void test_claim_path_length_and_depth_limits(void** state) {
  std::string longest(256, 'a');
  assert_str(segmentsOf(longest), longest);
  assert_str(reasonFor(longest + "a"), "is longer than 256 bytes");

  std::string deepest = "a";
  for (int i = 1; i < 16; ++i) deepest += ".a";
  ClaimPath p;
  assert_status(ClaimPath::parse(deepest, &p), Status::Ok);
  assert_int_equal(p.segments().size(), 16);
  assert_str(reasonFor(deepest + ".a"), "has more than 16 levels");
}

void test_claim_path_failed_parse_keeps_previous_value(void** state) {
  ClaimPath p;
  assert_status(ClaimPath::parse("a.b", &p), Status::Ok);
  assert_status(ClaimPath::parse("a..b", &p), Status::ConfigInvalid);  // why may be null
  assert_int_equal(p.segments().size(), 2);
}

// The claims of the lookup and render tests.
JsonPtr sampleClaims() {
  JsonPtr root;
  assert_status(jsonParseObject("{\"tenantId\":\"acme\",\"tenantid\":\"lower\","
                                "\"realm_access\":{\"roles\":[\"admin\",\"user\"],\"level\":3,"
                                "\"deep\":{\"flag\":true,\"none\":null,\"mixed\":[\"a\",1]}},"
                                "\"https://example.com/tenant\":\"ns\",\"list\":[{\"a\":1}],"
                                "\"ratio\":0.5,\"empty\":[]}",
                                &root),
                Status::Ok);
  return root;
}

// The rendered value at text, or "<absent>".
std::string at(const json_t* root, std::string_view text) {
  ClaimPath p;
  assert_status(ClaimPath::parse(text, &p), Status::Ok);
  const json_t* v = claimPathLookup(root, p);
  if (v == nullptr) return "<absent>";
  std::string out = "stale";
  assert_true(renderClaimValue(v, &out));
  return out;
}

void test_claim_path_lookup_and_render(void** state) {
  JsonPtr root = sampleClaims();
  const json_t* r = root.get();
  assert_str(at(r, "tenantId"), "acme");
  assert_str(at(r, "tenantid"), "lower");
  assert_str(at(r, "TENANTID"), "<absent>");
  assert_str(at(r, "realm_access.roles"), "admin,user");
  assert_str(at(r, "realm_access.level"), "3");
  assert_str(at(r, "realm_access.deep.flag"), "true");
  assert_str(at(r, "realm_access.deep.none"), "");
  assert_str(at(r, "realm_access.deep.mixed"), "[\"a\",1]");
  assert_str(at(r, "realm_access.deep"), "{\"flag\":true,\"none\":null,\"mixed\":[\"a\",1]}");
  assert_str(at(r, "https://example\\.com/tenant"), "ns");
  assert_str(at(r, "ratio"), "0.5");
  assert_str(at(r, "empty"), "");
}

void test_claim_path_lookup_absent(void** state) {
  JsonPtr root = sampleClaims();
  const json_t* r = root.get();
  assert_str(at(r, "missing"), "<absent>");
  assert_str(at(r, "realm_access.missing"), "<absent>");
  assert_str(at(r, "tenantId.x"), "<absent>");            // through a string
  assert_str(at(r, "realm_access.roles.0"), "<absent>");  // arrays are not indexed
  assert_str(at(r, "list.a"), "<absent>");
  assert_str(at(r, "https://example.com/tenant"), "<absent>");  // unescaped: three levels
  ClaimPath none;                                               // never parsed
  assert_null(claimPathLookup(r, none));
  assert_null(claimPathLookup(nullptr, none));
}

// End to end: the Claims of a verified token render paths like the claim variables.
void test_claim_path_render_path_on_verified_claims(void** state) {
  test::ClaimSet c = test::defaultClaims();
  c.set("tenantId", q("acme"))
      .set("realm_access", "{\"roles\":[\"admin\",\"user\"],\"n\":{\"x\":\"a\\r\\nb\"}}");
  std::string token = test::makeToken(Alg::RS256, c);
  VerifiedToken vt;
  assert_status(test::verifyFor(Alg::RS256, token, kNow, &vt), Status::Ok);
  const Claims& cl = *vt.claims;

  struct {
    const char* path;
    const char* want;
  } cases[] = {{"tenantId", "acme"},
               {"realm_access.roles", "admin,user"},
               {"realm_access.n.x", "a\r\nb"},  // raw: the adapter replaces control bytes
               {"permissions", "tasks:read,tasks:list"},
               {"sub", "user-1"}};
  for (const auto& k : cases) {
    ClaimPath p;
    assert_status(ClaimPath::parse(k.path, &p), Status::Ok);
    std::string out = "stale";
    if (!cl.renderPath(p, &out)) fail_msg("%s absent", k.path);
    assert_str(out, k.want);
  }
  ClaimPath p;
  assert_status(ClaimPath::parse("tenantid", &p), Status::Ok);
  std::string out;
  assert_false(cl.renderPath(p, &out));
  assert_status(ClaimPath::parse("realm_access.missing", &p), Status::Ok);
  assert_false(cl.renderPath(p, &out));
}

}  // namespace
}  // namespace tasker

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_claim_path_exact_names_keep_case),
      cmocka_unit_test(test_claim_path_dots_split_levels),
      cmocka_unit_test(test_claim_path_escapes),
      cmocka_unit_test(test_claim_path_rejects_empty_names),
      cmocka_unit_test(test_claim_path_rejects_bad_escapes_and_control_bytes),
      cmocka_unit_test(test_claim_path_length_and_depth_limits),
      cmocka_unit_test(test_claim_path_failed_parse_keeps_previous_value),
      cmocka_unit_test(test_claim_path_lookup_and_render),
      cmocka_unit_test(test_claim_path_lookup_absent),
      cmocka_unit_test(test_claim_path_render_path_on_verified_claims),
  };
  return cmocka_run_group_tests_name("claim_path", tests, nullptr, nullptr);
}
