// Unit tests for src/api_keys.cpp: the tasker_api_key registry (SPEC 2, 8).
#include "api_keys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include "tasker_limits.h"

namespace tasker {
namespace {

using Strings = std::vector<std::string>;

const char kAbcHash[] = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const char kEmptyHash[] = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
  return s;
}

// Adds an entry that must succeed.
void addOk(ApiKeyRegistry* reg, std::string_view key, const Strings& perms,
           std::string_view description, std::string source = "test.conf:1") {
  std::string detail;
  Status st = reg->add(key, perms, description, true, std::move(source), &detail);
  if (st != Status::Ok) fail_msg("add failed: %s (%s)", statusName(st), detail.c_str());
}

void assertStrings(const Strings& got, const Strings& want) {
  assert_int_equal(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) assert_string_equal(got[i].c_str(), want[i].c_str());
}

// ---- helpers ---------------------------------------------------------------------------------

void test_api_keys_hash_known_vectors(void** state) {
  assert_string_equal(hashApiKey("abc").c_str(), kAbcHash);
  assert_string_equal(hashApiKey("").c_str(), kEmptyHash);
  std::string h = hashApiKey("sk-prod-monitoring-key");
  assert_int_equal(h.size(), 7 + 64);
  assert_true(h.find_first_not_of("0123456789abcdef", 7) == std::string::npos);
}

void test_api_keys_split_permission_list(void** state) {
  assertStrings(splitPermissionList(""), {});
  assertStrings(splitPermissionList("tasks:read"), {"tasks:read"});
  assertStrings(splitPermissionList("tasks:read,tasks:list"), {"tasks:read", "tasks:list"});
  assertStrings(splitPermissionList(" tasks:read ,\tdlq:* "), {"tasks:read", "dlq:*"});
  assertStrings(splitPermissionList("a,,b,"), {"a", "b"});
  assertStrings(splitPermissionList(" , "), {});
  // Only commas separate: a space inside an item stays (and makes it unknown later).
  assertStrings(splitPermissionList("tasks:read tasks:list"), {"tasks:read tasks:list"});
}

// A permission containing a comma is refused in strict and lax mode (issue 10): kept, it would
// read like two grants in $tasker_auth_permissions.
void test_api_keys_permission_with_comma_refused(void** state) {
  for (bool strict : {true, false}) {
    ApiKeyRegistry reg;
    std::string detail;
    assert_int_equal(static_cast<int>(reg.add("key-with-comma-perm", {"tasks:read,dlq:update"}, "ci",
                                              strict, "test.conf:3", &detail)),
                     static_cast<int>(Status::ConfigInvalid));
    assert_string_equal(detail.c_str(), "permission \"tasks:read,dlq:update\" contains a comma");
    assert_int_equal(reg.size(), 0);
    assert_null(reg.lookup("key-with-comma-perm"));
  }
}

// ---- lookup ----------------------------------------------------------------------------------

void test_api_keys_plain_key_lookup(void** state) {
  ApiKeyRegistry reg;
  addOk(&reg, "sk-prod-monitoring-key", {"tasks:read", "tasks:list"}, "monitoring",
        "nginx.conf:12");
  assert_int_equal(reg.size(), 1);
  const ApiKeyEntry* e = reg.lookup("sk-prod-monitoring-key");
  assert_non_null(e);
  assert_ptr_equal(e, &reg.entries()[0]);
  assert_string_equal(e->description.c_str(), "monitoring");
  assert_string_equal(e->source.c_str(), "nginx.conf:12");
  assertStrings(e->permissions, {"tasks:read", "tasks:list"});
  assert_true(e->unknown.empty());
  assert_true(e->grant.has(permissionIndex("tasks:read")));
  assert_true(e->grant.has(permissionIndex("tasks:list")));
  assert_false(e->grant.has(permissionIndex("tasks:create")));

  assert_null(reg.lookup("sk-prod-monitoring-ke"));
  assert_null(reg.lookup("sk-prod-monitoring-key "));
  assert_null(reg.lookup(" sk-prod-monitoring-key"));
  assert_null(reg.lookup("SK-PROD-MONITORING-KEY"));
  assert_null(reg.lookup(hashApiKey("sk-prod-monitoring-key")));
}

void test_api_keys_hashed_key_lookup(void** state) {
  ApiKeyRegistry reg;
  addOk(&reg, kAbcHash, {"*"}, "admin");
  addOk(&reg, upper(hashApiKey("sk-upper")).replace(0, 7, "sha256:"), {"dlq:read"}, "upper");
  const ApiKeyEntry* e = reg.lookup("abc");
  assert_non_null(e);
  assert_string_equal(e->description.c_str(), "admin");
  for (int i = 0; i < kPermissionCount; ++i) assert_true(e->grant.has(i));
  e = reg.lookup("sk-upper");
  assert_non_null(e);
  assert_string_equal(e->description.c_str(), "upper");
  // The configured hash is not itself a key.
  assert_null(reg.lookup(kAbcHash));
  assert_null(reg.lookup(kAbcHash + 7));
}

void test_api_keys_keys_differing_in_last_byte(void** state) {
  ApiKeyRegistry reg;
  const std::string base(40, 'k');
  addOk(&reg, base + "A", {"tasks:read"}, "first");
  addOk(&reg, base + "B", {"tasks:create"}, "second");
  const ApiKeyEntry* a = reg.lookup(base + "A");
  const ApiKeyEntry* b = reg.lookup(base + "B");
  assert_non_null(a);
  assert_non_null(b);
  assert_string_equal(a->description.c_str(), "first");
  assert_string_equal(b->description.c_str(), "second");
  assert_null(reg.lookup(base + "C"));
  assert_null(reg.lookup(base));
  assert_null(reg.lookup(base + "AB"));
}

void test_api_keys_binary_key_bytes(void** state) {
  ApiKeyRegistry reg;
  const std::string key("k\1e\xffy", 5);  // NUL is refused: no header value holds one
  addOk(&reg, key, {}, "binary");
  assert_non_null(reg.lookup(key));
  assert_null(reg.lookup(std::string_view("k", 1)));
  assert_null(reg.lookup(std::string("k\1e\xfe", 4) + "y"));
}

void test_api_keys_empty_registry(void** state) {
  ApiKeyRegistry reg;
  assert_int_equal(reg.size(), 0);
  assert_null(reg.lookup("anything"));
  assert_null(reg.lookup("abc"));
  assert_null(reg.lookup(""));
}

void test_api_keys_empty_presented_key_never_matches(void** state) {
  // Even when the registry holds the hash of the empty string.
  ApiKeyRegistry reg;
  addOk(&reg, kEmptyHash, {"*"}, "empty");
  assert_null(reg.lookup(""));
  assert_null(reg.lookup(std::string_view()));
}

void test_api_keys_oversized_key_never_matches(void** state) {
  ApiKeyRegistry reg;
  const std::string longest(kMaxApiKeyBytes, 'x');
  const std::string too_long(kMaxApiKeyBytes + 1, 'x');
  addOk(&reg, longest, {}, "longest");
  addOk(&reg, hashApiKey(too_long), {}, "too long");  // only reachable through its hash
  assert_non_null(reg.lookup(longest));
  assert_null(reg.lookup(too_long));
  assert_null(reg.lookup(std::string(64 * 1024, 'x')));
}

// ---- add() errors ----------------------------------------------------------------------------

void test_api_keys_rejects_empty_key(void** state) {
  ApiKeyRegistry reg;
  std::string detail;
  assert_int_equal(reg.add("", {"tasks:read"}, "d", true, "a.conf:1", &detail),
                   Status::ConfigInvalid);
  assert_int_equal(reg.add("", {}, "d", false, "a.conf:1", nullptr), Status::ConfigInvalid);
  assert_int_equal(reg.size(), 0);
}

void test_api_keys_rejects_plain_key_over_limit(void** state) {
  ApiKeyRegistry reg;
  std::string detail;
  const std::string key = "secret-" + std::string(kMaxApiKeyBytes, 's');
  assert_int_equal(reg.add(key, {}, "d", true, "a.conf:1", &detail), Status::ConfigInvalid);
  assert_false(detail.empty());
  assert_true(detail.find("secret-") == std::string::npos);  // never echoes the key
  assert_int_equal(reg.size(), 0);
}

// A key no request can present: blanks around it (header values are trimmed), or a line break
// or NUL inside. Refused, without echoing the key; inner spaces are allowed.
void test_api_keys_rejects_keys_no_header_can_carry(void** state) {
  for (const std::string& key :
       {std::string(" secret-a"), std::string("secret-b "), std::string("\tsecret-c"),
        std::string("secret-d\t"), std::string("secret\r\n-e"), std::string("secret-\nf"),
        std::string("secret-g\0x", 10)}) {
    ApiKeyRegistry reg;
    std::string detail;
    assert_int_equal(reg.add(key, {}, "d", true, "a.conf:1", &detail), Status::ConfigInvalid);
    assert_false(detail.empty());
    assert_true(detail.find("secret") == std::string::npos);
    assert_int_equal(reg.size(), 0);
  }
  ApiKeyRegistry reg;
  assert_int_equal(reg.add("secret with spaces", {}, "d", true, "a.conf:1", nullptr), Status::Ok);
  assert_non_null(reg.lookup("secret with spaces"));
}

void test_api_keys_rejects_bad_hashes(void** state) {
  const std::string hex64 = kAbcHash + 7;
  const std::string bad[] = {
      "sha256:",
      "sha256:" + hex64.substr(0, 63),
      "sha256:" + hex64 + "0",
      "sha256:" + hex64.substr(0, 63) + "g",
      "sha256:" + hex64.substr(0, 62) + "-1",
      "sha256: " + hex64.substr(0, 63),
      "sha256:" + hex64 + " ",
      "sha256:" + hex64 + "\n",
      "sha256:" + std::string(64, 'z'),
      "sha256:0x" + hex64.substr(0, 62),
      "sha256:" + std::string("\0", 1) + hex64.substr(0, 63),
  };
  for (const std::string& b : bad) {
    ApiKeyRegistry reg;
    std::string detail;
    assert_int_equal(reg.add(b, {"tasks:read"}, "d", true, "a.conf:1", &detail),
                     Status::ConfigBadHash);
    // the count of characters after the prefix, never the characters themselves
    assert_true(detail == std::to_string(b.size() - 7) + " characters follow \"sha256:\"" +
                              (b.size() == 71 ? ", not all hex digits" : ""));
    assert_int_equal(reg.add(b, {}, "d", false, "a.conf:1", nullptr), Status::ConfigBadHash);
    assert_int_equal(reg.size(), 0);
  }
}

void test_api_keys_hash_prefix_is_exact_lower_case(void** state) {
  // Only "sha256:" introduces a digest. "SHA256:<hex>" is refused rather than taken as a plain
  // key: otherwise a mistyped prefix would turn a published hash into a working key.
  ApiKeyRegistry reg;
  std::string detail;
  for (const char* prefix : {"SHA256:", "Sha256:", "sHA256:"}) {
    const std::string shouted = std::string(prefix) + (kAbcHash + 7);
    assert_int_equal(reg.add(shouted, {}, "plain", true, "a.conf:1", &detail),
                     Status::ConfigBadHash);
    assert_true(detail == "the prefix is not \"sha256:\" in lower case");
  }
  assert_int_equal(reg.size(), 0);
}

void test_api_keys_rejects_duplicates(void** state) {
  struct Pair {
    std::string first, second;
  };
  const std::string hash = hashApiKey("sk-dup");
  const Pair pairs[] = {
      {"sk-dup", "sk-dup"},                       // plain twice
      {"sk-dup", hash},                           // plain, then its own hash
      {hash, "sk-dup"},                           // hash, then the plain key
      {hash, hash},                               // hash twice
      {hash, "sha256:" + upper(hash.substr(7))},  // hex case does not matter
  };
  for (const Pair& p : pairs) {
    ApiKeyRegistry reg;
    addOk(&reg, p.first, {"tasks:read"}, "first", "nginx.conf:10");
    std::string detail;
    assert_int_equal(reg.add(p.second, {"*"}, "second", true, "nginx.conf:11", &detail),
                     Status::ConfigDuplicateKey);
    assert_string_equal(detail.c_str(), "nginx.conf:10");
    assert_int_equal(reg.size(), 1);
    const ApiKeyEntry* e = reg.lookup("sk-dup");
    assert_non_null(e);
    assert_string_equal(e->description.c_str(), "first");  // the first entry is untouched
  }
}

void test_api_keys_strict_rejects_unknown_permission(void** state) {
  ApiKeyRegistry reg;
  std::string detail;
  assert_int_equal(
      reg.add("sk-1", {"tasks:read", "tasks:write", "Tasks:read"}, "d", true, "a.conf:3", &detail),
      Status::ConfigUnknownPermission);
  assert_string_equal(detail.c_str(), "tasks:write");
  assert_int_equal(reg.size(), 0);
  assert_null(reg.lookup("sk-1"));
  // Look-alike wildcards are unknown too.
  for (const char* p : {"tasks:c*", "*:read", "foo:*", ""}) {
    assert_int_equal(reg.add("sk-1", {p}, "d", true, "a.conf:3", &detail),
                     Status::ConfigUnknownPermission);
    assert_string_equal(detail.c_str(), p);
  }
  assert_int_equal(reg.size(), 0);
}

void test_api_keys_strict_accepts_wildcards(void** state) {
  ApiKeyRegistry reg;
  addOk(&reg, "sk-tasks", {"tasks:*", "worker:*"}, "tasks");
  addOk(&reg, "sk-root", {"*"}, "root");
  const ApiKeyEntry* t = reg.lookup("sk-tasks");
  assert_non_null(t);
  assert_true(t->grant.has(permissionIndex("tasks:context_read")));
  assert_true(t->grant.has(permissionIndex("worker:config_read")));
  assert_false(t->grant.has(permissionIndex("dlq:read")));
  assertStrings(t->permissions, {"tasks:*", "worker:*"});
  const ApiKeyEntry* r = reg.lookup("sk-root");
  assert_non_null(r);
  assert_int_equal(r->grant.bits, (1u << kPermissionCount) - 1);
}

void test_api_keys_non_strict_keeps_unknown(void** state) {
  ApiKeyRegistry reg;
  std::string detail;
  assert_int_equal(reg.add("sk-lax", {"tasks:read", "Tasks:read", "tasks:c*", "dlq:*"}, "lax",
                           false, "a.conf:4", &detail),
                   Status::Ok);
  const ApiKeyEntry* e = reg.lookup("sk-lax");
  assert_non_null(e);
  assertStrings(e->permissions, {"tasks:read", "Tasks:read", "tasks:c*", "dlq:*"});
  assertStrings(e->unknown, {"Tasks:read", "tasks:c*"});
  Grant want;
  want.add("tasks:read");
  want.add("dlq:*");
  assert_int_equal(e->grant.bits, want.bits);  // unknown strings grant nothing
}

void test_api_keys_empty_permission_list(void** state) {
  ApiKeyRegistry reg;
  addOk(&reg, "sk-none", splitPermissionList(""), "nobody");
  const ApiKeyEntry* e = reg.lookup("sk-none");
  assert_non_null(e);
  assert_true(e->permissions.empty());
  assert_int_equal(e->grant.bits, 0);
}

void test_api_keys_rejects_too_many_permissions(void** state) {
  ApiKeyRegistry reg;
  Strings many(kMaxPermissionsPerCredential + 1, "tasks:read");
  std::string detail;
  assert_int_equal(reg.add("sk-many", many, "d", true, "a.conf:1", &detail), Status::ConfigInvalid);
  many.pop_back();
  assert_int_equal(reg.add("sk-many", many, "d", true, "a.conf:1", &detail), Status::Ok);
}

void test_api_keys_description_is_subject(void** state) {
  ApiKeyRegistry reg;
  addOk(&reg, "sk-a", {}, "Production monitoring service", "tasker.toml:20");
  addOk(&reg, "sk-b", {}, "", "nginx.conf:7");
  assert_string_equal(reg.lookup("sk-a")->description.c_str(), "Production monitoring service");
  assert_string_equal(reg.lookup("sk-b")->description.c_str(), "");
  assert_string_equal(reg.entries()[0].source.c_str(), "tasker.toml:20");
  assert_string_equal(reg.entries()[1].source.c_str(), "nginx.conf:7");
}

void test_api_keys_failed_adds_leave_registry_intact(void** state) {
  ApiKeyRegistry reg;
  addOk(&reg, "sk-keep", {"tasks:read"}, "keep", "a.conf:1");
  std::string detail;
  assert_int_equal(reg.add("sk-keep", {}, "dup", true, "a.conf:2", &detail),
                   Status::ConfigDuplicateKey);
  assert_int_equal(reg.add("sha256:xyz", {}, "bad", true, "a.conf:3", &detail),
                   Status::ConfigBadHash);
  assert_int_equal(reg.add("sk-new", {"nope"}, "strict", true, "a.conf:4", &detail),
                   Status::ConfigUnknownPermission);
  assert_int_equal(reg.size(), 1);
  assert_null(reg.lookup("sk-new"));
  // The rejected key was not half-registered: it can still be added properly.
  addOk(&reg, "sk-new", {"tasks:list"}, "new", "a.conf:5");
  assert_string_equal(reg.lookup("sk-keep")->description.c_str(), "keep");
  assert_string_equal(reg.lookup("sk-new")->description.c_str(), "new");
}

// Found by the plain index or by digest, whichever way each key was configured, in any order.
void test_api_keys_plain_and_hashed_together(void** state) {
  ApiKeyRegistry reg;
  addOk(&reg, "sk-plain-1", {"tasks:read"}, "p1");
  addOk(&reg, "sk-plain-2", {"tasks:list"}, "p2");
  // Only plain keys so far: anything outside the plain index is refused.
  assert_null(reg.lookup("abc"));
  assert_null(reg.lookup("sk-plain-"));
  assert_null(reg.lookup("sk-plain-10"));
  assert_null(reg.lookup(hashApiKey("sk-plain-1")));
  addOk(&reg, kAbcHash, {"*"}, "hashed");
  assert_string_equal(reg.lookup("abc")->description.c_str(), "hashed");
  assert_string_equal(reg.lookup("sk-plain-1")->description.c_str(), "p1");
  assert_string_equal(reg.lookup("sk-plain-2")->description.c_str(), "p2");
  assert_null(reg.lookup("abd"));
  assert_null(reg.lookup(kAbcHash));
  assert_null(reg.lookup("sk-plain-3"));
  std::string detail;
  assert_int_equal(reg.add(hashApiKey("sk-plain-2"), {}, "dup", true, "a.conf:9", &detail),
                   Status::ConfigDuplicateKey);
  assert_int_equal(reg.add("abc", {}, "dup", true, "a.conf:10", &detail),
                   Status::ConfigDuplicateKey);
}

// The entries (which the adapter's variables and logs read) never hold the key; only the
// registry's private plain index does, wiped when the registry goes.
void test_api_keys_plain_key_is_not_retained(void** state) {
  ApiKeyRegistry reg;
  const std::string key = "sk-very-secret-value-0123456789";
  addOk(&reg, key, {"tasks:read"}, "svc", "a.conf:1");
  const ApiKeyEntry& e = reg.entries()[0];
  assert_true(e.description.find(key) == std::string::npos);
  assert_true(e.source.find(key) == std::string::npos);
  for (const std::string& p : e.permissions) assert_true(p.find(key) == std::string::npos);
  // What the entry keeps is the digest.
  ApiKeyRegistry by_hash;
  addOk(&by_hash, hashApiKey(key), {}, "svc");
  assert_memory_equal(e.digest.data(), by_hash.entries()[0].digest.data(), 32);
}

void test_api_keys_many_keys(void** state) {
  ApiKeyRegistry reg;
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    std::string key = "sk-" + std::to_string(i);
    std::string desc = "svc-" + std::to_string(i);
    if (i % 2) key = hashApiKey(key);
    addOk(&reg, key, {"tasks:read"}, desc);
  }
  assert_int_equal(reg.size(), n);
  for (int i = 0; i < n; ++i) {
    const ApiKeyEntry* e = reg.lookup("sk-" + std::to_string(i));
    assert_non_null(e);
    assert_string_equal(e->description.c_str(), ("svc-" + std::to_string(i)).c_str());
  }
  assert_null(reg.lookup("sk-" + std::to_string(n)));
  assert_null(reg.lookup("sk--1"));
  // the table grew many times: every key is still a duplicate of itself, in either form
  for (int i = 0; i < n; i += 97) {
    std::string detail;
    std::string key = "sk-" + std::to_string(i);
    assert_int_equal(reg.add(i % 2 ? key : hashApiKey(key), {"tasks:read"}, "again", true, "dup",
                             &detail),
                     Status::ConfigDuplicateKey);
  }
  assert_int_equal(reg.size(), n);
}

// A digest pasted without "sha256:": exactly 64 hex digits, either case (the callers warn).
void test_api_keys_unprefixed_digest_is_recognised(void** state) {
  const std::string hex = "47c82187340829b3531d7d5447c3646495aac8ce3a3303649cb92d0040b18bf8";
  assert_true(looksLikeUnprefixedDigest(hex));
  assert_true(looksLikeUnprefixedDigest(upper(hex)));
  assert_false(looksLikeUnprefixedDigest(hex.substr(1)));
  assert_false(looksLikeUnprefixedDigest(hex + "0"));
  assert_false(looksLikeUnprefixedDigest("sha256:" + hex));
  assert_false(looksLikeUnprefixedDigest(hex.substr(1) + "g"));
  assert_false(looksLikeUnprefixedDigest(""));
}

// A key that is itself a permission list (KEY and PERMS swapped): known names and wildcards,
// comma-separated, spaces around them allowed as in PERMS.
void test_api_keys_permission_list_is_recognised(void** state) {
  for (const char* s : {"tasks:read", "*", "dlq:*", " tasks:read , worker:templates_read ",
                        "tasks:read,,steps:resolve,"}) {
    if (!looksLikePermissionList(s)) fail_msg("\"%s\" not recognised", s);
  }
  for (const char* s : {"", ",", " , ", "tasks:reed", "Tasks:read", "tasks:read,sk-1", "tasks:c*",
                        "*:read", "tasks:read dlq:read", "sk-live-1234"}) {
    if (looksLikePermissionList(s)) fail_msg("\"%s\" taken for a permission list", s);
  }
}

}  // namespace
}  // namespace tasker

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_api_keys_hash_known_vectors),
      cmocka_unit_test(test_api_keys_split_permission_list),
      cmocka_unit_test(test_api_keys_permission_with_comma_refused),
      cmocka_unit_test(test_api_keys_plain_key_lookup),
      cmocka_unit_test(test_api_keys_hashed_key_lookup),
      cmocka_unit_test(test_api_keys_keys_differing_in_last_byte),
      cmocka_unit_test(test_api_keys_binary_key_bytes),
      cmocka_unit_test(test_api_keys_empty_registry),
      cmocka_unit_test(test_api_keys_empty_presented_key_never_matches),
      cmocka_unit_test(test_api_keys_oversized_key_never_matches),
      cmocka_unit_test(test_api_keys_rejects_empty_key),
      cmocka_unit_test(test_api_keys_rejects_plain_key_over_limit),
      cmocka_unit_test(test_api_keys_rejects_keys_no_header_can_carry),
      cmocka_unit_test(test_api_keys_rejects_bad_hashes),
      cmocka_unit_test(test_api_keys_hash_prefix_is_exact_lower_case),
      cmocka_unit_test(test_api_keys_rejects_duplicates),
      cmocka_unit_test(test_api_keys_strict_rejects_unknown_permission),
      cmocka_unit_test(test_api_keys_strict_accepts_wildcards),
      cmocka_unit_test(test_api_keys_non_strict_keeps_unknown),
      cmocka_unit_test(test_api_keys_empty_permission_list),
      cmocka_unit_test(test_api_keys_rejects_too_many_permissions),
      cmocka_unit_test(test_api_keys_description_is_subject),
      cmocka_unit_test(test_api_keys_failed_adds_leave_registry_intact),
      cmocka_unit_test(test_api_keys_plain_and_hashed_together),
      cmocka_unit_test(test_api_keys_plain_key_is_not_retained),
      cmocka_unit_test(test_api_keys_many_keys),
      cmocka_unit_test(test_api_keys_unprefixed_digest_is_recognised),
      cmocka_unit_test(test_api_keys_permission_list_is_recognised),
  };
  return cmocka_run_group_tests_name("api_keys", tests, nullptr, nullptr);
}
