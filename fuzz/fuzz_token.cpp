// libFuzzer target: bearer token decode and verification (verify.h), against a static PEM key
// set (public_key mode) and a JWKS key set (kid required), every algorithm allowed, strict and
// lax. The input is the token text, or an Authorization header value for the facade.
#include <cstddef>
#include <cstdint>
#include <string>

#include "auth_engine.h"
#include "fuzz_common.h"
#include "jwt.h"
#include "verify.h"

using namespace tasker;

namespace {

struct Fixture {
  std::unique_ptr<SigningKey> ec = fuzz::generateKey(KeyAlgorithm::EcP256);
  std::unique_ptr<SigningKey> ed = fuzz::generateKey(KeyAlgorithm::Ed25519);
  std::unique_ptr<SigningKey> rsa = fuzz::generateKey(KeyAlgorithm::Rsa);
  KeySetConstPtr pem_keys = fuzz::publicKeySet(*ec);
  KeySetConstPtr jwks_keys;
  VerifyOptions strict_opts, jwks_opts;
  std::shared_ptr<const AuthPolicy> policy;

  Fixture() {
    std::string a, b, c;
    fuzz::check(ec->publicJwk("ec", &a) == Status::Ok && ed->publicJwk("ed", &b) == Status::Ok &&
                    rsa->publicJwk("rsa", &c) == Status::Ok,
                "public JWKs");
    fuzz::check(KeySet::fromJwks("{\"keys\":[" + a + "," + b + "," + c + "]}", &jwks_keys,
                                 nullptr) == Status::Ok,
                "JWKS of our own keys");
    strict_opts.algorithms = fuzz::kAllAlgMask;
    jwks_opts = strict_opts;
    jwks_opts.require_kid = true;
    jwks_opts.strict = false;
    PolicyConfig pc;
    pc.jwt = true;
    pc.static_keys = pem_keys;
    pc.verify = strict_opts;
    policy = std::make_shared<const AuthPolicy>(std::move(pc));
  }
};

Fixture* fixture() {
  static Fixture* f = new Fixture();
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture* f = fixture();
  const std::string token(fuzz::asView(data, size));

  Jwt jwt;
  try {
    if (decodeJwt(token, &jwt) == Status::Ok) {
      JsonPtr claims;
      (void)parseJwtClaims(jwt, &claims);
    }
  } catch (const std::bad_alloc&) {
  }

  VerifiedToken vt;
  Status s = verifyToken(token, *f->pem_keys, f->strict_opts, fuzz::kNow, &vt);
  fuzz::check(s != Status::Ok, "a token verified against a key no one signed with");
  s = verifyToken(token, *f->jwks_keys, f->jwks_opts, fuzz::kNow, &vt);
  fuzz::check(s != Status::Ok, "a token verified against JWKS keys no one signed with");

  // The key-less shape check (a JWKS location without keys) refuses exactly what verifyToken
  // refuses before it looks for a key, with the same status, in both modes.
  const Status shape_jwks = checkTokenShape(token, f->jwks_opts);
  fuzz::check(shape_jwks == Status::Ok || shape_jwks == s,
              "checkTokenShape and verifyToken disagree (JWKS mode)");
  const Status shape_pem = checkTokenShape(token, f->strict_opts);
  const Status s_pem = verifyToken(token, *f->pem_keys, f->strict_opts, fuzz::kNow, &vt);
  fuzz::check(shape_pem == Status::Ok || shape_pem == s_pem,
              "checkTokenShape and verifyToken disagree (public-key mode)");

  // The facade, as the adapter calls it with an Authorization header.
  RequestView req;
  req.method = "GET";
  req.authorization = fuzz::asView(data, size);
  Decision d;
  f->policy->decide(req, fuzz::kNow, nullptr, &d);
  fuzz::check(d.status != Status::Ok || d.preflight, "the facade let an unsigned request in");
  std::string_view bearer;
  (void)parseBearer(fuzz::asView(data, size), &bearer);
  return 0;
}
