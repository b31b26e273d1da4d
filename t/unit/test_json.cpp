// Unit tests for src/json.cpp: depth pre-scan, duplicate rejection, typed getters, rendering.
#include "json.h"

#include "tasker_limits.h"
#include "test_helpers.h"

namespace tasker {
namespace {

using test::nestedObject;

Status parse(std::string_view text, JsonPtr* out = nullptr) {
  JsonPtr scratch;
  return jsonParseObject(text, out ? out : &scratch);
}

void test_json_parses_object(void** state) {
  JsonPtr j;
  assert_status(parse("{\"a\":1,\"b\":\"x\"}", &j), Status::Ok);
  assert_non_null(j.get());
  assert_int_equal(json_object_size(j.get()), 2);
  assert_status(parse(" {} \n"), Status::Ok);
}

void test_json_depth_16_ok_17_rejected(void** state) {
  assert_status(jsonCheckDepth(nestedObject(kMaxJsonDepth), kMaxJsonDepth), Status::Ok);
  assert_status(jsonCheckDepth(nestedObject(kMaxJsonDepth + 1), kMaxJsonDepth),
                Status::TokenBadJson);
  assert_status(parse(nestedObject(16)), Status::Ok);
  assert_status(parse(nestedObject(17)), Status::TokenBadJson);
  // Objects count like arrays.
  std::string objs = "1";
  for (int i = 0; i < 16; ++i) objs = "{\"k\":" + objs + "}";
  assert_status(parse(objs), Status::Ok);
  assert_status(parse("{\"k\":" + objs + "}"), Status::TokenBadJson);
  // Siblings do not add up: depth is the deepest path.
  assert_status(parse("{\"a\":[[]],\"b\":[[]],\"c\":{\"d\":{}}}"), Status::Ok);
}

void test_json_depth_ignores_brackets_in_strings(void** state) {
  std::string brackets(40, '[');
  assert_status(parse("{\"a\":\"" + brackets + "\"}"), Status::Ok);
  assert_status(parse("{\"a\":\"\\\"" + brackets + "\"}"), Status::Ok);  // escaped quote
  assert_status(parse("{\"" + brackets + "\":\"\\\\\"}"), Status::Ok);   // escaped backslash
  // After an escaped backslash the string really ends, so these brackets count.
  std::string deep = "{\"a\":\"\\\\\",\"b\":" + std::string(17, '[') + std::string(17, ']') + "}";
  assert_status(parse(deep), Status::TokenBadJson);
}

void test_json_rejects_duplicate_members(void** state) {
  assert_status(parse("{\"a\":1,\"a\":2}"), Status::TokenDuplicateMember);
  assert_status(parse("{\"a\":1,\"a\":1}"), Status::TokenDuplicateMember);
  assert_status(parse("{\"x\":{\"a\":1,\"b\":2,\"a\":3}}"), Status::TokenDuplicateMember);
  assert_status(parse("{\"x\":[{\"a\":1,\"a\":2}]}"), Status::TokenDuplicateMember);
  // Names are compared after unescaping: "\u0073ub" is "sub".
  assert_status(parse("{\"sub\":\"a\",\"\\u0073ub\":\"admin\"}"), Status::TokenDuplicateMember);
  // Same name in different objects is fine.
  assert_status(parse("{\"a\":{\"a\":1},\"b\":{\"a\":2}}"), Status::Ok);
}

void test_json_rejects_non_objects_and_garbage(void** state) {
  const char* bad[] = {"",         "[]",         "[1,2]",      "\"s\"",         "1",
                       "null",     "{",          "{} x",       "{}{}",          "{'a':1}",
                       "{\"a\":}", "{\"a\":1,}", "{\"a\":01}", "\xef\xbb\xbf{}"};
  for (const char* b : bad) {
    Status s = parse(b);
    if (s != Status::TokenBadJson) fail_msg("%s: %s", b, statusName(s));
  }
  assert_status(parse(std::string_view("{\"a\":1}\0", 8)), Status::TokenBadJson);
  assert_status(parse("{\"a\":\"x\\u0000y\"}"), Status::TokenBadJson);
  assert_status(parse("{\"a\":\"\xff\"}"), Status::TokenBadJson);  // invalid UTF-8
}

void test_json_getters_report_missing_and_type(void** state) {
  JsonPtr j;
  assert_status(parse("{\"s\":\"str\",\"i\":42,\"r\":1.5,\"a\":[1],\"o\":{},\"n\":null}", &j),
                Status::Ok);
  std::string_view sv;
  assert_status(jsonGetString(j.get(), "s", &sv), Status::Ok);
  assert_str(sv, "str");
  assert_status(jsonGetString(j.get(), "i", &sv), Status::TokenBadClaimType);
  assert_status(jsonGetString(j.get(), "n", &sv), Status::TokenBadClaimType);
  assert_status(jsonGetString(j.get(), "missing", &sv), Status::TokenMissingClaim);

  JsonNumber num;
  assert_status(jsonGetNumber(j.get(), "i", &num), Status::Ok);
  assert_true(num.is_integer);
  assert_int_equal(num.integer, 42);
  assert_status(jsonGetNumber(j.get(), "r", &num), Status::Ok);
  assert_false(num.is_integer);
  assert_true(num.real == 1.5);
  assert_status(jsonGetNumber(j.get(), "s", &num), Status::TokenBadClaimType);
  assert_status(jsonGetNumber(j.get(), "missing", &num), Status::TokenMissingClaim);

  const json_t* v = nullptr;
  assert_status(jsonGetArray(j.get(), "a", &v), Status::Ok);
  assert_int_equal(json_array_size(v), 1);
  assert_status(jsonGetArray(j.get(), "o", &v), Status::TokenBadClaimType);
  assert_status(jsonGetObject(j.get(), "o", &v), Status::Ok);
  assert_status(jsonGetObject(j.get(), "a", &v), Status::TokenBadClaimType);
  assert_status(jsonGetObject(j.get(), "zz", &v), Status::TokenMissingClaim);

  assert_null(jsonMember(j.get(), "zz"));
  assert_null(jsonMember(nullptr, "s"));
  assert_null(jsonMember(jsonMember(j.get(), "a"), "s"));  // not an object
  // Names are exact byte strings: no prefix match, no NUL truncation.
  assert_null(jsonMember(j.get(), std::string_view("s\0x", 3)));
  assert_null(jsonMember(j.get(), ""));
}

void test_json_compact_rendering(void** state) {
  JsonPtr j;
  assert_status(
      parse("{ \"z\" : 1, \"a\" : [ true, false, null, -7 ], \"m\" : { \"k\" : \"v\" },"
            " \"r\" : 0.1, \"e\" : 1e300, \"w\" : 2.0, \"s\" : \"q\\\"\\\\\\n\\u0001\xc3\xa9/\" }",
            &j),
      Status::Ok);
  assert_str(jsonCompact(j.get()),
             "{\"z\":1,\"a\":[true,false,null,-7],\"m\":{\"k\":\"v\"},\"r\":0.1,\"e\":1e+300,"
             "\"w\":2.0,\"s\":\"q\\\"\\\\\\n\\u0001\xc3\xa9/\"}");
  assert_str(jsonCompact(nullptr), "");
}

void test_json_real_text_is_shortest_roundtrip(void** state) {
  assert_str(jsonRealText(1.5), "1.5");
  assert_str(jsonRealText(0.1), "0.1");
  assert_str(jsonRealText(3.0), "3.0");
  assert_str(jsonRealText(-0.25), "-0.25");
  assert_str(jsonRealText(1700000000.5), "1700000000.5");
  assert_str(jsonRealText(1e-7), "1e-07");
  assert_str(jsonRealText(0.30000000000000004), "0.30000000000000004");
}

void test_json_quoted_escapes(void** state) {
  std::string out;
  jsonAppendQuoted(std::string_view("a\"b\\c\b\f\n\r\t\x1f\x7f", 12), &out);
  assert_str(out, "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u001f\\u007f\"");
}

}  // namespace
}  // namespace tasker

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_parses_object),
      cmocka_unit_test(test_json_depth_16_ok_17_rejected),
      cmocka_unit_test(test_json_depth_ignores_brackets_in_strings),
      cmocka_unit_test(test_json_rejects_duplicate_members),
      cmocka_unit_test(test_json_rejects_non_objects_and_garbage),
      cmocka_unit_test(test_json_getters_report_missing_and_type),
      cmocka_unit_test(test_json_compact_rendering),
      cmocka_unit_test(test_json_real_text_is_shortest_roundtrip),
      cmocka_unit_test(test_json_quoted_escapes),
  };
  return cmocka_run_group_tests_name("json", tests, nullptr, nullptr);
}
