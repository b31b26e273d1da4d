// Unit tests for src/algorithms.cpp: the ten JWS algorithm names and key-family fit.
#include "algorithms.h"

#include <cstring>

#include "test_helpers.h"

namespace tasker {
namespace {

using test::kAllAlgs;

void test_algorithms_parse_every_name_roundtrips(void** state) {
  const char* names[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                         "PS512", "ES256", "ES384", "ES512", "EdDSA"};
  for (int i = 0; i < kAlgCount; ++i) {
    Alg a = Alg::RS256;
    assert_status(parseAlg(names[i], &a), Status::Ok);
    assert_int_equal(static_cast<int>(a), i);
    assert_string_equal(algName(a), names[i]);
    assert_int_equal(static_cast<int>(kAllAlgs[i]), i);
  }
}

void test_algorithms_rejects_none_hs_and_variants(void** state) {
  const char* bad[] = {"none",   "None",  "NONE",    "HS256",    "HS384",   "HS512",
                       "rs256",  "Rs256", "RS256 ",  " RS256",   "RS",      "RS1024",
                       "ES256K", "EDDSA", "Ed25519", "RSA-OAEP", "PS256\n", ""};
  for (const char* b : bad) {
    Alg a = Alg::ES512;
    Status s = parseAlg(b, &a);
    if (s != Status::ConfigBadAlgorithm) fail_msg("'%s' gave %s", b, statusName(s));
    assert_int_equal(static_cast<int>(a), static_cast<int>(Alg::ES512));  // untouched
  }
  Alg a;
  assert_status(parseAlg(std::string_view("RS256\0", 6), &a), Status::ConfigBadAlgorithm);
}

void test_algorithms_fit_matrix(void** state) {
  const KeyType types[] = {KeyType::Rsa, KeyType::EcP256, KeyType::EcP384, KeyType::EcP521,
                           KeyType::Ed25519};
  for (Alg a : kAllAlgs) {
    int fits = 0;
    for (KeyType t : types) {
      bool want = t == test::keyTypeFor(a);
      assert_int_equal(algFitsKey(a, t), want);
      fits += want;
    }
    assert_int_equal(fits, 1);
  }
  assert_true(algFitsKey(Alg::PS256, KeyType::Rsa));
  assert_false(algFitsKey(Alg::ES256, KeyType::EcP384));
  assert_false(algFitsKey(Alg::ES512, KeyType::EcP384));
  assert_false(algFitsKey(Alg::EdDSA, KeyType::EcP256));
}

void test_algorithms_bits_and_default(void** state) {
  AlgMask all = 0;
  for (Alg a : kAllAlgs) {
    assert_int_equal(all & algBit(a), 0);
    all |= algBit(a);
  }
  assert_int_equal(all, (1u << kAlgCount) - 1);
  assert_int_equal(kDefaultAlgs, algBit(Alg::RS256));
}

}  // namespace
}  // namespace tasker

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_algorithms_parse_every_name_roundtrips),
      cmocka_unit_test(test_algorithms_rejects_none_hs_and_variants),
      cmocka_unit_test(test_algorithms_fit_matrix),
      cmocka_unit_test(test_algorithms_bits_and_default),
  };
  return cmocka_run_group_tests_name("algorithms", tests, nullptr, nullptr);
}
