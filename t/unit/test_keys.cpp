// Unit tests for src/keys.cpp: PEM public keys and JWKS documents into a KeySet.
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "json.h"
#include "tasker_limits.h"
#include "test_cert.h"
#include "test_helpers.h"

namespace tasker {
namespace {

using test::cachedKey;
using test::jwks;
using test::pemOf;
using test::publicJwkOf;
using test::q;
using test::rawKey;

// ---- fixtures -----------------------------------------------------------------------------

// Owns an EVP_PKEY for the length of one test.
struct Raw {
  explicit Raw(EVP_PKEY* k) : pkey(k) {}
  ~Raw() { EVP_PKEY_free(pkey); }
  EVP_PKEY* pkey;
};

std::string pemBlock(const char* label, const std::string& der, const char* header = "") {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio(bio, label, header, reinterpret_cast<const unsigned char*>(der.data()),
                static_cast<long>(der.size()));
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string spkiDer(EVP_PKEY* pkey) {
  unsigned char* buf = nullptr;
  int len = i2d_PUBKEY(pkey, &buf);
  std::string der(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return der;
}

// "BEGIN RSA PUBLIC KEY" (PKCS#1 RSAPublicKey) of an RSA key.
std::string pkcs1PublicPem(EVP_PKEY* pkey) {
  unsigned char* buf = nullptr;
  int len = i2d_PublicKey(pkey, &buf);
  if (len <= 0) fail_msg("i2d_PublicKey failed");
  std::string der(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return pemBlock("RSA PUBLIC KEY", der);
}

// A self-signed certificate for pkey.
std::string certPem(EVP_PKEY* pkey) {
  X509* x = tasker::test::selfSignedX509(pkey, "tasker");
  std::string out = tasker::test::x509Pem(x);
  X509_free(x);
  return out;
}

std::string bnB64(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) fail_msg("get_bn_param %s", name);
  std::string bytes(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(&bytes[0]));
  BN_free(bn);
  return base64urlEncode(bytes);
}

// An RSA JWK for any RSA key (also ones SigningKey refuses, like 1024 bits).
std::string rsaJwk(EVP_PKEY* pkey, const std::string& kid) {
  return "{\"kty\":\"RSA\",\"kid\":" + q(kid) + ",\"n\":" + q(bnB64(pkey, OSSL_PKEY_PARAM_RSA_N)) +
         ",\"e\":" + q(bnB64(pkey, OSSL_PKEY_PARAM_RSA_E)) + "}";
}

// The JWK text of a cached key with `kid`, with member `name` set to raw JSON (or removed when
// raw is empty).
std::string editedJwk(KeyType type, const std::string& kid, const std::string& name,
                      const std::string& raw) {
  JsonPtr j;
  assert_status(jsonParseObject(publicJwkOf(cachedKey(type, 0), kid), &j), Status::Ok);
  if (raw.empty()) {
    json_object_del(j.get(), name.c_str());
  } else {
    json_error_t err;
    json_t* v = json_loads(raw.c_str(), JSON_DECODE_ANY, &err);
    if (v == nullptr) fail_msg("bad raw JSON %s", raw.c_str());
    json_object_set_new(j.get(), name.c_str(), v);
  }
  return jsonCompact(j.get());
}

Status fromJwks(const std::string& doc, KeySetConstPtr* ks = nullptr,
                std::vector<std::string>* skipped = nullptr) {
  KeySetConstPtr scratch;
  return KeySet::fromJwks(doc, ks ? ks : &scratch, skipped);
}

Status fromPem(const std::string& pem, KeySetConstPtr* ks = nullptr) {
  KeySetConstPtr scratch;
  return KeySet::fromPem(pem, ks ? ks : &scratch);
}

// Exactly one key is skipped from a one-key document, with a reason mentioning `needle`.
void assertSkipped(const std::string& jwk, const char* needle) {
  std::vector<std::string> skipped;
  KeySetConstPtr ks;
  Status s = fromJwks(jwks({jwk}), &ks, &skipped);
  if (s != Status::JwksNoUsableKeys) fail_msg("%s: %s", jwk.c_str(), statusName(s));
  assert_null(ks.get());
  assert_int_equal(skipped.size(), 1);
  if (skipped[0].find(needle) == std::string::npos) {
    fail_msg("reason '%s' lacks '%s'", skipped[0].c_str(), needle);
  }
}

// ---- PEM ----------------------------------------------------------------------------------

void test_keys_pem_spki_rsa(void** state) {
  std::string pem;
  assert_status(cachedKey(KeyType::Rsa, 0).publicPem(&pem), Status::Ok);
  assert_true(pem.find("-----BEGIN PUBLIC KEY-----") == 0);
  KeySetConstPtr ks;
  assert_status(fromPem(pem, &ks), Status::Ok);
  assert_int_equal(ks->size(), 1);
  const VerifyKey* k = ks->first();
  assert_non_null(k);
  assert_int_equal(static_cast<int>(k->type()), static_cast<int>(KeyType::Rsa));
  assert_int_equal(k->bits(), 2048);
  assert_true(k->kid().empty());
  assert_false(k->jwkAlg().has_value());
  assert_non_null(k->evpPkey());
  assert_ptr_equal(ks->find(""), k);
}

void test_keys_pem_pkcs1_rsa(void** state) {
  Raw rsa(rawKey("RSA", nullptr, 3072));
  std::string pem = pkcs1PublicPem(rsa.pkey);
  assert_true(pem.find("-----BEGIN RSA PUBLIC KEY-----") == 0);
  KeySetConstPtr ks;
  assert_status(fromPem(pem, &ks), Status::Ok);
  assert_int_equal(static_cast<int>(ks->first()->type()), static_cast<int>(KeyType::Rsa));
  assert_int_equal(ks->first()->bits(), 3072);
}

void test_keys_pem_ec_curves(void** state) {
  struct {
    const char* curve;
    KeyType type;
    int bits;
  } cases[] = {{"P-256", KeyType::EcP256, 256},
               {"P-384", KeyType::EcP384, 384},
               {"P-521", KeyType::EcP521, 521}};
  for (const auto& c : cases) {
    Raw ec(rawKey("EC", c.curve));
    KeySetConstPtr ks;
    assert_status(fromPem(pemOf(ec.pkey, false), &ks), Status::Ok);
    assert_int_equal(static_cast<int>(ks->first()->type()), static_cast<int>(c.type));
    assert_int_equal(ks->first()->bits(), c.bits);
  }
}

void test_keys_pem_ed25519(void** state) {
  std::string pem;
  assert_status(cachedKey(KeyType::Ed25519, 0).publicPem(&pem), Status::Ok);
  KeySetConstPtr ks;
  assert_status(fromPem(pem, &ks), Status::Ok);
  assert_int_equal(static_cast<int>(ks->first()->type()), static_cast<int>(KeyType::Ed25519));
}

void test_keys_pem_private_keys_rejected(void** state) {
  std::string pkcs8;
  assert_status(cachedKey(KeyType::Rsa, 0).privatePem(&pkcs8), Status::Ok);
  assert_status(fromPem(pkcs8), Status::KeyInvalidPem);
  std::string ec8;
  assert_status(cachedKey(KeyType::EcP256, 0).privatePem(&ec8), Status::Ok);
  assert_status(fromPem(ec8), Status::KeyInvalidPem);
  // Traditional forms: "RSA PRIVATE KEY" and "EC PRIVATE KEY".
  for (KeyType t : {KeyType::Rsa, KeyType::EcP256}) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey_traditional(bio, static_cast<EVP_PKEY*>(cachedKey(t, 0).evpPkey()),
                                         nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<size_t>(len));
    BIO_free(bio);
    assert_true(pem.find("PRIVATE KEY-----") != std::string::npos);
    assert_status(fromPem(pem), Status::KeyInvalidPem);
  }
  // A private key first, then the public key: refused for holding two blocks (see below).
  std::string pub;
  assert_status(cachedKey(KeyType::Rsa, 0).publicPem(&pub), Status::Ok);
  assert_status(fromPem(pkcs8 + pub), Status::KeyMultiplePemBlocks);
}

void test_keys_pem_certificate_rejected(void** state) {
  Raw ec(rawKey("EC", "P-256"));
  std::string cert = certPem(ec.pkey);
  assert_true(cert.find("-----BEGIN CERTIFICATE-----") == 0);
  assert_status(fromPem(cert), Status::KeyInvalidPem);
}

void test_keys_pem_garbage_rejected(void** state) {
  assert_status(fromPem(""), Status::KeyInvalidPem);
  assert_status(fromPem("hello world"), Status::KeyInvalidPem);
  assert_status(fromPem("-----BEGIN PUBLIC KEY-----\nnot base64!!\n-----END PUBLIC KEY-----\n"),
                Status::KeyInvalidPem);
  assert_status(fromPem("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"),
                Status::KeyInvalidPem);
  Raw ec(rawKey("EC", "P-256"));
  std::string der = spkiDer(ec.pkey);
  assert_status(fromPem(pemBlock("PUBLIC KEY", der)), Status::Ok);
  assert_status(fromPem(pemBlock("PUBLIC KEY", der.substr(0, der.size() - 1))),
                Status::KeyInvalidPem);
  assert_status(fromPem(pemBlock("PUBLIC KEY", der + "x")), Status::KeyInvalidPem);
  assert_status(fromPem(pemBlock("PUBLIC KEY", "\x30\x03\x02\x01\x01")), Status::KeyInvalidPem);
  // Encrypted-PEM headers never belong on a public key.
  assert_status(fromPem(pemBlock("PUBLIC KEY", der,
                                 "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
                                 "00112233445566778899AABBCCDDEEFF\n")),
                Status::KeyInvalidPem);
  // SPKI content under the PKCS#1 label.
  assert_status(fromPem(pemBlock("RSA PUBLIC KEY", der)), Status::KeyInvalidPem);
  assert_int_equal(ERR_peek_error(), 0);  // failures leave OpenSSL's error queue empty
}

void test_keys_pem_text_around_block_ok(void** state) {
  std::string pem;
  assert_status(cachedKey(KeyType::EcP256, 0).publicPem(&pem), Status::Ok);
  assert_status(fromPem("# issued by tasker-ctl\n" + pem + "trailing notes\n"), Status::Ok);
  // Comments in the shapes real key files have: several lines, blank lines, CRLF, the words
  // BEGIN/END without the dashes, a trailing line without a newline.
  std::string rsa;
  assert_status(cachedKey(KeyType::Rsa, 0).publicPem(&rsa), Status::Ok);
  KeySetConstPtr ks;
  assert_status(fromPem("Subject: tasker-core signing key\r\n"
                        "Paste between the BEGIN and END lines.\r\n\r\n" +
                            rsa + "\n# rotated 2026-12-01\n-- end of file --",
                        &ks),
                Status::Ok);
  assert_int_equal(ks->size(), 1);
  assert_int_equal(static_cast<int>(ks->first()->type()), static_cast<int>(KeyType::Rsa));
  assert_int_equal(pemBlockCount("# notes\n" + rsa + "# more notes\n"), 1);
}

void test_keys_pem_block_count(void** state) {
  assert_int_equal(pemBlockCount(""), 0);
  assert_int_equal(pemBlockCount("no markers here, BEGIN PUBLIC KEY"), 0);
  assert_int_equal(pemBlockCount("-----BEGIN"), 0);  // the marker ends with a space
  assert_int_equal(pemBlockCount("-----BEGIN X-----\n-----END X-----\n"), 1);
  assert_int_equal(pemBlockCount("-----BEGIN -----BEGIN -----BEGIN "), 3);
  assert_int_equal(pemBlockCount("a-----BEGIN X-----b-----BEGIN Y-----"), 2);  // not at line start
}

void test_keys_pem_two_public_keys_rejected(void** state) {
  // An RSA key then an EC key: before, tokens of the second key got 401 with nginx -t passing.
  std::string rsa, ec, ed;
  assert_status(cachedKey(KeyType::Rsa, 0).publicPem(&rsa), Status::Ok);
  assert_status(cachedKey(KeyType::EcP256, 0).publicPem(&ec), Status::Ok);
  assert_status(cachedKey(KeyType::Ed25519, 0).publicPem(&ed), Status::Ok);
  KeySetConstPtr ks;
  assert_status(fromPem(rsa + ec, &ks), Status::KeyMultiplePemBlocks);
  assert_null(ks.get());
  assert_int_equal(pemBlockCount(rsa + ec), 2);
  assert_status(fromPem(ec + "\n# the second key\n" + rsa), Status::KeyMultiplePemBlocks);
  assert_status(fromPem(rsa + rsa), Status::KeyMultiplePemBlocks);  // even the same key twice
  Raw raw(rawKey("RSA", nullptr, 2048));
  assert_status(fromPem(pkcs1PublicPem(raw.pkey) + rsa), Status::KeyMultiplePemBlocks);
  assert_status(fromPem(rsa + ec + ed), Status::KeyMultiplePemBlocks);
  assert_int_equal(pemBlockCount(rsa + ec + ed), 3);
  // A second block that is cut off or garbled still counts: nothing after the first is read.
  assert_status(fromPem(rsa + "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n"),
                Status::KeyMultiplePemBlocks);
  assert_status(fromPem(rsa + "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"),
                Status::KeyMultiplePemBlocks);
  assert_int_equal(ERR_peek_error(), 0);
}

void test_keys_pem_public_then_private_rejected(void** state) {
  // A private key anywhere in the text is refused, even after a valid public key.
  std::string pub, pkcs8, ec8;
  assert_status(cachedKey(KeyType::Rsa, 0).publicPem(&pub), Status::Ok);
  assert_status(cachedKey(KeyType::Rsa, 0).privatePem(&pkcs8), Status::Ok);
  assert_status(cachedKey(KeyType::EcP256, 0).privatePem(&ec8), Status::Ok);
  assert_status(fromPem(pub + pkcs8), Status::KeyMultiplePemBlocks);
  assert_status(fromPem(pub + "\n# and the private key:\n" + ec8), Status::KeyMultiplePemBlocks);
  // Traditional and encrypted private keys too.
  auto* rsa = static_cast<EVP_PKEY*>(cachedKey(KeyType::Rsa, 0).evpPkey());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey_traditional(bio, rsa, nullptr, nullptr, 0, nullptr, nullptr);
  static char pass[] = "secret";
  PEM_write_bio_PKCS8PrivateKey(bio, rsa, EVP_aes_128_cbc(), nullptr, 0, nullptr, pass);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string both(data, static_cast<size_t>(len));
  BIO_free(bio);
  assert_true(both.find("-----BEGIN RSA PRIVATE KEY-----") != std::string::npos);
  assert_true(both.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos);
  assert_status(fromPem(pub + both), Status::KeyMultiplePemBlocks);
  assert_int_equal(pemBlockCount(pub + both), 3);
  assert_int_equal(ERR_peek_error(), 0);
}

void test_keys_pem_public_and_certificate_rejected(void** state) {
  Raw ec(rawKey("EC", "P-256"));
  std::string cert = certPem(ec.pkey);
  std::string pub = pemOf(ec.pkey, false);
  assert_status(fromPem(pub), Status::Ok);
  assert_status(fromPem(pub + cert), Status::KeyMultiplePemBlocks);
  assert_status(fromPem(cert + pub), Status::KeyMultiplePemBlocks);
  assert_int_equal(ERR_peek_error(), 0);
}

void test_keys_pem_rsa_1024_too_small(void** state) {
  Raw rsa(rawKey("RSA", nullptr, 1024));
  assert_status(fromPem(pemOf(rsa.pkey, false)), Status::KeyTooSmall);
  assert_status(fromPem(pkcs1PublicPem(rsa.pkey)), Status::KeyTooSmall);
}

void test_keys_pem_unsupported_types(void** state) {
  const struct {
    const char* type;
    const char* curve;
  } cases[] = {{"EC", "P-224"},     {"EC", "secp256k1"}, {"EC", "brainpoolP256r1"},
               {"X25519", nullptr}, {"ED448", nullptr},  {"X448", nullptr}};
  for (const auto& c : cases) {
    Raw k(rawKey(c.type, c.curve));
    Status s = fromPem(pemOf(k.pkey, false));
    if (s != Status::KeyUnsupported) fail_msg("%s %s: %s", c.type, c.curve, statusName(s));
    assert_int_equal(ERR_peek_error(), 0);
  }
}

void test_keys_pem_file(void** state) {
  std::string pem;
  assert_status(cachedKey(KeyType::Ed25519, 0).publicPem(&pem), Status::Ok);
  char path[] = "/tmp/tasker_keys_test_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, pem.data(), pem.size()), static_cast<ssize_t>(pem.size()));
  close(fd);
  KeySetConstPtr ks;
  assert_status(KeySet::fromPemFile(path, &ks), Status::Ok);
  assert_int_equal(ks->size(), 1);
  // Two keys in the file: refused as a whole.
  std::string ec;
  assert_status(cachedKey(KeyType::EcP256, 0).publicPem(&ec), Status::Ok);
  FILE* f = fopen(path, "a");
  assert_non_null(f);
  assert_int_equal(fwrite(ec.data(), 1, ec.size(), f), ec.size());
  fclose(f);
  KeySetConstPtr two;
  assert_status(KeySet::fromPemFile(path, &two), Status::KeyMultiplePemBlocks);
  assert_null(two.get());
  unlink(path);
  assert_status(KeySet::fromPemFile(path, &ks), Status::KeyUnreadable);
  assert_status(KeySet::fromPemFile("/", &ks), Status::KeyUnreadable);
  assert_status(KeySet::fromPemFile("", &ks), Status::KeyUnreadable);
  assert_status(KeySet::fromPemFile("/dev/zero", &ks), Status::KeyUnreadable);
  // A FIFO is refused at once, not waited on (if this hangs, that is the failure).
  assert_int_equal(mkfifo(path, 0600), 0);
  assert_status(KeySet::fromPemFile(path, &ks), Status::KeyUnreadable);
  unlink(path);
}

void test_keys_create_rejects_null(void** state) {
  std::unique_ptr<VerifyKey> k;
  assert_status(VerifyKey::create(nullptr, "kid", std::nullopt, &k), Status::Internal);
  // An alg that does not fit the key type (ownership is taken even on failure).
  assert_status(VerifyKey::create(rawKey("ED25519"), "kid", Alg::RS256, &k),
                Status::KeyUnsupported);
  assert_status(VerifyKey::create(rawKey("ED25519"), "kid", Alg::EdDSA, &k), Status::Ok);
  assert_str(k->kid(), "kid");
  assert_true(k->jwkAlg() == Alg::EdDSA);
}

// ---- JWKS ---------------------------------------------------------------------------------

void test_keys_jwks_every_key_type(void** state) {
  std::vector<std::string> keys = {
      publicJwkOf(cachedKey(KeyType::Rsa, 0), "rsa"),
      publicJwkOf(cachedKey(KeyType::EcP256, 0), "p256"),
      publicJwkOf(cachedKey(KeyType::EcP384, 0), "p384"),
      publicJwkOf(cachedKey(KeyType::EcP521, 0), "p521"),
      publicJwkOf(cachedKey(KeyType::Ed25519, 0), "ed"),
  };
  std::vector<std::string> skipped;
  KeySetConstPtr ks;
  assert_status(fromJwks(jwks(keys), &ks, &skipped), Status::Ok);
  assert_int_equal(skipped.size(), 0);
  assert_int_equal(ks->size(), 5);
  const struct {
    const char* kid;
    KeyType type;
    Alg alg;
  } want[] = {{"rsa", KeyType::Rsa, Alg::RS256},
              {"p256", KeyType::EcP256, Alg::ES256},
              {"p384", KeyType::EcP384, Alg::ES384},
              {"p521", KeyType::EcP521, Alg::ES512},
              {"ed", KeyType::Ed25519, Alg::EdDSA}};
  for (const auto& w : want) {
    const VerifyKey* k = ks->find(w.kid);
    assert_non_null(k);
    assert_str(k->kid(), w.kid);
    assert_int_equal(static_cast<int>(k->type()), static_cast<int>(w.type));
    assert_true(k->jwkAlg() == w.alg);
  }
  assert_null(ks->find("nope"));
  assert_str(ks->first()->kid(), "rsa");
}

void test_keys_jwks_alg_and_use_optional(void** state) {
  std::string jwk = editedJwk(KeyType::Rsa, "k", "alg", "");
  JsonPtr j;
  assert_status(jsonParseObject(jwk, &j), Status::Ok);
  json_object_del(j.get(), "use");
  KeySetConstPtr ks;
  assert_status(fromJwks(jwks({jsonCompact(j.get())}), &ks), Status::Ok);
  assert_false(ks->find("k")->jwkAlg().has_value());
  // PS256 on an RSA key is a valid pairing.
  assert_status(fromJwks(jwks({editedJwk(KeyType::Rsa, "k", "alg", "\"PS384\"")}), &ks),
                Status::Ok);
  assert_true(ks->find("k")->jwkAlg() == Alg::PS384);
}

void test_keys_prepared_contexts_follow_key_type_and_jwk_alg(void** state) {
  // A verify context is prepared at load for every algorithm the key can verify, and only those.
  struct {
    KeyType type;
    std::vector<Alg> fitting;
  } cases[] = {
      {KeyType::Rsa, {Alg::RS256, Alg::RS384, Alg::RS512, Alg::PS256, Alg::PS384, Alg::PS512}},
      {KeyType::EcP256, {Alg::ES256}},
      {KeyType::Ed25519, {Alg::EdDSA}},
  };
  for (const auto& c : cases) {
    KeySetConstPtr ks = test::keySetFor(cachedKey(c.type, 0));
    for (int i = 0; i < kAlgCount; ++i) {
      Alg a = static_cast<Alg>(i);
      bool fits = std::find(c.fitting.begin(), c.fitting.end(), a) != c.fitting.end();
      // RSA and EC keys verify in place; pure EdDSA cannot take a prehashed input, so an
      // Ed25519 key keeps a context to copy instead.
      assert_int_equal(ks->first()->inPlaceVerifyCtx(a) != nullptr,
                       fits && c.type != KeyType::Ed25519);
      assert_int_equal(ks->first()->preparedVerifyCtx(a) != nullptr,
                       fits && c.type == KeyType::Ed25519);
    }
  }
  // A JWK that names its alg can only ever verify that one.
  KeySetConstPtr ks;
  assert_status(fromJwks(jwks({editedJwk(KeyType::Rsa, "k", "alg", "\"PS384\"")}), &ks),
                Status::Ok);
  for (int i = 0; i < kAlgCount; ++i) {
    Alg a = static_cast<Alg>(i);
    assert_int_equal(ks->find("k")->inPlaceVerifyCtx(a) != nullptr, a == Alg::PS384);
    assert_int_equal(ks->find("k")->preparedVerifyCtx(a) != nullptr, false);
  }
}

void test_keys_jwks_use_enc_skipped(void** state) {
  assertSkipped(editedJwk(KeyType::Rsa, "k", "use", "\"enc\""), "use is \"enc\"");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "use", "1"), "use is not a string");
  // A skipped key does not stop the others.
  std::vector<std::string> skipped;
  KeySetConstPtr ks;
  assert_status(fromJwks(jwks({editedJwk(KeyType::Rsa, "enc-key", "use", "\"enc\""),
                               publicJwkOf(cachedKey(KeyType::EcP256, 0), "sig-key")}),
                         &ks, &skipped),
                Status::Ok);
  assert_int_equal(ks->size(), 1);
  assert_non_null(ks->find("sig-key"));
  assert_null(ks->find("enc-key"));
  assert_int_equal(skipped.size(), 1);
  assert_true(skipped[0].find("enc-key") != std::string::npos);
}

void test_keys_jwks_missing_kid_skipped(void** state) {
  assertSkipped(publicJwkOf(cachedKey(KeyType::Ed25519, 0), ""), "no kid");
  assertSkipped(editedJwk(KeyType::Ed25519, "k", "kid", "\"\""), "no kid");
  assertSkipped(editedJwk(KeyType::Ed25519, "k", "kid", "7"), "kid is not a string");
}

void test_keys_jwks_small_rsa_skipped(void** state) {
  Raw rsa(rawKey("RSA", nullptr, 1024));
  assertSkipped(rsaJwk(rsa.pkey, "small"), "under 2048");
  Raw ok(rawKey("RSA", nullptr, 2048));
  KeySetConstPtr ks;
  assert_status(fromJwks(jwks({rsaJwk(ok.pkey, "big")}), &ks), Status::Ok);
  assert_int_equal(ks->find("big")->bits(), 2048);
}

void test_keys_jwks_malformed_rsa_members(void** state) {
  assertSkipped(editedJwk(KeyType::Rsa, "k", "n", ""), "\"n\" missing");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "e", ""), "\"e\" missing");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "n", "12345"), "\"n\" missing or not a string");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "n", "\"ab+c\""), "base64url");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "e", "\"AQAB==\""), "base64url");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "e", "\"\""), "base64url");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "e", "\"AQ\""), "not a valid value");    // e = 1
  assertSkipped(editedJwk(KeyType::Rsa, "k", "e", "\"AQAA\""), "not a valid value");  // even
  assertSkipped(editedJwk(KeyType::Rsa, "k", "e", q(base64urlEncode(std::string(9, '\x01')))),
                "exponent over 64 bits");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "n", q(base64urlEncode(std::string(2049, '\xff')))),
                "over 16384 bits");
}

void test_keys_jwks_malformed_ec_members(void** state) {
  assertSkipped(editedJwk(KeyType::EcP256, "k", "crv", "\"P-192\""), "unsupported EC crv");
  assertSkipped(editedJwk(KeyType::EcP256, "k", "crv", "\"secp256k1\""), "unsupported EC crv");
  assertSkipped(editedJwk(KeyType::EcP256, "k", "crv", ""), "\"crv\" missing");
  assertSkipped(editedJwk(KeyType::EcP256, "k", "x", ""), "\"x\" missing");
  assertSkipped(editedJwk(KeyType::EcP256, "k", "y", "null"), "\"y\" missing");
  assertSkipped(editedJwk(KeyType::EcP256, "k", "x", q(base64urlEncode(std::string(31, 'a')))),
                "not 32 bytes");
  // P-256 coordinates declared as P-384.
  assertSkipped(editedJwk(KeyType::EcP256, "k", "crv", "\"P-384\""), "not 48 bytes");
  // A point that is not on the curve: y + 1.
  JsonPtr j;
  assert_status(jsonParseObject(publicJwkOf(cachedKey(KeyType::EcP256, 0), "k"), &j), Status::Ok);
  std::string y;
  assert_status(base64urlDecode(jsonStringView(json_object_get(j.get(), "y")), &y), Status::Ok);
  y[31] = static_cast<char>(y[31] ^ 1);
  assertSkipped(editedJwk(KeyType::EcP256, "k", "y", q(base64urlEncode(y))), "not on the curve");
  // The all-zero point (infinity is not a valid public key).
  std::string zero = q(base64urlEncode(std::string(32, '\0')));
  std::string jwk = editedJwk(KeyType::EcP256, "k", "x", zero);
  assert_status(jsonParseObject(jwk, &j), Status::Ok);
  json_object_set_new(j.get(), "y", json_string(base64urlEncode(std::string(32, '\0')).c_str()));
  assertSkipped(jsonCompact(j.get()), "not on the curve");
}

void test_keys_jwks_malformed_okp_members(void** state) {
  assertSkipped(editedJwk(KeyType::Ed25519, "k", "crv", "\"X25519\""), "unsupported OKP crv");
  assertSkipped(editedJwk(KeyType::Ed25519, "k", "crv", "\"Ed448\""), "unsupported OKP crv");
  assertSkipped(editedJwk(KeyType::Ed25519, "k", "x", q(base64urlEncode(std::string(31, 'a')))),
                "not 32 bytes");
  assertSkipped(editedJwk(KeyType::Ed25519, "k", "x", "[]"), "\"x\" missing");
}

void test_keys_jwks_unknown_kty_and_alg_skipped(void** state) {
  assertSkipped("{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"c2VjcmV0\"}", "unsupported kty \"oct\"");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "kty", ""), "kty missing");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "kty", "\"rsa\""), "unsupported kty");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "alg", "\"HS256\""), "unsupported alg \"HS256\"");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "alg", "\"none\""), "unsupported alg");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "alg", "\"RSA-OAEP\""), "unsupported alg");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "alg", "[\"RS256\"]"), "alg is not a string");
  assertSkipped(editedJwk(KeyType::Rsa, "k", "alg", "\"ES256\""), "does not fit");
  assertSkipped(editedJwk(KeyType::EcP256, "k", "alg", "\"ES384\""), "does not fit");
  assertSkipped(editedJwk(KeyType::Ed25519, "k", "alg", "\"RS256\""), "does not fit");
  assertSkipped("\"just a string\"", "not a JSON object");
  assertSkipped("[]", "not a JSON object");
}

void test_keys_jwks_duplicate_kid_first_wins(void** state) {
  std::vector<std::string> skipped;
  KeySetConstPtr ks;
  assert_status(fromJwks(jwks({publicJwkOf(cachedKey(KeyType::Ed25519, 0), "same"),
                               publicJwkOf(cachedKey(KeyType::Rsa, 0), "same")}),
                         &ks, &skipped),
                Status::Ok);
  assert_int_equal(ks->size(), 1);
  assert_int_equal(static_cast<int>(ks->find("same")->type()), static_cast<int>(KeyType::Ed25519));
  assert_int_equal(skipped.size(), 1);
  assert_true(skipped[0].find("duplicate kid") != std::string::npos);
}

void test_keys_jwks_no_usable_keys(void** state) {
  assert_status(fromJwks("{\"keys\":[]}"), Status::JwksNoUsableKeys);
  assert_status(fromJwks(jwks({editedJwk(KeyType::Rsa, "a", "use", "\"enc\""),
                               publicJwkOf(cachedKey(KeyType::Rsa, 0), "")})),
                Status::JwksNoUsableKeys);
}

void test_keys_jwks_bad_json(void** state) {
  const std::string bad[] = {"",
                             "not json",
                             "[]",
                             "{}",
                             "{\"keys\":{}}",
                             "{\"keys\":null}",
                             "{\"Keys\":[]}",
                             "{\"keys\":[],\"keys\":[]}",
                             "{\"keys\":" + std::string(17, '[') + std::string(17, ']') + "}"};
  for (const std::string& b : bad) {
    Status s = fromJwks(b);
    if (s != Status::JwksBadJson) fail_msg("'%s': %s", b.c_str(), statusName(s));
  }
}

void test_keys_jwks_size_limit(void** state) {
  std::string doc = jwks({publicJwkOf(cachedKey(KeyType::Ed25519, 0), "k")});
  std::string at_limit = doc + std::string(kMaxJwksBytes - doc.size(), ' ');
  assert_int_equal(at_limit.size(), kMaxJwksBytes);
  assert_status(fromJwks(at_limit), Status::Ok);
  assert_status(fromJwks(at_limit + " "), Status::JwksTooLarge);
}

void test_keys_jwks_key_count_limit(void** state) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < kMaxJwksKeys + 3; ++i) {
    keys.push_back(publicJwkOf(cachedKey(KeyType::Ed25519, 0), "k" + std::to_string(i)));
  }
  std::vector<std::string> skipped;
  KeySetConstPtr ks;
  assert_status(fromJwks(jwks(keys), &ks, &skipped), Status::Ok);
  assert_int_equal(ks->size(), kMaxJwksKeys);
  assert_non_null(ks->find("k63"));
  assert_null(ks->find("k64"));
  assert_int_equal(skipped.size(), 1);
  assert_true(skipped[0].find("3 keys beyond the first 64") != std::string::npos);
}

void test_keys_jwks_skip_reasons_are_printable(void** state) {
  std::vector<std::string> skipped;
  std::string jwk = editedJwk(KeyType::Rsa, "x", "use", "\"enc\"");
  JsonPtr j;
  assert_status(jsonParseObject(jwk, &j), Status::Ok);
  json_object_set_new(j.get(), "kid", json_string("evil\nkid\x1b[31m\"quoted\""));
  assert_status(fromJwks(jwks({jsonCompact(j.get())}), nullptr, &skipped),
                Status::JwksNoUsableKeys);
  assert_int_equal(skipped.size(), 1);
  for (char c : skipped[0]) assert_true(c >= 0x20 && c < 0x7f);
  assert_int_equal(ERR_peek_error(), 0);
  assert_true(skipped[0].find("key #0 (kid \"evil?kid?[31m?quoted?\")") == 0);
  // skipped may be nullptr.
  assert_status(fromJwks(jwks({jwk}), nullptr, nullptr), Status::JwksNoUsableKeys);
}

}  // namespace
}  // namespace tasker

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keys_pem_spki_rsa),
      cmocka_unit_test(test_keys_prepared_contexts_follow_key_type_and_jwk_alg),
      cmocka_unit_test(test_keys_pem_pkcs1_rsa),
      cmocka_unit_test(test_keys_pem_ec_curves),
      cmocka_unit_test(test_keys_pem_ed25519),
      cmocka_unit_test(test_keys_pem_private_keys_rejected),
      cmocka_unit_test(test_keys_pem_certificate_rejected),
      cmocka_unit_test(test_keys_pem_garbage_rejected),
      cmocka_unit_test(test_keys_pem_text_around_block_ok),
      cmocka_unit_test(test_keys_pem_block_count),
      cmocka_unit_test(test_keys_pem_two_public_keys_rejected),
      cmocka_unit_test(test_keys_pem_public_then_private_rejected),
      cmocka_unit_test(test_keys_pem_public_and_certificate_rejected),
      cmocka_unit_test(test_keys_pem_rsa_1024_too_small),
      cmocka_unit_test(test_keys_pem_unsupported_types),
      cmocka_unit_test(test_keys_pem_file),
      cmocka_unit_test(test_keys_create_rejects_null),
      cmocka_unit_test(test_keys_jwks_every_key_type),
      cmocka_unit_test(test_keys_jwks_alg_and_use_optional),
      cmocka_unit_test(test_keys_jwks_use_enc_skipped),
      cmocka_unit_test(test_keys_jwks_missing_kid_skipped),
      cmocka_unit_test(test_keys_jwks_small_rsa_skipped),
      cmocka_unit_test(test_keys_jwks_malformed_rsa_members),
      cmocka_unit_test(test_keys_jwks_malformed_ec_members),
      cmocka_unit_test(test_keys_jwks_malformed_okp_members),
      cmocka_unit_test(test_keys_jwks_unknown_kty_and_alg_skipped),
      cmocka_unit_test(test_keys_jwks_duplicate_kid_first_wins),
      cmocka_unit_test(test_keys_jwks_no_usable_keys),
      cmocka_unit_test(test_keys_jwks_bad_json),
      cmocka_unit_test(test_keys_jwks_size_limit),
      cmocka_unit_test(test_keys_jwks_key_count_limit),
      cmocka_unit_test(test_keys_jwks_skip_reasons_are_printable),
  };
  return cmocka_run_group_tests_name("keys", tests, nullptr, nullptr);
}
