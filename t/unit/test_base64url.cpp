// Unit tests for src/base64url.cpp: strict unpadded base64url (RFC 4648 section 5).
#include "base64url.h"

#include "test_helpers.h"

namespace tasker {
namespace {

Status decode(std::string_view in, std::string* out = nullptr) {
  std::string scratch;
  return base64urlDecode(in, out ? out : &scratch);
}

void test_base64url_encode_rfc4648_vectors(void** state) {
  assert_str(base64urlEncode(""), "");
  assert_str(base64urlEncode("f"), "Zg");
  assert_str(base64urlEncode("fo"), "Zm8");
  assert_str(base64urlEncode("foo"), "Zm9v");
  assert_str(base64urlEncode("foob"), "Zm9vYg");
  assert_str(base64urlEncode("fooba"), "Zm9vYmE");
  assert_str(base64urlEncode("foobar"), "Zm9vYmFy");
  // The url-safe alphabet: standard base64 of fb ff bf is "+/+/".
  assert_str(base64urlEncode("\xfb\xff\xbf"), "-_-_");
}

void test_base64url_decode_rfc4648_vectors(void** state) {
  std::string out;
  assert_status(decode("", &out), Status::Ok);
  assert_str(out, "");
  assert_status(decode("Zg", &out), Status::Ok);
  assert_str(out, "f");
  assert_status(decode("Zm8", &out), Status::Ok);
  assert_str(out, "fo");
  assert_status(decode("Zm9vYmFy", &out), Status::Ok);
  assert_str(out, "foobar");
  assert_status(decode("-_-_", &out), Status::Ok);
  assert_str(out, "\xfb\xff\xbf");
}

void test_base64url_roundtrip_every_length_and_byte(void** state) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len = 0; len <= all.size(); ++len) {
    std::string bytes = all.substr(256 - len);
    std::string enc = base64urlEncode(bytes);
    assert_int_equal(enc.size(), (len * 4 + 2) / 3);
    assert_true(enc.find_first_of("=+/") == std::string::npos);
    std::string dec;
    assert_status(decode(enc, &dec), Status::Ok);
    assert_true(dec == bytes);
  }
}

void test_base64url_rejects_padding(void** state) {
  assert_status(decode("Zg=="), Status::TokenBadEncoding);
  assert_status(decode("Zg="), Status::TokenBadEncoding);
  assert_status(decode("Zm8="), Status::TokenBadEncoding);
  assert_status(decode("Zm9v===="), Status::TokenBadEncoding);
  assert_status(decode("="), Status::TokenBadEncoding);
  assert_status(decode("Zm=v"), Status::TokenBadEncoding);
}

void test_base64url_rejects_standard_alphabet(void** state) {
  assert_status(decode("+/+/"), Status::TokenBadEncoding);
  assert_status(decode("Zm9+"), Status::TokenBadEncoding);
  assert_status(decode("Zm9/"), Status::TokenBadEncoding);
  assert_status(decode("a+bc"), Status::TokenBadEncoding);
}

void test_base64url_rejects_whitespace(void** state) {
  assert_status(decode("Zm9v\n"), Status::TokenBadEncoding);
  assert_status(decode(" Zm9v"), Status::TokenBadEncoding);
  assert_status(decode("Zm 9v"), Status::TokenBadEncoding);
  assert_status(decode("Zm9v\t"), Status::TokenBadEncoding);
  assert_status(decode("Zm9v\r\n"), Status::TokenBadEncoding);
}

void test_base64url_rejects_other_bytes(void** state) {
  const char* bad[] = {".", "~", "!", "Zm9v.", "Zm9*", "%3D"};
  for (const char* b : bad) assert_status(decode(b), Status::TokenBadEncoding);
  assert_status(decode(std::string_view("Zm\0v", 4)), Status::TokenBadEncoding);
  assert_status(decode("Zm\x80v"), Status::TokenBadEncoding);
  assert_status(decode("Zm\xffv"), Status::TokenBadEncoding);
}

void test_base64url_rejects_impossible_length(void** state) {
  assert_status(decode("A"), Status::TokenBadEncoding);
  assert_status(decode("Zm9vY"), Status::TokenBadEncoding);
  assert_status(decode("Zm9vYmFyZ"), Status::TokenBadEncoding);
}

void test_base64url_rejects_nonzero_trailing_bits(void** state) {
  // Two characters carry 12 bits for one byte: the low 4 bits must be zero, so exactly four
  // second characters are canonical. Three characters carry 18 bits for two bytes: 2 spare bits.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  int ok2 = 0, ok3 = 0;
  for (char c : alphabet) {
    if (decode(std::string("Z") + c) == Status::Ok) ++ok2;
    if (decode(std::string("Zm") + c) == Status::Ok) ++ok3;
  }
  assert_int_equal(ok2, 4);
  assert_int_equal(ok3, 16);
  assert_status(decode("Zh"), Status::TokenBadEncoding);   // "Zg" is canonical
  assert_status(decode("Zm9"), Status::TokenBadEncoding);  // "Zm8" is canonical
}

void test_base64url_failure_clears_output(void** state) {
  std::string out = "stale";
  assert_status(decode("Zm9vYmF=", &out), Status::TokenBadEncoding);
  assert_true(out.empty());
  out = "stale";
  assert_status(decode("Zh", &out), Status::TokenBadEncoding);
  assert_true(out.empty());
}

void test_base64url_rejects_any_bad_byte_in_any_position(void** state) {
  // The table decoder judges a whole run at once: a bad byte must be caught wherever it sits,
  // in a full quad or in the 2- or 3-character tail.
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const std::string good = "QUJDREVGR0hJSktM";  // 16 chars; tails come from its prefixes
  for (size_t len : {6u, 7u, 16u}) {
    std::string base = len == 16 ? good : good.substr(0, 4) + (len == 6 ? "QQ" : "QUI");
    for (size_t pos = 0; pos < base.size(); ++pos) {
      for (int c = 0; c < 256; ++c) {
        if (kAlphabet.find(static_cast<char>(c)) != std::string::npos) continue;
        std::string in = base;
        in[pos] = static_cast<char>(c);
        assert_status(decode(in), Status::TokenBadEncoding);
      }
    }
    assert_status(decode(base), Status::Ok);
  }
}

}  // namespace
}  // namespace tasker

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_base64url_encode_rfc4648_vectors),
      cmocka_unit_test(test_base64url_decode_rfc4648_vectors),
      cmocka_unit_test(test_base64url_roundtrip_every_length_and_byte),
      cmocka_unit_test(test_base64url_rejects_padding),
      cmocka_unit_test(test_base64url_rejects_standard_alphabet),
      cmocka_unit_test(test_base64url_rejects_whitespace),
      cmocka_unit_test(test_base64url_rejects_other_bytes),
      cmocka_unit_test(test_base64url_rejects_impossible_length),
      cmocka_unit_test(test_base64url_rejects_nonzero_trailing_bits),
      cmocka_unit_test(test_base64url_failure_clears_output),
      cmocka_unit_test(test_base64url_rejects_any_bad_byte_in_any_position),
  };
  return cmocka_run_group_tests_name("base64url", tests, nullptr, nullptr);
}
