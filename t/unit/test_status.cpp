// Unit tests for src/status.cpp: names, the verdict mapping and the metrics reasons.
#include "status.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cstring>
#include <set>
#include <string>

extern "C" {
#include <cmocka.h>
}

using tasker::Status;
using tasker::Verdict;

namespace {

// Every Status value, first to last (the enum is contiguous).
constexpr int kFirst = static_cast<int>(Status::Ok);
constexpr int kLast = static_cast<int>(Status::OutOfMemory);

void test_status_names_are_unique_snake_case(void** state) {
  std::set<std::string> seen;
  for (int i = kFirst; i <= kLast; ++i) {
    const char* name = tasker::statusName(static_cast<Status>(i));
    assert_non_null(name);
    assert_true(std::strlen(name) > 0);
    for (const char* p = name; *p; ++p) assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
    assert_true(seen.insert(name).second);
  }
  assert_string_equal(tasker::statusName(Status::TokenExpired), "token_expired");
}

void test_status_verdicts(void** state) {
  assert_int_equal(tasker::verdictFor(Status::Ok), Verdict::Allow);
  assert_int_equal(tasker::verdictFor(Status::PermDenied), Verdict::Forbidden);
  assert_int_equal(tasker::verdictFor(Status::PermMethodNotCovered), Verdict::Forbidden);
  assert_int_equal(tasker::verdictFor(Status::KeysUnavailable), Verdict::Unavailable);
  assert_int_equal(tasker::verdictFor(Status::CredentialsMissing), Verdict::Unauthenticated);
  assert_int_equal(tasker::verdictFor(Status::ApiKeyInvalid), Verdict::Unauthenticated);
  assert_int_equal(tasker::verdictFor(Status::Internal), Verdict::Error);
  assert_int_equal(tasker::verdictFor(Status::ConfigBadHash), Verdict::Error);
  // every Token* status is a 401
  for (int i = static_cast<int>(Status::TokenTooLarge);
       i <= static_cast<int>(Status::TokenUnknownPermission); ++i) {
    assert_int_equal(tasker::verdictFor(static_cast<Status>(i)), Verdict::Unauthenticated);
  }
}

void test_status_failure_reasons_are_the_spec_labels(void** state) {
  const std::set<std::string> spec = {"missing",         "malformed",          "expired",
                                      "not_yet_valid",   "invalid_signature",  "invalid_claims",
                                      "unknown_key",     "unknown_permissions", "invalid_api_key",
                                      "keys_unavailable"};
  std::set<std::string> used;
  for (int i = kFirst; i <= kLast; ++i) {
    Status s = static_cast<Status>(i);
    const char* r = tasker::failureReason(s);
    // a reason exactly for the statuses that reject a request as unauthenticated or unavailable
    Verdict v = tasker::verdictFor(s);
    assert_true((r != nullptr) == (v == Verdict::Unauthenticated || v == Verdict::Unavailable));
    if (r) {
      assert_true(spec.count(r) == 1);
      used.insert(r);
    }
  }
  assert_true(used == spec);  // every label can actually occur
  assert_null(tasker::failureReason(Status::PermDenied));
}

}  // namespace

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_names_are_unique_snake_case),
      cmocka_unit_test(test_status_verdicts),
      cmocka_unit_test(test_status_failure_reasons_are_the_spec_labels),
  };
  return cmocka_run_group_tests_name("status", tests, nullptr, nullptr);
}
