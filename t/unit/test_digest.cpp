// Unit tests for src/digest.cpp: SHA-256 against FIPS 180-2 vectors, SHA-2 against EVP.
#include "digest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cstdio>
#include <string>

#include <openssl/evp.h>

extern "C" {
#include <cmocka.h>
}

namespace {

std::string hex(const tasker::Sha256Digest& d) {
  std::string out;
  char buf[3];
  for (uint8_t b : d) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    out += buf;
  }
  return out;
}

void test_digest_known_vectors(void** state) {
  tasker::Sha256Digest d;
  assert_true(tasker::sha256("abc", &d));
  assert_string_equal(hex(d).c_str(),
                      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_true(tasker::sha256("", &d));
  assert_string_equal(hex(d).c_str(),
                      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert_true(
      tasker::sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", &d));
  assert_string_equal(hex(d).c_str(),
                      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

void test_digest_binary_input(void** state) {
  const std::string with_nul("a\0b", 3);
  tasker::Sha256Digest a, b;
  assert_true(tasker::sha256(with_nul, &a));
  assert_true(tasker::sha256("a", &b));
  assert_true(a != b);  // the length, not a C string, decides what is hashed
}

void test_digest_million_a(void** state) {
  tasker::Sha256Digest d;
  assert_true(tasker::sha256(std::string(1000000, 'a'), &d));
  assert_string_equal(hex(d).c_str(),
                      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Every length around the block and padding boundaries (55, 56, 64, 119, 120, 128 bytes) gives
// what OpenSSL's EVP interface gives, whichever interface digest.cpp was built with.
void test_digest_matches_evp(void** state) {
  std::string data;
  for (size_t n = 0; n <= 300; ++n) {
    tasker::Sha256Digest d, e;
    unsigned int len = 0;
    assert_true(tasker::sha256(data, &d));
    assert_int_equal(EVP_Digest(data.data(), data.size(), e.data(), &len, EVP_sha256(), nullptr), 1);
    assert_int_equal(len, 32);
    assert_true(d == e);
    data.push_back(static_cast<char>('A' + n * 7 % 251));
  }
}

// shaDigest (JWS signing inputs) gives what EVP gives for SHA-256/384/512 at every length around
// both block sizes (64 and 128 bytes), and refuses any other size.
void test_sha_digest_matches_evp(void** state) {
  const struct {
    int bits;
    const EVP_MD* md;
  } cases[] = {{256, EVP_sha256()}, {384, EVP_sha384()}, {512, EVP_sha512()}};
  for (const auto& c : cases) {
    std::string data;
    for (size_t n = 0; n <= 300; ++n) {
      uint8_t d[64], e[64];
      size_t len = 0;
      unsigned int elen = 0;
      assert_true(tasker::shaDigest(c.bits, data, d, &len));
      assert_int_equal(EVP_Digest(data.data(), data.size(), e, &elen, c.md, nullptr), 1);
      assert_int_equal(len, elen);
      assert_int_equal(len, static_cast<size_t>(c.bits / 8));
      assert_memory_equal(d, e, len);
      data.push_back(static_cast<char>('A' + n * 7 % 251));
    }
  }
  uint8_t d[64];
  size_t len = 99;
  for (int bits : {0, 1, 160, 224, 255, 257, 1024, -256}) {
    assert_false(tasker::shaDigest(bits, "abc", d, &len));
    assert_int_equal(len, 0);
  }
}

}  // namespace

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_digest_known_vectors),
      cmocka_unit_test(test_digest_binary_input),
      cmocka_unit_test(test_digest_million_a),
      cmocka_unit_test(test_digest_matches_evp),
      cmocka_unit_test(test_sha_digest_matches_evp),
  };
  return cmocka_run_group_tests_name("digest", tests, nullptr, nullptr);
}
