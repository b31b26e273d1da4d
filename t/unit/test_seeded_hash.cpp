// Unit tests for src/seeded_hash.h: the keyed hash of the token cache and the API key index. It
// reads its last 1-16 bytes with a few overlapping loads, so every length class (0, 1-3, 4-7,
// 8-16, longer, exact multiples of 16) must still depend on every byte and on the length.
#include "seeded_hash.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <set>
#include <string>

extern "C" {
#include <cmocka.h>
}

namespace {

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

// One bit flipped at any position of any length up to 100 changes the hash: no byte is skipped.
void test_seeded_hash_every_byte_counts(void** state) {
  tasker::SeededHash h;
  for (size_t n = 1; n <= 100; ++n) {
    std::string s = pattern(n);
    const uint64_t base = h(s.data(), n, n);
    assert_int_equal(h(s.data(), n, n), base);  // deterministic
    for (size_t i = 0; i < n; ++i) {
      for (int bit : {0, 7}) {
        s[i] = static_cast<char>(s[i] ^ (1 << bit));
        assert_int_not_equal(h(s.data(), n, n), base);
        s[i] = static_cast<char>(s[i] ^ (1 << bit));
      }
    }
  }
}

// Prefixes of one string (what the overlapping reads could confuse: "ab" against "ab\0"), and
// zero-filled strings of every length, all hash apart.
void test_seeded_hash_lengths_apart(void** state) {
  tasker::SeededHash h;
  const std::string s = pattern(100);
  std::set<uint64_t> seen;
  for (size_t n = 0; n <= 100; ++n) seen.insert(h(s.data(), n, n));
  assert_int_equal(seen.size(), 101);
  seen.clear();
  const std::string zeros(100, '\0');
  for (size_t n = 0; n <= 100; ++n) seen.insert(h(zeros.data(), n, n));
  assert_int_equal(seen.size(), 101);
}

// The third argument is mixed in on its own: the token cache hashes a token's last 64 bytes
// with the whole token's length, so equal tails of different tokens land apart.
void test_seeded_hash_length_argument_mixed_in(void** state) {
  tasker::SeededHash h;
  const std::string s = pattern(64);
  std::set<uint64_t> seen;
  for (uint64_t len = 64; len < 1064; ++len) seen.insert(h(s.data(), s.size(), len));
  assert_int_equal(seen.size(), 1000);
}

// Two hashers have different seeds (RAND_bytes): where an entry sits is not predictable.
void test_seeded_hash_seeds_differ(void** state) {
  tasker::SeededHash a, b;
  const std::string s = pattern(30);
  int differ = 0;
  for (size_t n = 1; n <= 30; ++n) differ += a(s.data(), n, n) != b(s.data(), n, n);
  assert_int_equal(differ, 30);
}

}  // namespace

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seeded_hash_every_byte_counts),
      cmocka_unit_test(test_seeded_hash_lengths_apart),
      cmocka_unit_test(test_seeded_hash_length_argument_mixed_in),
      cmocka_unit_test(test_seeded_hash_seeds_differ),
  };
  return cmocka_run_group_tests_name("seeded_hash", tests, nullptr, nullptr);
}
