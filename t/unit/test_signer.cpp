// Unit tests for src/signer.cpp: key generation, private PEM forms, public exports, signing.
#include "signer.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "json.h"
#include "test_helpers.h"

namespace tasker {
namespace {

using test::cachedKey;
using test::pemOf;
using test::rawKey;

// RFC 8037 appendix A: the Ed25519 example key, its thumbprint and its signed example.
const char kRfc8037D[] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const char kRfc8037X[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const char kRfc8037Thumbprint[] = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
const char kRfc8037Jws[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

const KeyType kAllTypes[] = {KeyType::Rsa, KeyType::EcP256, KeyType::EcP384, KeyType::EcP521,
                             KeyType::Ed25519};

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string traditionalPem(EVP_PKEY* pkey, const EVP_CIPHER* cipher = nullptr) {
  BIO* bio = BIO_new(BIO_s_mem());
  unsigned char pw[] = "secret";
  if (PEM_write_bio_PrivateKey_traditional(bio, pkey, cipher, cipher ? pw : nullptr, cipher ? 6 : 0,
                                           nullptr, nullptr) != 1) {
    fail_msg("PEM_write_bio_PrivateKey_traditional failed");
  }
  return bioText(bio);
}

Status loadPem(const std::string& pem, std::unique_ptr<SigningKey>* out = nullptr) {
  std::unique_ptr<SigningKey> scratch;
  return SigningKey::fromPem(pem, out ? out : &scratch);
}

std::string publicPemOf(const SigningKey& k) {
  std::string pem;
  assert_status(k.publicPem(&pem), Status::Ok);
  return pem;
}

// Verifies a JWS signature with OpenSSL directly, independent of verify.cpp. ECDSA signatures
// are expected as R||S; salt_len applies to PS*.
bool opensslVerify(const SigningKey& key, Alg alg, const std::string& token, int salt_len = -1) {
  test::Segments s = test::split(token);
  std::string input = s.header + "." + s.claims;
  std::string sig = test::signatureBytes(token);
  auto* pkey = static_cast<EVP_PKEY*>(key.evpPkey());
  if (alg == Alg::ES256 || alg == Alg::ES384 || alg == Alg::ES512) {
    size_t n = sig.size() / 2;
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(p, static_cast<int>(n), nullptr),
                   BN_bin2bn(p + n, static_cast<int>(n), nullptr));
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(es, &der);
    sig.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
  }
  const EVP_MD* md = nullptr;
  switch (alg) {
    case Alg::RS256:
    case Alg::PS256:
    case Alg::ES256:
      md = EVP_sha256();
      break;
    case Alg::RS384:
    case Alg::PS384:
    case Alg::ES384:
      md = EVP_sha384();
      break;
    case Alg::RS512:
    case Alg::PS512:
    case Alg::ES512:
      md = EVP_sha512();
      break;
    case Alg::EdDSA:
      break;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, pkey);
  if (alg == Alg::PS256 || alg == Alg::PS384 || alg == Alg::PS512) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_len);
  }
  int rc = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                            reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return rc == 1;
}

// ---- generation and PEM ---------------------------------------------------------------------

void test_signer_generate_each_algorithm(void** state) {
  const struct {
    KeyAlgorithm algorithm;
    KeyType type;
    Alg alg;
  } cases[] = {{KeyAlgorithm::Rsa, KeyType::Rsa, Alg::RS256},
               {KeyAlgorithm::EcP256, KeyType::EcP256, Alg::ES256},
               {KeyAlgorithm::Ed25519, KeyType::Ed25519, Alg::EdDSA}};
  for (const auto& c : cases) {
    std::unique_ptr<SigningKey> k;
    assert_status(SigningKey::generate(c.algorithm, 2048, &k), Status::Ok);
    assert_int_equal(static_cast<int>(k->type()), static_cast<int>(c.type));
    assert_int_equal(static_cast<int>(k->defaultAlg()), static_cast<int>(c.alg));
    assert_non_null(k->evpPkey());
  }
  assert_int_equal(static_cast<int>(cachedKey(KeyType::EcP384, 0).defaultAlg()),
                   static_cast<int>(Alg::ES384));
  assert_int_equal(static_cast<int>(cachedKey(KeyType::EcP521, 0).defaultAlg()),
                   static_cast<int>(Alg::ES512));
}

void test_signer_generate_rsa_size_limits(void** state) {
  std::unique_ptr<SigningKey> k;
  assert_status(SigningKey::generate(KeyAlgorithm::Rsa, 1024, &k), Status::KeyTooSmall);
  assert_status(SigningKey::generate(KeyAlgorithm::Rsa, 2047, &k), Status::KeyTooSmall);
  assert_status(SigningKey::generate(KeyAlgorithm::Rsa, 0, &k), Status::KeyTooSmall);
  assert_status(SigningKey::generate(KeyAlgorithm::Rsa, 16385, &k), Status::KeyUnsupported);
  assert_null(k.get());
}

void test_signer_private_pem_is_pkcs8_and_roundtrips(void** state) {
  for (KeyType t : kAllTypes) {
    const SigningKey& k = cachedKey(t, 0);
    std::string pem;
    assert_status(k.privatePem(&pem), Status::Ok);
    assert_true(pem.find("-----BEGIN PRIVATE KEY-----") == 0);
    std::unique_ptr<SigningKey> back;
    assert_status(loadPem(pem, &back), Status::Ok);
    assert_int_equal(static_cast<int>(back->type()), static_cast<int>(t));
    assert_str(publicPemOf(*back), publicPemOf(k));
  }
}

void test_signer_from_pem_pkcs1_and_sec1(void** state) {
  for (KeyType t : {KeyType::Rsa, KeyType::EcP256, KeyType::EcP384, KeyType::EcP521}) {
    const SigningKey& k = cachedKey(t, 0);
    std::string pem = traditionalPem(static_cast<EVP_PKEY*>(k.evpPkey()));
    const char* label =
        t == KeyType::Rsa ? "-----BEGIN RSA PRIVATE KEY-----" : "-----BEGIN EC PRIVATE KEY-----";
    assert_true(pem.find(label) == 0);
    std::unique_ptr<SigningKey> back;
    assert_status(loadPem(pem, &back), Status::Ok);
    assert_int_equal(static_cast<int>(back->type()), static_cast<int>(t));
    assert_str(publicPemOf(*back), publicPemOf(k));
  }
  // `openssl ecparam -genkey` output: an EC PARAMETERS block before the key.
  std::string params =
      "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
  std::string sec1 =
      traditionalPem(static_cast<EVP_PKEY*>(cachedKey(KeyType::EcP256, 0).evpPkey()));
  assert_status(loadPem(params + sec1), Status::Ok);
}

// Two keys in one file: the first is not taken silently (the module refuses such key text too).
void test_signer_from_pem_rejects_several_blocks(void** state) {
  std::string rsa, ec;
  assert_status(cachedKey(KeyType::Rsa, 0).privatePem(&rsa), Status::Ok);
  assert_status(cachedKey(KeyType::EcP256, 0).privatePem(&ec), Status::Ok);
  const std::string pub = publicPemOf(cachedKey(KeyType::Rsa, 0));
  assert_status(loadPem(rsa + ec), Status::KeyMultiplePemBlocks);
  assert_status(loadPem(rsa + rsa), Status::KeyMultiplePemBlocks);
  assert_status(loadPem(rsa + pub), Status::KeyMultiplePemBlocks);
  assert_status(loadPem(pub + rsa), Status::KeyMultiplePemBlocks);
  assert_status(loadPem("# -----BEGIN nothing\n" + rsa), Status::KeyMultiplePemBlocks);
  assert_status(loadPem("comment before\n" + rsa + "comment after\n"), Status::Ok);
}

void test_signer_from_pem_rejects_public_and_garbage(void** state) {
  assert_status(loadPem(publicPemOf(cachedKey(KeyType::Rsa, 0))), Status::KeyInvalidPem);
  assert_status(loadPem(publicPemOf(cachedKey(KeyType::Ed25519, 0))), Status::KeyInvalidPem);
  assert_status(loadPem(""), Status::KeyInvalidPem);
  assert_status(loadPem("garbage"), Status::KeyInvalidPem);
  assert_status(loadPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
                Status::KeyInvalidPem);
}

void test_signer_from_pem_rejects_encrypted_without_prompting(void** state) {
  auto* pkey = static_cast<EVP_PKEY*>(cachedKey(KeyType::EcP256, 0).evpPkey());
  BIO* bio = BIO_new(BIO_s_mem());
  char pw[] = "secret";
  PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_128_cbc(), pw, 6, nullptr, nullptr);
  std::string pkcs8 = bioText(bio);
  assert_true(pkcs8.find("ENCRYPTED PRIVATE KEY") != std::string::npos);
  assert_status(loadPem(pkcs8), Status::KeyInvalidPem);
  std::string trad = traditionalPem(pkey, EVP_aes_128_cbc());
  assert_true(trad.find("Proc-Type: 4,ENCRYPTED") != std::string::npos);
  assert_status(loadPem(trad), Status::KeyInvalidPem);
}

void test_signer_from_pem_rejects_small_and_unsupported(void** state) {
  EVP_PKEY* small = rawKey("RSA", nullptr, 1024);
  assert_status(loadPem(pemOf(small, true)), Status::KeyTooSmall);
  EVP_PKEY_free(small);
  const struct {
    const char* type;
    const char* curve;
  } cases[] = {{"EC", "P-224"}, {"X25519", nullptr}, {"ED448", nullptr}};
  for (const auto& c : cases) {
    EVP_PKEY* k = rawKey(c.type, c.curve);
    assert_status(loadPem(pemOf(k, true)), Status::KeyUnsupported);
    EVP_PKEY_free(k);
  }
}

void test_signer_public_pem_is_spki(void** state) {
  for (KeyType t : kAllTypes) {
    std::string pem = publicPemOf(cachedKey(t, 0));
    assert_true(pem.find("-----BEGIN PUBLIC KEY-----") == 0);
    KeySetConstPtr ks;
    assert_status(KeySet::fromPem(pem, &ks), Status::Ok);
    assert_int_equal(static_cast<int>(ks->first()->type()), static_cast<int>(t));
  }
}

// ---- JWK and thumbprint ---------------------------------------------------------------------

std::unique_ptr<SigningKey> rfc8037Key() {
  std::string d;
  assert_status(base64urlDecode(kRfc8037D, &d), Status::Ok);
  EVP_PKEY* raw = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(d.data()), d.size());
  assert_non_null(raw);
  std::unique_ptr<SigningKey> k;
  assert_status(loadPem(pemOf(raw, true), &k), Status::Ok);
  EVP_PKEY_free(raw);
  return k;
}

void test_signer_rfc8037_thumbprint_and_jwk(void** state) {
  std::unique_ptr<SigningKey> k = rfc8037Key();
  std::string tp;
  assert_status(k->thumbprint(&tp), Status::Ok);
  assert_str(tp, kRfc8037Thumbprint);
  std::string jwk;
  assert_status(k->publicJwk("", &jwk), Status::Ok);
  assert_str(jwk, std::string("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"") + kRfc8037X +
                      "\",\"use\":\"sig\",\"alg\":\"EdDSA\"}");
}

void test_signer_rfc8037_eddsa_signature(void** state) {
  std::unique_ptr<SigningKey> k = rfc8037Key();
  std::string token;
  assert_status(
      signJwt(*k, Alg::EdDSA, "{\"alg\":\"EdDSA\"}", "Example of Ed25519 signing", &token),
      Status::Ok);
  assert_str(token, kRfc8037Jws);
}

void test_signer_thumbprint_is_canonical_sha256(void** state) {
  for (KeyType t : kAllTypes) {
    const SigningKey& k = cachedKey(t, 0);
    std::string jwk;
    assert_status(k.publicJwk("kid", &jwk), Status::Ok);
    JsonPtr j;
    assert_status(jsonParseObject(jwk, &j), Status::Ok);
    // RFC 7638 3.2: required members, lexicographic order, no whitespace.
    const char* members[4] = {nullptr, nullptr, nullptr, nullptr};
    if (t == KeyType::Rsa) {
      members[0] = "e", members[1] = "kty", members[2] = "n";
    } else if (t == KeyType::Ed25519) {
      members[0] = "crv", members[1] = "kty", members[2] = "x";
    } else {
      members[0] = "crv", members[1] = "kty", members[2] = "x", members[3] = "y";
    }
    std::string canon = "{";
    for (const char* m : members) {
      if (m == nullptr) break;
      if (canon.size() > 1) canon += ",";
      canon += "\"" + std::string(m) + "\":\"" +
               std::string(jsonStringView(json_object_get(j.get(), m))) + "\"";
    }
    canon += "}";
    unsigned char md[32];
    unsigned int md_len = 0;
    EVP_Digest(canon.data(), canon.size(), md, &md_len, EVP_sha256(), nullptr);
    std::string tp;
    assert_status(k.thumbprint(&tp), Status::Ok);
    assert_int_equal(tp.size(), 43);
    assert_str(tp, base64urlEncode(std::string(reinterpret_cast<char*>(md), md_len)));
    std::string other;
    assert_status(cachedKey(t, 1).thumbprint(&other), Status::Ok);
    assert_true(other != tp);
  }
}

void test_signer_public_jwk_members(void** state) {
  const struct {
    KeyType type;
    const char* kty;
    const char* crv;
    size_t coord;
    const char* alg;
  } cases[] = {{KeyType::Rsa, "RSA", nullptr, 0, "RS256"},
               {KeyType::EcP256, "EC", "P-256", 32, "ES256"},
               {KeyType::EcP384, "EC", "P-384", 48, "ES384"},
               {KeyType::EcP521, "EC", "P-521", 66, "ES512"},
               {KeyType::Ed25519, "OKP", "Ed25519", 32, "EdDSA"}};
  for (const auto& c : cases) {
    std::string jwk;
    assert_status(cachedKey(c.type, 0).publicJwk("my \"kid\"", &jwk), Status::Ok);
    JsonPtr j;
    assert_status(jsonParseObject(jwk, &j), Status::Ok);
    auto str = [&](const char* name) {
      return std::string(jsonStringView(json_object_get(j.get(), name)));
    };
    assert_str(str("kty"), c.kty);
    assert_str(str("kid"), "my \"kid\"");
    assert_str(str("use"), "sig");
    assert_str(str("alg"), c.alg);
    assert_null(json_object_get(j.get(), "d"));  // never private material
    std::string bytes;
    if (c.crv == nullptr) {
      assert_str(str("e"), "AQAB");
      assert_status(base64urlDecode(str("n"), &bytes), Status::Ok);
      assert_int_equal(bytes.size(), 256);
      assert_true(bytes[0] != '\0');
    } else {
      assert_str(str("crv"), c.crv);
      assert_status(base64urlDecode(str("x"), &bytes), Status::Ok);
      assert_int_equal(bytes.size(), c.coord);
      if (c.type != KeyType::Ed25519) {
        assert_status(base64urlDecode(str("y"), &bytes), Status::Ok);
        assert_int_equal(bytes.size(), c.coord);
      } else {
        assert_null(json_object_get(j.get(), "y"));
      }
    }
  }
  std::string no_kid;
  assert_status(cachedKey(KeyType::Rsa, 0).publicJwk("", &no_kid), Status::Ok);
  assert_true(no_kid.find("\"kid\"") == std::string::npos);
}

// ---- signing --------------------------------------------------------------------------------

void test_signer_sign_rejects_alg_key_mismatch(void** state) {
  std::string token = "unchanged";
  assert_status(signJwt(cachedKey(KeyType::Rsa, 0), Alg::ES256, "{}", "{}", &token),
                Status::TokenAlgKeyMismatch);
  assert_status(signJwt(cachedKey(KeyType::EcP256, 0), Alg::ES384, "{}", "{}", &token),
                Status::TokenAlgKeyMismatch);
  assert_status(signJwt(cachedKey(KeyType::EcP384, 0), Alg::ES256, "{}", "{}", &token),
                Status::TokenAlgKeyMismatch);
  assert_status(signJwt(cachedKey(KeyType::Ed25519, 0), Alg::RS256, "{}", "{}", &token),
                Status::TokenAlgKeyMismatch);
  assert_status(signJwt(cachedKey(KeyType::EcP521, 0), Alg::EdDSA, "{}", "{}", &token),
                Status::TokenAlgKeyMismatch);
  assert_str(token, "unchanged");
}

void test_signer_signs_header_and_claims_verbatim(void** state) {
  std::string token;
  assert_status(signJwt(cachedKey(KeyType::Ed25519, 0), Alg::EdDSA, "{ \"alg\" : \"x\" }",
                        "not even json", &token),
                Status::Ok);
  test::Segments s = test::split(token);
  assert_str(s.header, base64urlEncode("{ \"alg\" : \"x\" }"));
  assert_str(s.claims, base64urlEncode("not even json"));
}

void test_signer_signature_lengths_and_independent_verify(void** state) {
  const struct {
    Alg alg;
    size_t len;
  } cases[] = {{Alg::RS256, 256}, {Alg::RS384, 256}, {Alg::RS512, 256}, {Alg::PS256, 256},
               {Alg::PS384, 256}, {Alg::PS512, 256}, {Alg::ES256, 64},  {Alg::ES384, 96},
               {Alg::ES512, 132}, {Alg::EdDSA, 64}};
  for (const auto& c : cases) {
    // ECDSA: many signatures, so some have R or S with leading zero bytes; R||S stays fixed-size.
    int rounds = test::keyTypeFor(c.alg) == KeyType::Rsa ? 2 : 24;
    for (int i = 0; i < rounds; ++i) {
      std::string token = test::makeToken(c.alg);
      assert_int_equal(test::signatureBytes(token).size(), c.len);
      int salt = c.alg == Alg::PS256 ? 32 : c.alg == Alg::PS384 ? 48 : 64;
      if (!opensslVerify(test::keyFor(c.alg), c.alg, token, salt)) {
        fail_msg("%s signature does not verify independently", algName(c.alg));
      }
    }
  }
}

void test_signer_pss_salt_is_hash_length(void** state) {
  const struct {
    Alg alg;
    int salt;
  } cases[] = {{Alg::PS256, 32}, {Alg::PS384, 48}, {Alg::PS512, 64}};
  for (const auto& c : cases) {
    std::string token = test::makeToken(c.alg);
    assert_true(opensslVerify(test::keyFor(c.alg), c.alg, token, c.salt));
    assert_false(opensslVerify(test::keyFor(c.alg), c.alg, token, c.salt + 1));
    assert_false(opensslVerify(test::keyFor(c.alg), c.alg, token, 20));
    // PSS is randomised; PKCS#1 v1.5 is deterministic.
    assert_true(test::makeToken(c.alg) != token);
  }
  assert_str(test::makeToken(Alg::RS256), test::makeToken(Alg::RS256));
}

}  // namespace
}  // namespace tasker

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_signer_generate_each_algorithm),
      cmocka_unit_test(test_signer_generate_rsa_size_limits),
      cmocka_unit_test(test_signer_private_pem_is_pkcs8_and_roundtrips),
      cmocka_unit_test(test_signer_from_pem_pkcs1_and_sec1),
      cmocka_unit_test(test_signer_from_pem_rejects_several_blocks),
      cmocka_unit_test(test_signer_from_pem_rejects_public_and_garbage),
      cmocka_unit_test(test_signer_from_pem_rejects_encrypted_without_prompting),
      cmocka_unit_test(test_signer_from_pem_rejects_small_and_unsupported),
      cmocka_unit_test(test_signer_public_pem_is_spki),
      cmocka_unit_test(test_signer_rfc8037_thumbprint_and_jwk),
      cmocka_unit_test(test_signer_rfc8037_eddsa_signature),
      cmocka_unit_test(test_signer_thumbprint_is_canonical_sha256),
      cmocka_unit_test(test_signer_public_jwk_members),
      cmocka_unit_test(test_signer_sign_rejects_alg_key_mismatch),
      cmocka_unit_test(test_signer_signs_header_and_claims_verbatim),
      cmocka_unit_test(test_signer_signature_lengths_and_independent_verify),
      cmocka_unit_test(test_signer_pss_salt_is_hash_length),
  };
  return cmocka_run_group_tests_name("signer", tests, nullptr, nullptr);
}
