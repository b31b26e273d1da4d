// Unit tests for src/verify.cpp: bearer token verification (SPEC 3, 8) for all ten algorithms.
#include "verify.h"

#include <cstring>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "tasker_limits.h"
#include "test_helpers.h"

namespace tasker {
namespace {

using test::ClaimSet;
using test::defaultClaims;
using test::headerFor;
using test::kAllAlgs;
using test::keyFor;
using test::keySetFor;
using test::kNow;
using test::makeToken;
using test::optsFor;
using test::otherKeyFor;
using test::q;
using test::signRaw;
using test::verifyAt;
using test::verifyFor;

// A token for RS256 with claims; verified with module defaults at kNow.
Status verifyClaims(const ClaimSet& claims, int64_t now = kNow, VerifiedToken* vt = nullptr,
                    const VerifyOptions& opts = VerifyOptions()) {
  std::string token = makeToken(Alg::RS256, claims);
  static KeySetConstPtr ks = keySetFor(keyFor(Alg::RS256));
  return verifyAt(token, *ks, opts, now, vt);
}

// A token with the given header text and default claims, signed by keyFor(alg).
Status verifyHeader(Alg alg, const std::string& header, VerifiedToken* vt = nullptr) {
  std::string token = signRaw(keyFor(alg), alg, header, defaultClaims().json());
  return verifyFor(alg, token, kNow, vt);
}

void assertStrings(const std::vector<std::string>& got, const std::vector<std::string>& want) {
  if (got.size() != want.size()) fail_msg("%zu strings, want %zu", got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) assert_str(got[i], want[i]);
}

// ---- signatures ---------------------------------------------------------------------------

void test_verify_accepts_every_algorithm(void** state) {
  for (Alg alg : kAllAlgs) {
    VerifiedToken vt;
    Status s = verifyFor(alg, makeToken(alg), kNow, &vt);
    if (s != Status::Ok) fail_msg("%s: %s", algName(alg), statusName(s));
    assert_str(vt.subject, "user-1");
    assertStrings(vt.permissions, {"tasks:read", "tasks:list"});
    assert_true(vt.unknown.empty());
    assert_true(vt.grant.has(permissionIndex("tasks:read")));
    assert_true(vt.grant.has(permissionIndex("tasks:list")));
    assert_false(vt.grant.has(permissionIndex("tasks:create")));
    assert_non_null(vt.claims.get());
  }
}

void test_verify_allowlist_with_every_algorithm_enabled(void** state) {
  VerifyOptions all;
  all.algorithms = (1u << kAlgCount) - 1;
  for (Alg alg : kAllAlgs) {
    assert_status(verifyAt(makeToken(alg), *keySetFor(keyFor(alg)), all), Status::Ok);
  }
}

void test_verify_signature_bit_flip_sweep(void** state) {
  for (Alg alg : kAllAlgs) {
    std::string token = makeToken(alg);
    KeySetConstPtr ks = keySetFor(keyFor(alg));
    VerifyOptions opts = optsFor(alg);
    size_t len = test::signatureBytes(token).size();
    assert_status(verifyAt(token, *ks, opts), Status::Ok);
    for (size_t i = 0; i < len; ++i) {
      Status s = verifyAt(test::flipSignatureBit(token, i, static_cast<int>(i % 8)), *ks, opts);
      if (s != Status::TokenBadSignature) {
        fail_msg("%s: flipping byte %zu gave %s", algName(alg), i, statusName(s));
      }
      assert_int_equal(ERR_peek_error(), 0);  // failures leave OpenSSL's error queue empty
    }
  }
}

void test_verify_signature_truncation_sweep(void** state) {
  for (Alg alg : kAllAlgs) {
    std::string token = makeToken(alg);
    KeySetConstPtr ks = keySetFor(keyFor(alg));
    VerifyOptions opts = optsFor(alg);
    std::string sig = test::signatureBytes(token);
    for (size_t len = 0; len < sig.size(); ++len) {
      Status s = verifyAt(test::withSignature(token, sig.substr(0, len)), *ks, opts);
      if (s != Status::TokenBadSignature) {
        fail_msg("%s: truncated to %zu gave %s", algName(alg), len, statusName(s));
      }
    }
    // Dropping the first byte, or appending one, is no better.
    assert_status(verifyAt(test::withSignature(token, sig.substr(1)), *ks, opts),
                  Status::TokenBadSignature);
    assert_status(verifyAt(test::withSignature(token, sig + '\0'), *ks, opts),
                  Status::TokenBadSignature);
    assert_status(verifyAt(test::withSignature(token, std::string(sig.size(), '\0')), *ks, opts),
                  Status::TokenBadSignature);
  }
}

void test_verify_signing_input_sweep(void** state) {
  // Changing any character of the claims segment must never yield a valid token.
  const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (Alg alg : {Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA}) {
    std::string token = makeToken(alg);
    KeySetConstPtr ks = keySetFor(keyFor(alg));
    size_t start = token.find('.') + 1, end = token.rfind('.');
    for (size_t i = start; i < end; ++i) {
      std::string t = token;
      t[i] = alphabet[(std::strchr(alphabet, t[i]) - alphabet + 1) % 64];
      Status s = verifyAt(t, *ks, optsFor(alg));
      if (s == Status::Ok) fail_msg("%s: changing char %zu verified", algName(alg), i);
    }
  }
}

void test_verify_rejects_other_key_of_same_type(void** state) {
  for (Alg alg : kAllAlgs) {
    std::string token = signRaw(otherKeyFor(alg), alg, headerFor(alg), defaultClaims().json());
    assert_status(verifyFor(alg, token), Status::TokenBadSignature);
  }
}

void test_verify_rejects_alg_key_mismatch(void** state) {
  VerifyOptions all;
  all.algorithms = (1u << kAlgCount) - 1;
  // A valid ES256 token presented to an RSA key set, and the other way round.
  assert_status(verifyAt(makeToken(Alg::ES256), *keySetFor(keyFor(Alg::RS256)), all),
                Status::TokenAlgKeyMismatch);
  assert_status(verifyAt(makeToken(Alg::RS256), *keySetFor(keyFor(Alg::ES256)), all),
                Status::TokenAlgKeyMismatch);
  assert_status(verifyAt(makeToken(Alg::EdDSA), *keySetFor(keyFor(Alg::PS256)), all),
                Status::TokenAlgKeyMismatch);
  assert_status(verifyAt(makeToken(Alg::ES384), *keySetFor(keyFor(Alg::ES256)), all),
                Status::TokenAlgKeyMismatch);
  assert_status(verifyAt(makeToken(Alg::ES256), *keySetFor(keyFor(Alg::ES512)), all),
                Status::TokenAlgKeyMismatch);
  assert_status(verifyAt(makeToken(Alg::PS512), *keySetFor(keyFor(Alg::EdDSA)), all),
                Status::TokenAlgKeyMismatch);
}

void test_verify_rs256_header_with_ps256_signature(void** state) {
  VerifyOptions rs_ps;
  rs_ps.algorithms = algBit(Alg::RS256) | algBit(Alg::PS256);
  KeySetConstPtr ks = keySetFor(keyFor(Alg::RS256));
  // Same RSA key, header names one padding, signature uses the other.
  std::string claims = defaultClaims().json();
  std::string ps_as_rs = signRaw(keyFor(Alg::RS256), Alg::PS256, headerFor(Alg::RS256), claims);
  std::string rs_as_ps = signRaw(keyFor(Alg::RS256), Alg::RS256, headerFor(Alg::PS256), claims);
  assert_status(verifyAt(ps_as_rs, *ks, rs_ps), Status::TokenBadSignature);
  assert_status(verifyAt(rs_as_ps, *ks, rs_ps), Status::TokenBadSignature);
  std::string rs384_as_rs256 =
      signRaw(keyFor(Alg::RS256), Alg::RS384, headerFor(Alg::RS256), claims);
  assert_status(verifyAt(rs384_as_rs256, *ks, rs_ps), Status::TokenBadSignature);
}

// An RS/PS token signed by OpenSSL directly, with an explicit PSS salt length (-1: PKCS#1 v1.5).
std::string signWithSalt(Alg alg, const EVP_MD* md, int salt_len) {
  std::string input =
      base64urlEncode(headerFor(alg)) + "." + base64urlEncode(defaultClaims().json());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit(ctx, &pctx, md, nullptr, static_cast<EVP_PKEY*>(keyFor(alg).evpPkey()));
  if (salt_len >= 0) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_len);
  }
  size_t len = 512;
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(&sig[0]), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    fail_msg("EVP_DigestSign failed");
  }
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  return input + "." + base64urlEncode(sig);
}

void test_verify_pss_requires_hash_length_salt(void** state) {
  // RFC 7518 3.5: the salt is as long as the hash output; other salt lengths are refused.
  assert_status(verifyFor(Alg::PS256, signWithSalt(Alg::PS256, EVP_sha256(), 32)), Status::Ok);
  assert_status(verifyFor(Alg::PS384, signWithSalt(Alg::PS384, EVP_sha384(), 48)), Status::Ok);
  assert_status(verifyFor(Alg::PS512, signWithSalt(Alg::PS512, EVP_sha512(), 64)), Status::Ok);
  assert_status(verifyFor(Alg::PS256, signWithSalt(Alg::PS256, EVP_sha256(), 20)),
                Status::TokenBadSignature);
  assert_status(verifyFor(Alg::PS256, signWithSalt(Alg::PS256, EVP_sha256(), 0)),
                Status::TokenBadSignature);
  assert_status(verifyFor(Alg::PS512, signWithSalt(Alg::PS512, EVP_sha512(), 32)),
                Status::TokenBadSignature);
  // MGF1 and the message digest must both be the named hash.
  assert_status(verifyFor(Alg::PS256, signWithSalt(Alg::PS256, EVP_sha384(), 32)),
                Status::TokenBadSignature);
  assert_status(verifyFor(Alg::RS256, signWithSalt(Alg::RS256, EVP_sha256(), -1)), Status::Ok);
  assert_status(verifyFor(Alg::RS256, signWithSalt(Alg::RS256, EVP_sha512(), -1)),
                Status::TokenBadSignature);
  ERR_clear_error();
}

// RSA and EC keys verify in place through one EVP_PKEY_CTX per algorithm (keys.h): a rejected
// signature of any kind must leave that context able to accept the next good one, and never
// let a later bad one through, such as a wrong PSS salt, MGF1 or DigestInfo digest (verifyFor
// loads a fresh key set for every call, so the tests above never see a context that failed).
void test_verify_in_place_context_survives_failures(void** state) {
  for (Alg alg : kAllAlgs) {
    KeySetConstPtr ks = keySetFor(keyFor(alg));
    VerifyOptions opts = optsFor(alg);
    std::string good = makeToken(alg);
    std::string sig = test::signatureBytes(good);
    std::vector<std::string> bad = {
        test::flipSignatureBit(good, 0, 0), test::flipSignatureBit(good, sig.size() - 1, 7),
        test::withSignature(good, sig.substr(0, sig.size() / 2)),
        test::withSignature(good, std::string(sig.size(), '\xff')),
        signRaw(otherKeyFor(alg), alg, headerFor(alg), defaultClaims().json())};
    const bool pss = alg == Alg::PS256 || alg == Alg::PS384 || alg == Alg::PS512;
    if (pss || alg == Alg::RS256) {
      const EVP_MD* md = alg == Alg::PS384 ? EVP_sha384()
                         : alg == Alg::PS512 ? EVP_sha512()
                                             : EVP_sha256();
      const int hash_len = EVP_MD_get_size(md);
      good = signWithSalt(alg, md, pss ? hash_len : -1);
      bad.push_back(test::flipSignatureBit(good, 3, 1));
      bad.push_back(signWithSalt(alg, md == EVP_sha512() ? EVP_sha256() : EVP_sha512(),
                                 pss ? hash_len : -1));
      if (pss) {
        bad.push_back(signWithSalt(alg, md, 0));
        bad.push_back(signWithSalt(alg, md, hash_len - 12));
        bad.push_back(signWithSalt(alg, md, -2));  // the largest salt the key allows
      }
      ERR_clear_error();  // signing leaves nothing to the checks below
    }
    for (int round = 0; round < 3; ++round) {
      for (size_t i = 0; i < bad.size(); ++i) {
        assert_status(verifyAt(good, *ks, opts), Status::Ok);
        Status s = verifyAt(bad[i], *ks, opts);
        if (s != Status::TokenBadSignature) {
          fail_msg("%s round %d: bad signature %zu gave %s", algName(alg), round, i,
                   statusName(s));
        }
        assert_int_equal(ERR_peek_error(), 0);  // failures leave OpenSSL's error queue empty
      }
    }
    assert_status(verifyAt(good, *ks, opts), Status::Ok);
  }
}

void test_verify_jwk_alg_must_match_token_alg(void** state) {
  KeySetConstPtr ks;
  std::string jwk = test::publicJwkOf(keyFor(Alg::RS256), "k1");  // alg RS256
  assert_status(KeySet::fromJwks(test::jwks({jwk}), &ks, nullptr), Status::Ok);
  VerifyOptions opts;
  opts.require_kid = true;
  opts.algorithms = algBit(Alg::RS256) | algBit(Alg::PS256);
  std::string rs =
      signRaw(keyFor(Alg::RS256), Alg::RS256, headerFor(Alg::RS256, "k1"), defaultClaims().json());
  std::string ps =
      signRaw(keyFor(Alg::RS256), Alg::PS256, headerFor(Alg::PS256, "k1"), defaultClaims().json());
  assert_status(verifyAt(rs, *ks, opts), Status::Ok);
  assert_status(verifyAt(ps, *ks, opts), Status::TokenAlgKeyMismatch);
}

void test_verify_rejects_none_and_hs(void** state) {
  VerifyOptions all;
  all.algorithms = ~AlgMask{0};  // even an over-wide mask cannot enable them
  KeySetConstPtr ks = keySetFor(keyFor(Alg::RS256));
  std::string claims = base64urlEncode(defaultClaims().json());
  const char* algs[] = {"none", "None", "HS256", "HS384", "HS512", "rs256", "", "RS256 "};
  for (const char* a : algs) {
    std::string header = base64urlEncode("{\"alg\":" + q(a) + ",\"typ\":\"JWT\"}");
    assert_status(verifyAt(header + "." + claims + ".", *ks, all), Status::TokenAlgNotAllowed);
    assert_status(verifyAt(header + "." + claims + "." + base64urlEncode("mac"), *ks, all),
                  Status::TokenAlgNotAllowed);
  }
  // alg missing or not a string.
  for (const char* h :
       {"{\"typ\":\"JWT\"}", "{\"alg\":256}", "{\"alg\":null}", "{\"alg\":[\"RS256\"]}"}) {
    assert_status(verifyAt(base64urlEncode(h) + "." + claims + ".c2ln", *ks, all),
                  Status::TokenAlgNotAllowed);
  }
}

void test_verify_allowlist_enforced(void** state) {
  // Defaults allow RS256 only: a perfectly valid ES256 or PS256 token is refused.
  assert_status(verifyAt(makeToken(Alg::ES256), *keySetFor(keyFor(Alg::ES256)), VerifyOptions()),
                Status::TokenAlgNotAllowed);
  assert_status(verifyAt(makeToken(Alg::PS256), *keySetFor(keyFor(Alg::PS256)), VerifyOptions()),
                Status::TokenAlgNotAllowed);
  VerifyOptions none;
  none.algorithms = 0;
  assert_status(verifyAt(makeToken(Alg::RS256), *keySetFor(keyFor(Alg::RS256)), none),
                Status::TokenAlgNotAllowed);
}

// ---- header -------------------------------------------------------------------------------

void test_verify_rejects_crit(void** state) {
  assert_status(verifyHeader(Alg::ES256, "{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}"),
                Status::TokenCritUnsupported);
  assert_status(verifyHeader(Alg::ES256, "{\"alg\":\"ES256\",\"crit\":[]}"),
                Status::TokenCritUnsupported);
  assert_status(verifyHeader(Alg::ES256, "{\"alg\":\"ES256\",\"crit\":null}"),
                Status::TokenCritUnsupported);
}

void test_verify_ignores_jku_jwk_x5u_x5c_typ(void** state) {
  const SigningKey& attacker = otherKeyFor(Alg::ES256);
  std::string attacker_jwk = test::publicJwkOf(attacker, "evil");
  std::string header =
      "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"jku\":\"http://evil.example/j\","
      "\"x5u\":\"http://evil.example/c\",\"x5c\":[\"MIIB\"],\"jwk\":" +
      attacker_jwk + "}";
  // Signed by the configured key: the extra members change nothing.
  assert_status(verifyHeader(Alg::ES256, header), Status::Ok);
  // Signed by the key embedded in the header: still checked against the configured key.
  std::string forged = signRaw(attacker, Alg::ES256, header, defaultClaims().json());
  assert_status(verifyFor(Alg::ES256, forged), Status::TokenBadSignature);
  // No typ at all is fine too.
  assert_status(verifyHeader(Alg::ES256, "{\"alg\":\"ES256\"}"), Status::Ok);
}

void test_verify_duplicate_header_member(void** state) {
  assert_status(verifyHeader(Alg::EdDSA, "{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\"}"),
                Status::TokenDuplicateMember);
  assert_status(verifyHeader(Alg::EdDSA, "{\"alg\":\"EdDSA\",\"kid\":\"a\",\"kid\":\"b\"}"),
                Status::TokenDuplicateMember);
}

void test_verify_header_depth_16_ok_17_rejected(void** state) {
  auto header = [](size_t depth) {
    std::string inner = "1";
    for (size_t i = 1; i < depth; ++i) inner = "[" + inner + "]";
    return "{\"alg\":\"EdDSA\",\"x\":" + inner + "}";
  };
  assert_status(verifyHeader(Alg::EdDSA, header(kMaxJsonDepth)), Status::Ok);
  assert_status(verifyHeader(Alg::EdDSA, header(kMaxJsonDepth + 1)), Status::TokenBadJson);
}

void test_verify_header_not_object(void** state) {
  std::string claims = base64urlEncode(defaultClaims().json());
  KeySetConstPtr ks = keySetFor(keyFor(Alg::RS256));
  for (const char* h : {"[]", "\"RS256\"", "{\"alg\":\"RS256\"", "RS256"}) {
    assert_status(verifyAt(base64urlEncode(h) + "." + claims + ".c2ln", *ks, VerifyOptions()),
                  Status::TokenBadJson);
  }
}

void test_verify_kid_in_public_key_mode_is_ignored(void** state) {
  VerifiedToken vt;
  assert_status(
      verifyFor(Alg::ES384, makeToken(Alg::ES384, defaultClaims(), "whatever"), kNow, &vt),
      Status::Ok);
  assert_str(vt.kid, "whatever");
  assert_status(verifyHeader(Alg::ES384, "{\"alg\":\"ES384\",\"kid\":42}"), Status::Ok);
}

void test_verify_kid_in_jwks_mode(void** state) {
  KeySetConstPtr ks;
  assert_status(KeySet::fromJwks(test::jwks({test::publicJwkOf(keyFor(Alg::EdDSA), "ed-1"),
                                             test::publicJwkOf(keyFor(Alg::ES256), "ec-1"),
                                             test::publicJwkOf(otherKeyFor(Alg::ES256), "ec-2")}),
                                 &ks, nullptr),
                Status::Ok);
  VerifyOptions opts;
  opts.require_kid = true;
  opts.algorithms = algBit(Alg::EdDSA) | algBit(Alg::ES256);
  std::string claims = defaultClaims().json();
  VerifiedToken vt;

  // The kid selects the key, not the position in the set.
  std::string t2 =
      signRaw(otherKeyFor(Alg::ES256), Alg::ES256, headerFor(Alg::ES256, "ec-2"), claims);
  assert_status(verifyAt(t2, *ks, opts, kNow, &vt), Status::Ok);
  assert_str(vt.kid, "ec-2");
  assert_status(verifyAt(makeToken(Alg::EdDSA, defaultClaims(), "ed-1"), *ks, opts), Status::Ok);
  // Signed by ec-1's key but naming ec-2.
  std::string wrong =
      signRaw(keyFor(Alg::ES256), Alg::ES256, headerFor(Alg::ES256, "ec-2"), claims);
  assert_status(verifyAt(wrong, *ks, opts), Status::TokenBadSignature);
  // A kid of another key type.
  assert_status(verifyAt(makeToken(Alg::EdDSA, defaultClaims(), "ec-1"), *ks, opts),
                Status::TokenAlgKeyMismatch);

  assert_status(verifyAt(makeToken(Alg::ES256), *ks, opts), Status::TokenKidMissing);
  assert_status(
      verifyAt(signRaw(keyFor(Alg::ES256), Alg::ES256, "{\"alg\":\"ES256\",\"kid\":1}", claims),
               *ks, opts),
      Status::TokenKidMissing);
  assert_status(
      verifyAt(signRaw(keyFor(Alg::ES256), Alg::ES256, "{\"alg\":\"ES256\",\"kid\":\"\"}", claims),
               *ks, opts),
      Status::TokenKidMissing);
  assert_status(
      verifyAt(makeToken(Alg::ES256, defaultClaims(), "rotated-away"), *ks, opts, kNow, &vt),
      Status::TokenUnknownKid);
  assert_str(vt.kid, "rotated-away");
}

void test_verify_empty_key_set(void** state) {
  KeySet empty;
  VerifyOptions opts;
  assert_status(verifyAt(makeToken(Alg::RS256), empty, opts), Status::KeysUnavailable);
  opts.require_kid = true;
  assert_status(verifyAt(makeToken(Alg::RS256, defaultClaims(), "k"), empty, opts),
                Status::TokenUnknownKid);
}

// ---- structure and encoding ---------------------------------------------------------------

void test_verify_rejects_malformed_structure(void** state) {
  KeySetConstPtr ks = keySetFor(keyFor(Alg::RS256));
  std::string token = makeToken(Alg::RS256);
  test::Segments s = test::split(token);
  const std::string bad[] = {"",
                             ".",
                             "..",
                             "...",
                             "abc",
                             s.header + "." + s.claims,
                             token + ".x",
                             token + "." + s.signature + "." + s.signature,
                             "." + s.claims + "." + s.signature,
                             s.header + ".." + s.signature};
  for (const std::string& b : bad) {
    assert_status(verifyAt(b, *ks, VerifyOptions()), Status::TokenMalformed);
  }
}

void test_verify_rejects_padded_and_standard_alphabet_segments(void** state) {
  KeySetConstPtr ks = keySetFor(keyFor(Alg::RS256));
  std::string token = makeToken(Alg::RS256);
  test::Segments s = test::split(token);
  for (const char* bad : {"=", "==", "+", "/", " ", "\t"}) {
    assert_status(
        verifyAt(s.header + bad + "." + s.claims + "." + s.signature, *ks, VerifyOptions()),
        Status::TokenBadEncoding);
    assert_status(
        verifyAt(s.header + "." + s.claims + bad + "." + s.signature, *ks, VerifyOptions()),
        Status::TokenBadEncoding);
    assert_status(verifyAt(token + bad, *ks, VerifyOptions()), Status::TokenBadEncoding);
  }
  // The same bytes in the standard alphabet: every '-' and '_' of the signature becomes + or /.
  std::string std_sig = s.signature;
  for (char& c : std_sig) c = c == '-' ? '+' : c == '_' ? '/' : c;
  if (std_sig != s.signature) {
    assert_status(verifyAt(s.header + "." + s.claims + "." + std_sig, *ks, VerifyOptions()),
                  Status::TokenBadEncoding);
  }
  // A leading '+' or '/' replacing the first signature character.
  assert_status(
      verifyAt(s.header + "." + s.claims + ".+" + s.signature.substr(1), *ks, VerifyOptions()),
      Status::TokenBadEncoding);
  assert_status(
      verifyAt(s.header + "." + s.claims + "./" + s.signature.substr(1), *ks, VerifyOptions()),
      Status::TokenBadEncoding);
}

void test_verify_token_size_8192_ok_8193_rejected(void** state) {
  // Pad a claim (and the header) until the signed EdDSA token is exactly the target length.
  auto tokenOfLength = [](size_t target) {
    for (size_t hpad = 0; hpad < 4; ++hpad) {
      for (size_t cpad = 7000; cpad < 7000 + 8; ++cpad) {
        std::string header = "{\"alg\":\"EdDSA\",\"p\":\"" + std::string(hpad, 'h') + "\"}";
        ClaimSet c = defaultClaims();
        c.set("pad", q(std::string(cpad - 6000, 'x')));
        std::string claims = c.json();
        size_t len = (header.size() * 4 + 2) / 3 + 1 + (claims.size() * 4 + 2) / 3 + 1 + 86;
        size_t diff = target > len ? target - len : 0;
        c.set("pad", q(std::string(cpad - 6000 + diff * 3 / 4, 'x')));
        std::string t = signRaw(keyFor(Alg::EdDSA), Alg::EdDSA, header, c.json());
        if (t.size() == target) return t;
      }
    }
    fail_msg("no token of length %zu", target);
    return std::string();
  };
  std::string at = tokenOfLength(kMaxTokenBytes);
  std::string over = tokenOfLength(kMaxTokenBytes + 1);
  assert_int_equal(at.size(), 8192);
  assert_int_equal(over.size(), 8193);
  assert_status(verifyFor(Alg::EdDSA, at), Status::Ok);
  assert_status(verifyFor(Alg::EdDSA, over), Status::TokenTooLarge);
}

// ---- claims: order and structure ----------------------------------------------------------

void test_verify_signature_checked_before_claims(void** state) {
  // Claims that would fail in several ways, under a signature from the wrong key: the
  // signature failure wins, since unverified claims are never looked at.
  ClaimSet bad = defaultClaims();
  bad.set("exp", "1").set("iss", q("evil")).append("sub", q("dup"));
  std::string token =
      signRaw(otherKeyFor(Alg::ES256), Alg::ES256, headerFor(Alg::ES256), bad.json());
  assert_status(verifyFor(Alg::ES256, token), Status::TokenBadSignature);
  std::string not_json =
      signRaw(otherKeyFor(Alg::ES256), Alg::ES256, headerFor(Alg::ES256), "{\"a\":");
  assert_status(verifyFor(Alg::ES256, not_json), Status::TokenBadSignature);
  // With the right key each problem shows.
  std::string good_sig = signRaw(keyFor(Alg::ES256), Alg::ES256, headerFor(Alg::ES256), "{\"a\":");
  assert_status(verifyFor(Alg::ES256, good_sig), Status::TokenBadJson);
}

void test_verify_duplicate_claims(void** state) {
  assert_status(verifyClaims(defaultClaims().append("sub", q("admin"))),
                Status::TokenDuplicateMember);
  assert_status(verifyClaims(defaultClaims().append("exp", std::to_string(kNow + 99999))),
                Status::TokenDuplicateMember);
  assert_status(verifyClaims(defaultClaims().set("o", "{\"a\":1,\"a\":2}")),
                Status::TokenDuplicateMember);
}

void test_verify_claims_depth_16_ok_17_rejected(void** state) {
  auto nested = [](size_t depth) {  // the claims object itself is level 1
    std::string inner = "1";
    for (size_t i = 1; i < depth; ++i) inner = "[" + inner + "]";
    return inner;
  };
  assert_status(verifyClaims(defaultClaims().set("deep", nested(kMaxJsonDepth))), Status::Ok);
  assert_status(verifyClaims(defaultClaims().set("deep", nested(kMaxJsonDepth + 1))),
                Status::TokenBadJson);
}

void test_verify_claims_not_object(void** state) {
  for (const char* c : {"[1,2]", "\"sub\"", "null", "{"}) {
    std::string t = signRaw(keyFor(Alg::RS256), Alg::RS256, headerFor(Alg::RS256), c);
    assert_status(verifyFor(Alg::RS256, t), Status::TokenBadJson);
  }
}

void test_verify_missing_claims(void** state) {
  for (const char* name : {"sub", "iss", "aud", "exp", "iat"}) {
    Status s = verifyClaims(defaultClaims().erase(name));
    if (s != Status::TokenMissingClaim) fail_msg("without %s: %s", name, statusName(s));
  }
  assert_status(verifyClaims(defaultClaims().erase("permissions")), Status::Ok);
  assert_status(verifyClaims(defaultClaims().erase("nbf")), Status::Ok);
}

void test_verify_claim_types(void** state) {
  const struct {
    const char* name;
    const char* raw;
  } bad[] = {{"sub", "123"},
             {"sub", "null"},
             {"sub", "[\"a\"]"},
             {"iss", "1"},
             {"iss", "[\"tasker-core\"]"},
             {"aud", "1"},
             {"aud", "null"},
             {"aud", "{\"a\":\"tasker-api\"}"},
             {"exp", "\"1700003600\""},
             {"exp", "null"},
             {"exp", "true"},
             {"exp", "[1700003600]"},
             {"iat", "\"0\""},
             {"iat", "{}"},
             {"nbf", "\"0\""},
             {"nbf", "null"},
             {"nbf", "false"}};
  for (const auto& b : bad) {
    Status s = verifyClaims(defaultClaims().set(b.name, b.raw));
    if (s != Status::TokenBadClaimType) fail_msg("%s=%s: %s", b.name, b.raw, statusName(s));
  }
  // Reals are numbers too.
  assert_status(verifyClaims(defaultClaims()
                                 .set("exp", std::to_string(kNow + 100) + ".5")
                                 .set("iat", "1.7e9")
                                 .set("nbf", "1699999999.25")),
                Status::Ok);
  // The empty string is a string.
  VerifiedToken vt;
  assert_status(verifyClaims(defaultClaims().set("sub", "\"\""), kNow, &vt), Status::Ok);
  assert_str(vt.subject, "");
}

void test_verify_issuer_exact(void** state) {
  for (const char* iss : {"tasker-core ", "Tasker-core", "tasker", "tasker-core\\n", ""}) {
    Status s = verifyClaims(defaultClaims().set("iss", "\"" + std::string(iss) + "\""));
    if (s != Status::TokenBadIssuer) fail_msg("iss '%s': %s", iss, statusName(s));
  }
  // An escaped NUL could hide a suffix from C string compares; jansson refuses it outright.
  assert_status(verifyClaims(defaultClaims().set("iss", "\"tasker-core\\u0000x\"")),
                Status::TokenBadJson);
  VerifyOptions custom;
  custom.issuer = "https://idp.example";
  assert_status(
      verifyClaims(defaultClaims().set("iss", q("https://idp.example")), kNow, nullptr, custom),
      Status::Ok);
  assert_status(verifyClaims(defaultClaims(), kNow, nullptr, custom), Status::TokenBadIssuer);
}

void test_verify_audience_string_and_array(void** state) {
  assert_status(verifyClaims(defaultClaims().set("aud", q("tasker-api"))), Status::Ok);
  assert_status(verifyClaims(defaultClaims().set("aud", q("tasker-apix"))),
                Status::TokenBadAudience);
  assert_status(verifyClaims(defaultClaims().set("aud", q("tasker"))), Status::TokenBadAudience);
  assert_status(verifyClaims(defaultClaims().set("aud", "[\"other\",\"tasker-api\"]")), Status::Ok);
  assert_status(verifyClaims(defaultClaims().set("aud", "[\"tasker-api\"]")), Status::Ok);
  assert_status(verifyClaims(defaultClaims().set("aud", "[\"other\",\"more\"]")),
                Status::TokenBadAudience);
  assert_status(verifyClaims(defaultClaims().set("aud", "[]")), Status::TokenBadAudience);
  // An array of anything but strings is a wrongly typed claim (RFC 7519 4.1.3, SPEC 3), even
  // when a string member matches.
  assert_status(verifyClaims(defaultClaims().set("aud", "[1,null,{\"a\":1},\"tasker-api\"]")),
                Status::TokenBadClaimType);
  assert_status(verifyClaims(defaultClaims().set("aud", "[\"tasker-api\",1]")),
                Status::TokenBadClaimType);
  assert_status(verifyClaims(defaultClaims().set("aud", "[[\"tasker-api\"]]")),
                Status::TokenBadClaimType);
  VerifyOptions empty_aud;
  empty_aud.audience = "";
  assert_status(verifyClaims(defaultClaims().set("aud", "[1,null,{}]"), kNow, nullptr, empty_aud),
                Status::TokenBadClaimType);
  assert_status(verifyClaims(defaultClaims().set("aud", "[\"\"]"), kNow, nullptr, empty_aud),
                Status::Ok);
  VerifyOptions custom;
  custom.audience = "orchestration";
  assert_status(verifyClaims(defaultClaims().set("aud", "[\"tasker-api\",\"orchestration\"]"), kNow,
                             nullptr, custom),
                Status::Ok);
}

// ---- claims: time -------------------------------------------------------------------------

void test_verify_exp_at_exactly_leeway(void** state) {
  const int64_t exp = kNow;
  ClaimSet c =
      defaultClaims().set("exp", std::to_string(exp)).set("iat", std::to_string(exp - 600));
  // Accepted iff now < exp + leeway.
  assert_status(verifyClaims(c, exp + 60 - 1), Status::Ok);
  assert_status(verifyClaims(c, exp + 60), Status::TokenExpired);
  assert_status(verifyClaims(c, exp + 61), Status::TokenExpired);
  assert_status(verifyClaims(c, exp - 60), Status::Ok);
  assert_status(verifyClaims(c, exp), Status::Ok);
  VerifyOptions zero;
  zero.leeway_seconds = 0;
  assert_status(verifyClaims(c, exp - 1, nullptr, zero), Status::Ok);
  assert_status(verifyClaims(c, exp, nullptr, zero), Status::TokenExpired);
  // A negative leeway counts as zero.
  VerifyOptions negative;
  negative.leeway_seconds = -30;
  assert_status(verifyClaims(c, exp - 1, nullptr, negative), Status::Ok);
  assert_status(verifyClaims(c, exp, nullptr, negative), Status::TokenExpired);
  // Real exp: compared exactly.
  ClaimSet r = c;
  r.set("exp", std::to_string(exp) + ".5");
  assert_status(verifyClaims(r, exp + 60), Status::Ok);
  assert_status(verifyClaims(r, exp + 61), Status::TokenExpired);
}

void test_verify_nbf_at_exactly_leeway(void** state) {
  const int64_t nbf = kNow;
  ClaimSet c = defaultClaims()
                   .set("nbf", std::to_string(nbf))
                   .set("iat", std::to_string(nbf - 600))
                   .set("exp", std::to_string(nbf + 3600));
  // Accepted iff now >= nbf - leeway.
  assert_status(verifyClaims(c, nbf - 60), Status::Ok);
  assert_status(verifyClaims(c, nbf - 61), Status::TokenNotYetValid);
  assert_status(verifyClaims(c, nbf + 60), Status::Ok);
  assert_status(verifyClaims(c, nbf), Status::Ok);
  VerifyOptions zero;
  zero.leeway_seconds = 0;
  assert_status(verifyClaims(c, nbf, nullptr, zero), Status::Ok);
  assert_status(verifyClaims(c, nbf - 1, nullptr, zero), Status::TokenNotYetValid);
  ClaimSet r = c;
  r.set("nbf", std::to_string(nbf) + ".5");
  assert_status(verifyClaims(r, nbf - 60), Status::TokenNotYetValid);
  assert_status(verifyClaims(r, nbf - 59), Status::Ok);
}

void test_verify_iat_at_exactly_leeway(void** state) {
  const int64_t iat = kNow;
  ClaimSet c =
      defaultClaims().set("iat", std::to_string(iat)).set("exp", std::to_string(iat + 3600));
  // Accepted iff now >= iat - leeway: a token "issued in the future" beyond the skew is refused.
  assert_status(verifyClaims(c, iat - 60), Status::Ok);
  assert_status(verifyClaims(c, iat - 61), Status::TokenNotYetValid);
  assert_status(verifyClaims(c, iat + 60), Status::Ok);
  VerifyOptions wide;
  wide.leeway_seconds = 300;
  assert_status(verifyClaims(c, iat - 300, nullptr, wide), Status::Ok);
  assert_status(verifyClaims(c, iat - 301, nullptr, wide), Status::TokenNotYetValid);
}

void test_verify_time_extremes_do_not_overflow(void** state) {
  VerifyOptions big;
  big.leeway_seconds = INT64_MAX;
  ClaimSet c = defaultClaims()
                   .set("exp", "9223372036854775807")
                   .set("iat", "-9223372036854775808")
                   .set("nbf", "-9223372036854775808");
  assert_status(verifyClaims(c), Status::Ok);
  assert_status(verifyClaims(c, kNow, nullptr, big), Status::Ok);
  assert_status(verifyClaims(c, INT64_MAX, nullptr, big), Status::Ok);
  ClaimSet old = defaultClaims().set("exp", "-9223372036854775808");
  assert_status(verifyClaims(old), Status::TokenExpired);
  assert_status(verifyClaims(defaultClaims().set("exp", "1e300")), Status::Ok);
  assert_status(verifyClaims(defaultClaims().set("iat", "1e300")), Status::TokenNotYetValid);
  assert_status(verifyClaims(defaultClaims().set("exp", "-1e300")), Status::TokenExpired);
  // Integers beyond int64 are not valid JSON numbers for jansson.
  assert_status(verifyClaims(defaultClaims().set("exp", "99999999999999999999")),
                Status::TokenBadJson);
}

void test_verify_check_order_expired_before_issuer(void** state) {
  ClaimSet c = defaultClaims().set("exp", std::to_string(kNow - 3600)).set("iss", q("evil"));
  assert_status(verifyClaims(c), Status::TokenExpired);
  ClaimSet m = defaultClaims().set("exp", std::to_string(kNow - 3600)).erase("aud");
  assert_status(verifyClaims(m), Status::TokenMissingClaim);
}

// ---- claims: permissions ------------------------------------------------------------------

void test_verify_permissions_claim_forms(void** state) {
  VerifiedToken vt;
  assert_status(
      verifyClaims(defaultClaims().set("permissions", "[\"tasks:read\",\"dlq:stats\"]"), kNow, &vt),
      Status::Ok);
  assertStrings(vt.permissions, {"tasks:read", "dlq:stats"});
  assert_true(vt.grant.has(permissionIndex("dlq:stats")));

  assert_status(
      verifyClaims(defaultClaims().set("permissions", q(" tasks:read  steps:read ")), kNow, &vt),
      Status::Ok);
  assertStrings(vt.permissions, {"tasks:read", "steps:read"});

  assert_status(verifyClaims(defaultClaims().set("permissions", q("")), kNow, &vt), Status::Ok);
  assert_true(vt.permissions.empty());
  assert_status(verifyClaims(defaultClaims().set("permissions", "[]"), kNow, &vt), Status::Ok);
  assert_true(vt.permissions.empty());

  // Absent: authenticated with nothing granted.
  assert_status(verifyClaims(defaultClaims().erase("permissions"), kNow, &vt), Status::Ok);
  assert_true(vt.permissions.empty());
  assert_int_equal(vt.grant.bits, 0);
  assert_str(vt.subject, "user-1");

  for (const char* bad : {"null", "42", "1.5", "true", "{\"tasks:read\":true}",
                          "[\"tasks:read\",1]", "[null]", "[[\"tasks:read\"]]"}) {
    Status s = verifyClaims(defaultClaims().set("permissions", bad), kNow, &vt);
    if (s != Status::TokenBadPermissionsClaim) fail_msg("%s: %s", bad, statusName(s));
    assert_true(vt.permissions.empty());
  }
}

void test_verify_permissions_claim_name_option(void** state) {
  VerifyOptions scope;
  scope.permissions_claim = "scope";
  VerifiedToken vt;
  ClaimSet c = defaultClaims().set("scope", q("tasks:create tasks:cancel"));
  assert_status(verifyClaims(c, kNow, &vt, scope), Status::Ok);
  assertStrings(vt.permissions, {"tasks:create", "tasks:cancel"});
  // The default claim is then just another claim (not validated).
  assert_status(verifyClaims(c.set("permissions", "42"), kNow, &vt, scope), Status::Ok);
}

void test_verify_permissions_cap(void** state) {
  std::string arr = "[", str;
  for (size_t i = 0; i < kMaxPermissionsPerCredential; ++i) {
    arr += (i ? ",\"tasks:read\"" : "\"tasks:read\"");
    str += (i ? " tasks:read" : "tasks:read");
  }
  VerifiedToken vt;
  assert_status(verifyClaims(defaultClaims().set("permissions", arr + "]"), kNow, &vt), Status::Ok);
  assert_int_equal(vt.permissions.size(), kMaxPermissionsPerCredential);
  assert_status(verifyClaims(defaultClaims().set("permissions", q(str))), Status::Ok);
  assert_status(verifyClaims(defaultClaims().set("permissions", arr + ",\"tasks:list\"]")),
                Status::TokenBadPermissionsClaim);
  assert_status(verifyClaims(defaultClaims().set("permissions", q(str + " tasks:list"))),
                Status::TokenBadPermissionsClaim);
}

void test_verify_strict_unknown_permission(void** state) {
  ClaimSet c = defaultClaims().set("permissions",
                                   "[\"tasks:read\",\"tasks:delete\",\"Tasks:read\",\"dlq:*\"]");
  VerifiedToken vt;
  assert_status(verifyClaims(c, kNow, &vt), Status::TokenUnknownPermission);
  assert_str(vt.subject, "user-1");
  assertStrings(vt.permissions, {"tasks:read", "tasks:delete", "Tasks:read", "dlq:*"});
  assertStrings(vt.unknown, {"tasks:delete", "Tasks:read"});

  VerifyOptions lax;
  lax.strict = false;
  assert_status(verifyClaims(c, kNow, &vt, lax), Status::Ok);
  assertStrings(vt.permissions, {"tasks:read", "tasks:delete", "Tasks:read", "dlq:*"});
  assertStrings(vt.unknown, {"tasks:delete", "Tasks:read"});
  assert_true(vt.grant.has(permissionIndex("tasks:read")));
  assert_true(vt.grant.has(permissionIndex("dlq:update")));
  assert_false(vt.grant.has(permissionIndex("tasks:create")));

  // Wildcards are known strings.
  assert_status(verifyClaims(defaultClaims().set("permissions", "[\"*\",\"tasks:*\"]"), kNow, &vt),
                Status::Ok);
  assert_int_equal(vt.grant.bits, (1u << kPermissionCount) - 1);
  // Unknown strings in the space-separated form too.
  assert_status(verifyClaims(defaultClaims().set("permissions", q("tasks:read admin"))),
                Status::TokenUnknownPermission);
}

// A comma inside one permission string would read like two grants in $tasker_auth_permissions:
// the claim is malformed in strict and lax mode, in both claim forms (issue 10).
void test_verify_permission_with_comma_rejected(void** state) {
  VerifyOptions lax;
  lax.strict = false;
  VerifiedToken vt;
  for (const VerifyOptions& opts : {VerifyOptions(), lax}) {
    assert_status(verifyClaims(defaultClaims().set("permissions", "[\"tasks:read,dlq:update\"]"),
                               kNow, &vt, opts),
                  Status::TokenBadPermissionsClaim);
    assert_true(vt.permissions.empty());
    assert_status(verifyClaims(defaultClaims().set("permissions", "[\"tasks:read\",\",\"]"), kNow,
                               &vt, opts),
                  Status::TokenBadPermissionsClaim);
    assert_status(verifyClaims(defaultClaims().set("permissions", q("tasks:read dlq:update,x")),
                               kNow, &vt, opts),
                  Status::TokenBadPermissionsClaim);
    assert_true(vt.permissions.empty());
  }
  // Without a comma the lax token still passes with its unknown string kept.
  assert_status(verifyClaims(defaultClaims().set("permissions", "[\"tasks:read\",\"dlq:update;x\"]"),
                             kNow, &vt, lax),
                Status::Ok);
  assertStrings(vt.permissions, {"tasks:read", "dlq:update;x"});
}

// ---- output -------------------------------------------------------------------------------

void test_verify_output_reset_between_calls(void** state) {
  VerifiedToken vt;
  assert_status(verifyFor(Alg::ES256, makeToken(Alg::ES256, defaultClaims(), "k"), kNow, &vt),
                Status::Ok);
  assert_false(vt.permissions.empty());
  assert_status(verifyFor(Alg::ES256, "a.b"), Status::TokenMalformed);
  assert_status(verifyAt("a.b", *keySetFor(keyFor(Alg::ES256)), optsFor(Alg::ES256), kNow, &vt),
                Status::TokenMalformed);
  assert_true(vt.subject.empty());
  assert_true(vt.kid.empty());
  assert_true(vt.permissions.empty());
  assert_int_equal(vt.grant.bits, 0);
  assert_null(vt.claims.get());
}

void test_verify_claims_render_every_type(void** state) {
  ClaimSet c = defaultClaims();
  c.set("str", q("hello world"))
      .set("utf8", "\"caf\xc3\xa9 \\u00e9\"")
      .set("int", "42")
      .set("neg", "-7")
      .set("real", "1.5")
      .set("tenth", "0.1")
      .set("whole_real", "2.0")
      .set("t", "true")
      .set("f", "false")
      .set("nul", "null")
      .set("strs", "[\"a\",\"b c\",\"\"]")
      .set("empty_arr", "[]")
      .set("mixed", "[\"a\",1,null,true,1.5]")
      .set("floats", "[1.5, 2]")
      .set("obj", "{ \"b\" : [true, null], \"a\" : 1, \"q\" : \"x\\\"y\" }")
      .set("empty_obj", "{}");
  VerifiedToken vt;
  assert_status(verifyClaims(c, kNow, &vt), Status::Ok);
  const Claims& cl = *vt.claims;
  const struct {
    const char* name;
    const char* want;
  } cases[] = {{"sub", "user-1"},
               {"str", "hello world"},
               {"utf8", "caf\xc3\xa9 \xc3\xa9"},
               {"int", "42"},
               {"neg", "-7"},
               {"exp", "1700003600"},
               {"real", "1.5"},
               {"tenth", "0.1"},
               {"whole_real", "2.0"},
               {"t", "true"},
               {"f", "false"},
               {"nul", ""},
               {"strs", "a,b c,"},
               {"aud", "tasker-api"},
               {"permissions", "tasks:read,tasks:list"},
               {"empty_arr", ""},
               {"mixed", "[\"a\",1,null,true,1.5]"},
               {"floats", "[1.5,2]"},
               {"obj", "{\"b\":[true,null],\"a\":1,\"q\":\"x\\\"y\"}"},
               {"empty_obj", "{}"}};
  for (const auto& k : cases) {
    std::string out = "stale";
    if (!cl.render(k.name, &out)) fail_msg("%s absent", k.name);
    assert_str(out, k.want);
  }
  std::string out = "stale";
  assert_false(cl.render("absent", &out));
  assert_false(cl.render("", &out));
  assert_false(cl.render("STR", &out));
}

void test_verify_claims_to_json(void** state) {
  ClaimSet c;
  c.set("sub", q("s")).set("iss", q("tasker-core")).set("aud", "[\"tasker-api\",\"b\"]");
  c.set("exp", std::to_string(kNow + 10)).set("iat", std::to_string(kNow) + ".25");
  VerifiedToken vt;
  assert_status(verifyClaims(c, kNow, &vt), Status::Ok);
  assert_str(vt.claims->toJson(),
             "{\"sub\":\"s\",\"iss\":\"tasker-core\",\"aud\":[\"tasker-api\",\"b\"],"
             "\"exp\":1700000010,\"iat\":1700000000.25}");
}

}  // namespace
}  // namespace tasker

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_verify_accepts_every_algorithm),
      cmocka_unit_test(test_verify_allowlist_with_every_algorithm_enabled),
      cmocka_unit_test(test_verify_signature_bit_flip_sweep),
      cmocka_unit_test(test_verify_signature_truncation_sweep),
      cmocka_unit_test(test_verify_signing_input_sweep),
      cmocka_unit_test(test_verify_rejects_other_key_of_same_type),
      cmocka_unit_test(test_verify_rejects_alg_key_mismatch),
      cmocka_unit_test(test_verify_rs256_header_with_ps256_signature),
      cmocka_unit_test(test_verify_pss_requires_hash_length_salt),
      cmocka_unit_test(test_verify_in_place_context_survives_failures),
      cmocka_unit_test(test_verify_jwk_alg_must_match_token_alg),
      cmocka_unit_test(test_verify_rejects_none_and_hs),
      cmocka_unit_test(test_verify_allowlist_enforced),
      cmocka_unit_test(test_verify_rejects_crit),
      cmocka_unit_test(test_verify_ignores_jku_jwk_x5u_x5c_typ),
      cmocka_unit_test(test_verify_duplicate_header_member),
      cmocka_unit_test(test_verify_header_depth_16_ok_17_rejected),
      cmocka_unit_test(test_verify_header_not_object),
      cmocka_unit_test(test_verify_kid_in_public_key_mode_is_ignored),
      cmocka_unit_test(test_verify_kid_in_jwks_mode),
      cmocka_unit_test(test_verify_empty_key_set),
      cmocka_unit_test(test_verify_rejects_malformed_structure),
      cmocka_unit_test(test_verify_rejects_padded_and_standard_alphabet_segments),
      cmocka_unit_test(test_verify_token_size_8192_ok_8193_rejected),
      cmocka_unit_test(test_verify_signature_checked_before_claims),
      cmocka_unit_test(test_verify_duplicate_claims),
      cmocka_unit_test(test_verify_claims_depth_16_ok_17_rejected),
      cmocka_unit_test(test_verify_claims_not_object),
      cmocka_unit_test(test_verify_missing_claims),
      cmocka_unit_test(test_verify_claim_types),
      cmocka_unit_test(test_verify_issuer_exact),
      cmocka_unit_test(test_verify_audience_string_and_array),
      cmocka_unit_test(test_verify_exp_at_exactly_leeway),
      cmocka_unit_test(test_verify_nbf_at_exactly_leeway),
      cmocka_unit_test(test_verify_iat_at_exactly_leeway),
      cmocka_unit_test(test_verify_time_extremes_do_not_overflow),
      cmocka_unit_test(test_verify_check_order_expired_before_issuer),
      cmocka_unit_test(test_verify_permissions_claim_forms),
      cmocka_unit_test(test_verify_permissions_claim_name_option),
      cmocka_unit_test(test_verify_permissions_cap),
      cmocka_unit_test(test_verify_strict_unknown_permission),
      cmocka_unit_test(test_verify_permission_with_comma_rejected),
      cmocka_unit_test(test_verify_output_reset_between_calls),
      cmocka_unit_test(test_verify_claims_render_every_type),
      cmocka_unit_test(test_verify_claims_to_json),
  };
  return cmocka_run_group_tests_name("verify", tests, nullptr, nullptr);
}
