// Unit tests for src/ct_equal.h: constant-time byte equality.
#include "ct_equal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <string>

extern "C" {
#include <cmocka.h>
}

namespace {

// Every length across the 32-byte loop, the word loop, the overlapping last word and the byte
// tail (n < 8), with one byte changed at every position.
void test_ct_equal_every_position(void** state) {
  for (size_t n = 0; n <= 100; ++n) {
    std::string a(n, 'x');
    for (size_t i = 0; i < n; ++i) a[i] = static_cast<char>('a' + i % 26);
    std::string b = a;
    assert_true(tasker::sameBytes(a, b));
    assert_true(tasker::sameBytes(a.data(), b.data(), n));
    for (size_t i = 0; i < n; ++i) {
      b[i] ^= 0x01;
      assert_false(tasker::sameBytes(a, b));
      assert_false(tasker::sameBytes(a.data(), b.data(), n));
      b[i] ^= 0x01;
    }
  }
}

void test_ct_equal_lengths_and_high_bytes(void** state) {
  assert_false(tasker::sameBytes("abc", "abcd"));
  assert_false(tasker::sameBytes("", "a"));
  assert_true(tasker::sameBytes("", ""));
  const std::string hi("\xff\x80\x00\x7f", 4), hi2("\xff\x80\x00\x7e", 4);
  assert_true(tasker::sameBytes(hi, hi));
  assert_false(tasker::sameBytes(hi, hi2));
}

}  // namespace

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ct_equal_every_position),
      cmocka_unit_test(test_ct_equal_lengths_and_high_bytes),
  };
  return cmocka_run_group_tests_name("ct_equal", tests, nullptr, nullptr);
}
