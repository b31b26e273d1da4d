// Unit tests for src/permissions.cpp against SPEC sections 1, 2 (tasker_permission) and 8.
#include "permissions.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

extern "C" {
#include <cmocka.h>
}

namespace tasker {
namespace {

using Args = std::vector<std::string_view>;

// SPEC 1, in table order. Kept independent of the implementation's table on purpose.
struct Expected {
  const char* name;
  const char* resource;
  const char* description;
};
const Expected kSpec[kPermissionCount] = {
    {"tasks:create", "tasks", "Create new tasks"},
    {"tasks:read", "tasks", "Read task details"},
    {"tasks:list", "tasks", "List tasks"},
    {"tasks:cancel", "tasks", "Cancel running tasks"},
    {"tasks:context_read", "tasks", "Read task context data"},
    {"steps:read", "steps", "Read workflow step details"},
    {"steps:resolve", "steps", "Manually resolve steps"},
    {"dlq:read", "dlq", "Read DLQ entries"},
    {"dlq:update", "dlq", "Update DLQ investigations"},
    {"dlq:stats", "dlq", "View DLQ statistics"},
    {"templates:read", "templates", "Read task templates"},
    {"templates:validate", "templates", "Validate templates"},
    {"system:config_read", "system", "Read system configuration"},
    {"system:handlers_read", "system", "Read handler registry"},
    {"system:analytics_read", "system", "Read analytics data"},
    {"worker:config_read", "worker", "Read worker configuration"},
    {"worker:templates_read", "worker", "Read worker templates"},
};

constexpr uint32_t kAll = (1u << kPermissionCount) - 1;

// Index of a SPEC name, by the test's own table.
int specIndex(std::string_view name) {
  for (int i = 0; i < kPermissionCount; ++i) {
    if (name == kSpec[i].name) return i;
  }
  fail_msg("no such permission in the test table: %.*s", static_cast<int>(name.size()),
           name.data());
  return -1;
}

uint32_t bitsOf(std::initializer_list<const char*> names) {
  uint32_t b = 0;
  for (const char* n : names) b |= 1u << specIndex(n);
  return b;
}

Grant grantOf(std::initializer_list<const char*> strings) {
  Grant g;
  for (const char* s : strings) g.add(s);
  return g;
}

// Strings that look like permissions or wildcards but are neither (SPEC 1: "Nothing else matches").
const std::string_view kNonMatching[] = {
    "tasks:c*",
    "*:read",
    "Tasks:read",
    "tasks:",
    ":*",
    "",
    "foo:*",
    "*:*",
    "**",
    "tasks:**",
    "TASKS:*",
    "Tasks:*",
    " *",
    "* ",
    "tasks:read ",
    " tasks:read",
    "tasks :*",
    "tasks",
    "read",
    "tasks:Read",
    "TASKS:READ",
    "tasks:*:*",
    "tasks:read,tasks:list",
    "tasks:read tasks:list",
    "task:*",
    "tasks*",
    "tasks.*",
    "tasks:read:*",
    ":",
    "*tasks:read",
    "admin",
    "superuser",
    "steps:write",
    "worker:*read",
    std::string_view("tasks:read\0", 11),
    std::string_view("*\0", 2),
};

// ---- vocabulary ------------------------------------------------------------------------------

void test_permissions_table_matches_spec(void** state) {
  const PermissionInfo* t = permissionTable();
  assert_non_null(t);
  for (int i = 0; i < kPermissionCount; ++i) {
    assert_string_equal(t[i].name, kSpec[i].name);
    assert_string_equal(t[i].resource, kSpec[i].resource);
    assert_string_equal(t[i].description, kSpec[i].description);
  }
}

void test_permissions_index_of_every_name(void** state) {
  for (int i = 0; i < kPermissionCount; ++i) {
    assert_int_equal(permissionIndex(kSpec[i].name), i);
    assert_true(isKnownPermissionString(kSpec[i].name));
  }
}

void test_permissions_index_rejects_wildcards_and_unknown(void** state) {
  size_t n = 0;
  const char* const* w = wildcardTable(&n);
  for (size_t i = 0; i < n; ++i) assert_int_equal(permissionIndex(w[i]), -1);
  for (std::string_view s : kNonMatching) assert_int_equal(permissionIndex(s), -1);
}

void test_permissions_wildcard_table_has_the_seven(void** state) {
  size_t n = 0;
  const char* const* w = wildcardTable(&n);
  assert_non_null(w);
  assert_int_equal(n, 7);
  const char* expected[] = {"*",           "tasks:*",  "steps:*", "dlq:*",
                            "templates:*", "system:*", "worker:*"};
  for (const char* e : expected) {
    bool found = false;
    for (size_t i = 0; i < n; ++i) found = found || std::string_view(w[i]) == e;
    assert_true(found);
    assert_true(isKnownPermissionString(e));
  }
  assert_ptr_equal(wildcardTable(nullptr), w);  // a null count is allowed
}

void test_permissions_unknown_strings_are_not_known(void** state) {
  for (std::string_view s : kNonMatching) {
    if (isKnownPermissionString(s)) {
      fail_msg("\"%.*s\" should be unknown", static_cast<int>(s.size()), s.data());
    }
  }
}

// ---- grants ----------------------------------------------------------------------------------

void test_permissions_grant_each_name_grants_only_itself(void** state) {
  for (int i = 0; i < kPermissionCount; ++i) {
    Grant g;
    assert_true(g.add(kSpec[i].name));
    assert_int_equal(g.bits, 1u << i);
    for (int j = 0; j < kPermissionCount; ++j) assert_int_equal(g.has(j), i == j);
  }
}

void test_permissions_grant_resource_wildcards_exact(void** state) {
  struct Case {
    const char* wildcard;
    uint32_t bits;
  };
  const Case cases[] = {
      {"tasks:*",
       bitsOf({"tasks:create", "tasks:read", "tasks:list", "tasks:cancel", "tasks:context_read"})},
      {"steps:*", bitsOf({"steps:read", "steps:resolve"})},
      {"dlq:*", bitsOf({"dlq:read", "dlq:update", "dlq:stats"})},
      {"templates:*", bitsOf({"templates:read", "templates:validate"})},
      {"system:*", bitsOf({"system:config_read", "system:handlers_read", "system:analytics_read"})},
      {"worker:*", bitsOf({"worker:config_read", "worker:templates_read"})},
  };
  uint32_t all = 0;
  for (const Case& c : cases) {
    Grant g;
    assert_true(g.add(c.wildcard));
    assert_int_equal(g.bits, c.bits);
    assert_int_equal(all & c.bits, 0);  // resources do not overlap
    all |= c.bits;
  }
  assert_int_equal(all, kAll);  // and together they cover the vocabulary
  assert_int_equal(__builtin_popcount(cases[0].bits), 5);
}

void test_permissions_grant_star_grants_everything(void** state) {
  Grant g;
  assert_true(g.add("*"));
  assert_int_equal(g.bits, kAll);
  for (int i = 0; i < kPermissionCount; ++i) assert_true(g.has(i));
  assert_false(g.has(kPermissionCount));
  assert_false(g.has(31));
  assert_false(g.has(-1));
}

void test_permissions_grant_non_matching_grant_nothing(void** state) {
  for (std::string_view s : kNonMatching) {
    Grant g;
    if (g.add(s) || g.bits != 0) {
      fail_msg("\"%.*s\" should grant nothing", static_cast<int>(s.size()), s.data());
    }
  }
}

void test_permissions_grant_accumulates_and_ignores_unknown(void** state) {
  Grant g;
  assert_true(g.add("tasks:read"));
  assert_false(g.add("tasks:c*"));
  assert_true(g.add("dlq:*"));
  assert_false(g.add("Tasks:create"));
  assert_true(g.add("tasks:read"));  // repeated: still granted, nothing else
  assert_int_equal(g.bits, bitsOf({"tasks:read", "dlq:read", "dlq:update", "dlq:stats"}));
  assert_false(g.has(-1));
  assert_false(g.has(kPermissionCount));
}

// ---- methods ---------------------------------------------------------------------------------

void test_permissions_method_bits(void** state) {
  assert_int_equal(methodBit("GET"), static_cast<uint32_t>(Method::Get));
  assert_int_equal(methodBit("HEAD"), static_cast<uint32_t>(Method::Head));
  assert_int_equal(methodBit("POST"), static_cast<uint32_t>(Method::Post));
  assert_int_equal(methodBit("PUT"), static_cast<uint32_t>(Method::Put));
  assert_int_equal(methodBit("DELETE"), static_cast<uint32_t>(Method::Delete));
  assert_int_equal(methodBit("PATCH"), static_cast<uint32_t>(Method::Patch));
  assert_int_equal(methodBit("OPTIONS"), static_cast<uint32_t>(Method::Options));
  assert_int_equal(methodBit("TRACE"), static_cast<uint32_t>(Method::Trace));
  assert_int_equal(methodBit("CONNECT"), static_cast<uint32_t>(Method::Connect));
  assert_int_equal(methodBit("MKCOL"), static_cast<uint32_t>(Method::Mkcol));
  assert_int_equal(methodBit("COPY"), static_cast<uint32_t>(Method::Copy));
  assert_int_equal(methodBit("MOVE"), static_cast<uint32_t>(Method::Move));
  assert_int_equal(methodBit("PROPFIND"), static_cast<uint32_t>(Method::Propfind));
  assert_int_equal(methodBit("PROPPATCH"), static_cast<uint32_t>(Method::Proppatch));
  assert_int_equal(methodBit("LOCK"), static_cast<uint32_t>(Method::Lock));
  assert_int_equal(methodBit("UNLOCK"), static_cast<uint32_t>(Method::Unlock));
  assert_int_equal(methodBit("get"), 0);
  assert_int_equal(methodBit("Get"), 0);
  assert_int_equal(methodBit(""), 0);
  assert_int_equal(methodBit("QUERY"), 0);
  assert_int_equal(methodBit("FETCH"), 0);
  assert_int_equal(methodBit("GETX"), 0);
  assert_int_equal(methodBit("GE"), 0);
  assert_int_equal(methodBit("PROPFINDX"), 0);
}

// The list the nginx -t message prints is exactly the accepted set, one bit each.
void test_permissions_method_names_match_bits(void** state) {
  std::string names = methodNames();
  uint32_t all = 0;
  int count = 0;
  size_t pos = 0;
  while (pos <= names.size()) {
    size_t end = names.find(' ', pos);
    if (end == std::string::npos) end = names.size();
    uint32_t bit = methodBit(std::string_view(names).substr(pos, end - pos));
    assert_int_not_equal(bit, 0);
    assert_int_equal(all & bit, 0);
    all |= bit;
    ++count;
    pos = end + 1;
  }
  assert_int_equal(count, 16);
  assert_int_equal(all, 0xffffu);
}

// ---- rule parsing ----------------------------------------------------------------------------

void test_permissions_rules_parse_methods_and_permissions(void** state) {
  RuleSet rs;
  std::string bad;
  assert_int_equal(rs.addRule(Args{"GET", "POST", "tasks:read", "dlq:stats"}, &bad), Status::Ok);
  assert_int_equal(rs.addRule(Args{"steps:resolve"}, &bad), Status::Ok);
  assert_int_equal(rs.rules().size(), 2);
  const PermissionRule& r0 = rs.rules()[0];
  assert_int_equal(r0.methods,
                   static_cast<uint32_t>(Method::Get) | static_cast<uint32_t>(Method::Post));
  assert_int_equal(r0.required.size(), 2);
  assert_int_equal(r0.required[0], specIndex("tasks:read"));
  assert_int_equal(r0.required[1], specIndex("dlq:stats"));
  assert_int_equal(rs.rules()[1].methods, 0);
  assert_int_equal(rs.rules()[1].required[0], specIndex("steps:resolve"));
}

void test_permissions_rules_accept_all_sixteen_methods(void** state) {
  RuleSet rs;
  assert_int_equal(rs.addRule(Args{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
                                   "TRACE", "CONNECT", "MKCOL", "COPY", "MOVE", "PROPFIND",
                                   "PROPPATCH", "LOCK", "UNLOCK", "tasks:read"},
                              nullptr),
                   Status::Ok);
  assert_int_equal(rs.rules()[0].methods, 0xffffu);
}

void test_permissions_check_webdav_method_rule(void** state) {
  RuleSet rs;
  assert_int_equal(rs.addRule(Args{"PROPFIND", "tasks:list"}, nullptr), Status::Ok);
  assert_int_equal(rs.addRule(Args{"GET", "tasks:read"}, nullptr), Status::Ok);
  const char* missing = nullptr;
  assert_int_equal(rs.check("PROPFIND", grantOf({"tasks:list"}), &missing), Status::Ok);
  assert_int_equal(rs.check("PROPFIND", grantOf({"tasks:read"}), &missing), Status::PermDenied);
  assert_string_equal(missing, "tasks:list");
  assert_int_equal(rs.check("PROPPATCH", grantOf({"*"}), &missing),
                   Status::PermMethodNotCovered);
}

void test_permissions_rules_reject_unknown_permission(void** state) {
  const Args cases[] = {
      {"tasks:write"}, {"GET", "Tasks:read"},   {"tasks:c*"}, {"*:read"},
      {"foo:*"},       {"tasks:read", "bogus"}, {"tasks:"},   {""},
  };
  for (const Args& a : cases) {
    RuleSet rs;
    std::string bad;
    assert_int_equal(rs.addRule(a, &bad), Status::ConfigUnknownPermission);
    assert_string_equal(bad.c_str(), std::string(a.back()).c_str());
    assert_true(rs.empty());
  }
}

void test_permissions_rules_reject_wildcards(void** state) {
  const char* wildcards[] = {"*",           "tasks:*",  "steps:*", "dlq:*",
                             "templates:*", "system:*", "worker:*"};
  for (const char* w : wildcards) {
    RuleSet rs;
    std::string bad;
    assert_int_equal(rs.addRule(Args{"GET", "tasks:read", w}, &bad),
                     Status::ConfigWildcardRequired);
    assert_string_equal(bad.c_str(), w);
    assert_true(rs.empty());
  }
}

void test_permissions_rules_reject_bad_method(void** state) {
  RuleSet rs;
  std::string bad;
  assert_int_equal(rs.addRule(Args{"FETCH", "tasks:read"}, &bad), Status::ConfigBadMethod);
  assert_string_equal(bad.c_str(), "FETCH");
  assert_int_equal(rs.addRule(Args{"GET", "QUERY", "tasks:read"}, &bad),
                   Status::ConfigBadMethod);
  assert_string_equal(bad.c_str(), "QUERY");
  // Only leading all-caps words are methods: a lower-case method is an unknown permission, and
  // a method after a permission is one too.
  assert_int_equal(rs.addRule(Args{"get", "tasks:read"}, &bad), Status::ConfigUnknownPermission);
  assert_string_equal(bad.c_str(), "get");
  assert_int_equal(rs.addRule(Args{"tasks:read", "GET"}, &bad), Status::ConfigUnknownPermission);
  assert_string_equal(bad.c_str(), "GET");
  assert_true(rs.empty());
}

void test_permissions_rules_reject_no_permission(void** state) {
  RuleSet rs;
  std::string bad = "unchanged";
  assert_int_equal(rs.addRule(Args{"GET", "POST"}, &bad), Status::ConfigInvalid);
  assert_string_equal(bad.c_str(), "POST");
  assert_int_equal(rs.addRule(Args{}, &bad), Status::ConfigInvalid);
  assert_string_equal(bad.c_str(), "");
  assert_int_equal(rs.addRule(Args{}, nullptr), Status::ConfigInvalid);  // null bad is allowed
  assert_true(rs.empty());
}

void test_permissions_rules_failed_head_rule_changes_nothing(void** state) {
  // A rejected rule naming HEAD must not switch HEAD away from the GET rules.
  RuleSet rs;
  assert_int_equal(rs.addRule(Args{"HEAD", "tasks:bogus"}, nullptr),
                   Status::ConfigUnknownPermission);
  assert_int_equal(rs.addRule(Args{"GET", "tasks:read"}, nullptr), Status::Ok);
  const char* missing = nullptr;
  assert_int_equal(rs.check("HEAD", Grant{}, &missing), Status::PermDenied);
  assert_string_equal(missing, "tasks:read");
}

// ---- rule evaluation -------------------------------------------------------------------------

void test_permissions_check_no_rules_allows_any_credential(void** state) {
  RuleSet rs;
  assert_true(rs.empty());
  const char* missing = nullptr;
  for (const char* m : {"GET", "HEAD", "POST", "DELETE", "PROPFIND", ""}) {
    assert_int_equal(rs.check(m, Grant{}, &missing), Status::Ok);
  }
  assert_null(missing);
}

void test_permissions_check_methodless_rule_always_applies(void** state) {
  RuleSet rs;
  assert_int_equal(rs.addRule(Args{"tasks:read"}, nullptr), Status::Ok);
  Grant ok = grantOf({"tasks:read"});
  Grant none;
  for (const char* m : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE",
                        "CONNECT", "PROPFIND", "get", ""}) {
    const char* missing = nullptr;
    assert_int_equal(rs.check(m, ok, &missing), Status::Ok);
    assert_int_equal(rs.check(m, none, &missing), Status::PermDenied);
    assert_string_equal(missing, "tasks:read");
  }
}

void test_permissions_check_method_qualified_rules(void** state) {
  RuleSet rs;
  assert_int_equal(rs.addRule(Args{"POST", "tasks:create"}, nullptr), Status::Ok);
  assert_int_equal(rs.addRule(Args{"GET", "tasks:read"}, nullptr), Status::Ok);
  assert_int_equal(rs.addRule(Args{"DELETE", "PATCH", "tasks:cancel"}, nullptr), Status::Ok);
  const char* missing = nullptr;
  Grant reader = grantOf({"tasks:read"});

  assert_int_equal(rs.check("GET", reader, &missing), Status::Ok);
  assert_int_equal(rs.check("POST", reader, &missing), Status::PermDenied);
  assert_string_equal(missing, "tasks:create");
  assert_int_equal(rs.check("POST", grantOf({"tasks:create"}), &missing), Status::Ok);
  assert_int_equal(rs.check("DELETE", reader, &missing), Status::PermDenied);
  assert_string_equal(missing, "tasks:cancel");
  assert_int_equal(rs.check("PATCH", grantOf({"tasks:cancel"}), &missing), Status::Ok);
  // A GET-only credential may not POST, and GET rules do not leak into other methods.
  assert_int_equal(rs.check("GET", grantOf({"tasks:create"}), &missing), Status::PermDenied);
  assert_string_equal(missing, "tasks:read");
}

void test_permissions_check_uncovered_method_fails_closed(void** state) {
  RuleSet rs;
  assert_int_equal(rs.addRule(Args{"POST", "tasks:create"}, nullptr), Status::Ok);
  assert_int_equal(rs.addRule(Args{"GET", "tasks:read"}, nullptr), Status::Ok);
  Grant all = grantOf({"*"});
  const char* missing = nullptr;
  for (const char* m :
       {"PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "QUERY", "get", ""}) {
    // Even a superuser: no rule speaks for the method, so it is denied.
    assert_int_equal(rs.check(m, all, &missing), Status::PermMethodNotCovered);
  }
}

void test_permissions_check_methodless_rule_covers_every_method(void** state) {
  RuleSet rs;
  assert_int_equal(rs.addRule(Args{"POST", "tasks:create"}, nullptr), Status::Ok);
  assert_int_equal(rs.addRule(Args{"tasks:list"}, nullptr), Status::Ok);
  const char* missing = nullptr;
  assert_int_equal(rs.check("PUT", grantOf({"tasks:list"}), &missing), Status::Ok);
  assert_int_equal(rs.check("PROPFIND", Grant{}, &missing), Status::PermDenied);
  assert_string_equal(missing, "tasks:list");
  assert_int_equal(rs.check("POST", grantOf({"tasks:list"}), &missing), Status::PermDenied);
  assert_string_equal(missing, "tasks:create");
}

void test_permissions_check_head_follows_get(void** state) {
  RuleSet rs;
  assert_int_equal(rs.addRule(Args{"GET", "tasks:read"}, nullptr), Status::Ok);
  assert_int_equal(rs.addRule(Args{"POST", "tasks:create"}, nullptr), Status::Ok);
  const char* missing = nullptr;
  assert_int_equal(rs.check("HEAD", grantOf({"tasks:read"}), &missing), Status::Ok);
  assert_int_equal(rs.check("HEAD", grantOf({"tasks:create"}), &missing), Status::PermDenied);
  assert_string_equal(missing, "tasks:read");

  // With no GET rule, HEAD is as uncovered as GET.
  RuleSet post_only;
  assert_int_equal(post_only.addRule(Args{"POST", "tasks:create"}, nullptr), Status::Ok);
  assert_int_equal(post_only.check("HEAD", grantOf({"*"}), &missing), Status::PermMethodNotCovered);
  assert_int_equal(post_only.check("GET", grantOf({"*"}), &missing), Status::PermMethodNotCovered);
}

void test_permissions_check_head_named_uses_only_head_rules(void** state) {
  // Both orders: naming HEAD in a later rule also changes how the earlier GET rule is used.
  for (int order = 0; order < 2; ++order) {
    RuleSet rs;
    const Args get_rule{"GET", "tasks:list"};
    const Args head_rule{"HEAD", "tasks:read"};
    assert_int_equal(rs.addRule(order == 0 ? get_rule : head_rule, nullptr), Status::Ok);
    assert_int_equal(rs.addRule(order == 0 ? head_rule : get_rule, nullptr), Status::Ok);
    const char* missing = nullptr;
    assert_int_equal(rs.check("HEAD", grantOf({"tasks:read"}), &missing), Status::Ok);
    assert_int_equal(rs.check("HEAD", grantOf({"tasks:list"}), &missing), Status::PermDenied);
    assert_string_equal(missing, "tasks:read");
    // And HEAD rules never apply to GET.
    assert_int_equal(rs.check("GET", grantOf({"tasks:read"}), &missing), Status::PermDenied);
    assert_string_equal(missing, "tasks:list");
    assert_int_equal(rs.check("GET", grantOf({"tasks:list"}), &missing), Status::Ok);
  }
}

void test_permissions_check_head_named_with_methodless_rule(void** state) {
  RuleSet rs;
  assert_int_equal(rs.addRule(Args{"tasks:read"}, nullptr), Status::Ok);
  assert_int_equal(rs.addRule(Args{"GET", "tasks:list"}, nullptr), Status::Ok);
  assert_int_equal(rs.addRule(Args{"GET", "HEAD", "dlq:read"}, nullptr), Status::Ok);
  const char* missing = nullptr;
  // HEAD: the method-less rule and the rule naming HEAD; not the GET-only rule.
  assert_int_equal(rs.check("HEAD", grantOf({"tasks:read", "dlq:read"}), &missing), Status::Ok);
  assert_int_equal(rs.check("HEAD", grantOf({"dlq:read"}), &missing), Status::PermDenied);
  assert_string_equal(missing, "tasks:read");
  assert_int_equal(rs.check("HEAD", grantOf({"tasks:read"}), &missing), Status::PermDenied);
  assert_string_equal(missing, "dlq:read");
  // GET: all three rules.
  assert_int_equal(rs.check("GET", grantOf({"tasks:read", "dlq:read"}), &missing),
                   Status::PermDenied);
  assert_string_equal(missing, "tasks:list");
}

void test_permissions_check_head_only_rules_leave_get_uncovered(void** state) {
  RuleSet rs;
  assert_int_equal(rs.addRule(Args{"HEAD", "tasks:read"}, nullptr), Status::Ok);
  const char* missing = nullptr;
  assert_int_equal(rs.check("HEAD", grantOf({"tasks:read"}), &missing), Status::Ok);
  assert_int_equal(rs.check("GET", grantOf({"*"}), &missing), Status::PermMethodNotCovered);
}

// Without method names, check() first tests the union of every rule's permissions at once, and
// walks the rules only to name what is missing: each permission left out of an otherwise full
// grant must still be found and named, in rule then argument order, for every method.
void test_permissions_check_methodless_rules_need_every_permission(void** state) {
  RuleSet rs;
  assert_int_equal(rs.addRule(Args{"tasks:read", "tasks:create"}, nullptr), Status::Ok);
  assert_int_equal(rs.addRule(Args{"worker:config_read"}, nullptr), Status::Ok);
  assert_int_equal(rs.addRule(Args{"tasks:read", "dlq:read"}, nullptr), Status::Ok);
  const char* const all[] = {"tasks:read", "tasks:create", "worker:config_read", "dlq:read"};
  for (const char* m : {"GET", "POST", "DELETE", "PROPFIND", ""}) {
    const char* missing = nullptr;
    assert_int_equal(rs.check(m, grantOf({"tasks:read", "tasks:create", "worker:config_read",
                                          "dlq:read"}), &missing),
                     Status::Ok);
    assert_null(missing);
    assert_int_equal(rs.check(m, grantOf({"tasks:*", "worker:*", "dlq:*"}), &missing),
                     Status::Ok);
    for (const char* left_out : all) {
      Grant g;
      for (const char* p : all) {
        if (std::strcmp(p, left_out) != 0) g.add(p);
      }
      missing = nullptr;
      assert_int_equal(rs.check(m, g, &missing), Status::PermDenied);
      assert_string_equal(missing, left_out);
    }
    missing = nullptr;
    assert_int_equal(rs.check(m, grantOf({"worker:config_read", "dlq:read"}), &missing),
                     Status::PermDenied);
    assert_string_equal(missing, "tasks:read");  // the first rule's first permission
  }
}

void test_permissions_check_first_missing_in_rule_then_argument_order(void** state) {
  RuleSet rs;
  assert_int_equal(rs.addRule(Args{"POST", "templates:validate"}, nullptr), Status::Ok);
  assert_int_equal(rs.addRule(Args{"tasks:read", "tasks:list"}, nullptr), Status::Ok);
  assert_int_equal(rs.addRule(Args{"GET", "dlq:read", "dlq:stats"}, nullptr), Status::Ok);
  assert_int_equal(rs.addRule(Args{"dlq:update"}, nullptr), Status::Ok);
  struct Case {
    Grant grant;
    const char* missing;  // nullptr: allowed
  };
  const Case cases[] = {
      {grantOf({}), "tasks:read"},  // the POST-only rule is skipped for GET
      {grantOf({"tasks:read"}), "tasks:list"},
      {grantOf({"tasks:list"}), "tasks:read"},
      {grantOf({"tasks:*"}), "dlq:read"},
      {grantOf({"tasks:*", "dlq:stats"}), "dlq:read"},
      {grantOf({"tasks:*", "dlq:read"}), "dlq:stats"},
      {grantOf({"tasks:*", "dlq:read", "dlq:stats"}), "dlq:update"},
      {grantOf({"tasks:*", "dlq:*"}), nullptr},
      {grantOf({"*"}), nullptr},
      {grantOf({"tasks:read", "tasks:list", "dlq:read", "dlq:stats", "dlq:update"}), nullptr},
  };
  for (const Case& c : cases) {
    const char* missing = nullptr;
    Status st = rs.check("GET", c.grant, &missing);
    if (c.missing == nullptr) {
      assert_int_equal(st, Status::Ok);
    } else {
      assert_int_equal(st, Status::PermDenied);
      assert_string_equal(missing, c.missing);
    }
  }
}

void test_permissions_check_wildcard_grants_satisfy_rules(void** state) {
  RuleSet rs;
  assert_int_equal(rs.addRule(Args{"tasks:context_read", "worker:templates_read"}, nullptr),
                   Status::Ok);
  const char* missing = nullptr;
  assert_int_equal(rs.check("GET", grantOf({"tasks:*", "worker:*"}), &missing), Status::Ok);
  assert_int_equal(rs.check("GET", grantOf({"*"}), &missing), Status::Ok);
  assert_int_equal(rs.check("GET", grantOf({"tasks:*"}), &missing), Status::PermDenied);
  assert_string_equal(missing, "worker:templates_read");
  // Look-alike wildcards grant nothing.
  assert_int_equal(rs.check("GET", grantOf({"tasks:c*", "*:read", "worker:*read"}), &missing),
                   Status::PermDenied);
  assert_string_equal(missing, "tasks:context_read");
}

void test_permissions_check_null_missing_is_allowed(void** state) {
  RuleSet rs;
  assert_int_equal(rs.addRule(Args{"tasks:read"}, nullptr), Status::Ok);
  assert_int_equal(rs.check("GET", Grant{}, nullptr), Status::PermDenied);
}

}  // namespace
}  // namespace tasker

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_permissions_table_matches_spec),
      cmocka_unit_test(test_permissions_index_of_every_name),
      cmocka_unit_test(test_permissions_index_rejects_wildcards_and_unknown),
      cmocka_unit_test(test_permissions_wildcard_table_has_the_seven),
      cmocka_unit_test(test_permissions_unknown_strings_are_not_known),
      cmocka_unit_test(test_permissions_grant_each_name_grants_only_itself),
      cmocka_unit_test(test_permissions_grant_resource_wildcards_exact),
      cmocka_unit_test(test_permissions_grant_star_grants_everything),
      cmocka_unit_test(test_permissions_grant_non_matching_grant_nothing),
      cmocka_unit_test(test_permissions_grant_accumulates_and_ignores_unknown),
      cmocka_unit_test(test_permissions_method_bits),
      cmocka_unit_test(test_permissions_method_names_match_bits),
      cmocka_unit_test(test_permissions_rules_parse_methods_and_permissions),
      cmocka_unit_test(test_permissions_rules_accept_all_sixteen_methods),
      cmocka_unit_test(test_permissions_rules_reject_unknown_permission),
      cmocka_unit_test(test_permissions_rules_reject_wildcards),
      cmocka_unit_test(test_permissions_rules_reject_bad_method),
      cmocka_unit_test(test_permissions_rules_reject_no_permission),
      cmocka_unit_test(test_permissions_rules_failed_head_rule_changes_nothing),
      cmocka_unit_test(test_permissions_check_no_rules_allows_any_credential),
      cmocka_unit_test(test_permissions_check_methodless_rule_always_applies),
      cmocka_unit_test(test_permissions_check_method_qualified_rules),
      cmocka_unit_test(test_permissions_check_uncovered_method_fails_closed),
      cmocka_unit_test(test_permissions_check_methodless_rule_covers_every_method),
      cmocka_unit_test(test_permissions_check_webdav_method_rule),
      cmocka_unit_test(test_permissions_check_head_follows_get),
      cmocka_unit_test(test_permissions_check_head_named_uses_only_head_rules),
      cmocka_unit_test(test_permissions_check_head_named_with_methodless_rule),
      cmocka_unit_test(test_permissions_check_head_only_rules_leave_get_uncovered),
      cmocka_unit_test(test_permissions_check_methodless_rules_need_every_permission),
      cmocka_unit_test(test_permissions_check_first_missing_in_rule_then_argument_order),
      cmocka_unit_test(test_permissions_check_wildcard_grants_satisfy_rules),
      cmocka_unit_test(test_permissions_check_null_missing_is_allowed),
  };
  return cmocka_run_group_tests_name("permissions", tests, nullptr, nullptr);
}
