// libFuzzer target: correctly signed tokens with fuzzed claims, so that everything after the
// signature check runs: claim types and values, time checks, aud/iss, the permissions claim in
// both forms, strict validation, permission rules, and variable rendering ($tasker_jwt_claim_*,
// $tasker_auth_permissions). The first input byte picks the options; the rest is the claims
// JSON, signed as is (EdDSA, or ES256 with a kid against a JWKS key set).
//
// Invariants checked (a violation aborts, so libFuzzer records the input):
//  - no granted permission string contains a comma (SPEC 5: it would read like two grants);
//  - a strict Ok token holds no unknown permission; a token Ok once is Ok through the facade;
//  - a rendered claim is found again by render() with the same text (rendering is pure).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "auth_engine.h"
#include "fuzz_common.h"
#include "permissions.h"
#include "verify.h"

using namespace tasker;

namespace {

struct Fixture {
  std::unique_ptr<SigningKey> ed = fuzz::generateKey(KeyAlgorithm::Ed25519);
  std::unique_ptr<SigningKey> ec = fuzz::generateKey(KeyAlgorithm::EcP256);
  KeySetConstPtr pem_keys = fuzz::publicKeySet(*ed);
  KeySetConstPtr jwks_keys;
  std::shared_ptr<const RuleSet> rules;

  Fixture() {
    std::string jwk;
    fuzz::check(ec->publicJwk("k1", &jwk) == Status::Ok, "public JWK");
    fuzz::check(KeySet::fromJwks("{\"keys\":[" + jwk + "]}", &jwks_keys, nullptr) == Status::Ok,
                "JWKS of our own key");
    auto r = std::make_shared<RuleSet>();
    std::string bad;
    fuzz::check(r->addRule({"GET", "tasks:read"}, &bad) == Status::Ok, "rule");
    fuzz::check(r->addRule({"POST", "tasks:create", "dlq:update"}, &bad) == Status::Ok, "rule");
    rules = r;
  }
};

Fixture* fixture() {
  static Fixture* f = new Fixture();
  return f;
}

// Claim names rendered for every verified token: the registered ones, the default and OAuth
// permission claims, and a few the seeds use.
const char* const kRenderNames[] = {"sub", "iss", "aud", "exp", "iat", "nbf", "permissions",
                                    "scope", "email", "roles", "realm_access", "n", "", "a.b"};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Fixture* f = fixture();
  const uint8_t mode = data[0];
  const std::string_view claims = fuzz::asView(data + 1, size - 1);

  VerifyOptions opts;
  opts.strict = (mode & 1) == 0;
  opts.permissions_claim = (mode & 2) ? "scope" : "permissions";
  opts.leeway_seconds = (mode & 4) ? 0 : 60;
  const bool jwks = (mode & 8) != 0;
  opts.require_kid = jwks;
  opts.algorithms = fuzz::kAllAlgMask;

  std::string token;
  Status s = jwks ? signJwt(*f->ec, Alg::ES256, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", claims, &token)
                  : signJwt(*f->ed, Alg::EdDSA, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}", claims, &token);
  if (s != Status::Ok) return 0;  // e.g. too large to sign into kMaxTokenBytes: not interesting

  const KeySet& keys = jwks ? *f->jwks_keys : *f->pem_keys;
  VerifiedToken vt;
  s = verifyToken(token, keys, opts, fuzz::kNow, &vt);
  for (const std::string& p : vt.permissions) {
    fuzz::check(p.find(',') == std::string::npos, "a permission string with a comma was kept");
  }
  if (s == Status::Ok && opts.strict) fuzz::check(vt.unknown.empty(), "strict Ok with unknowns");

  if (s == Status::Ok && vt.claims) {
    std::string out, again;
    for (const char* name : kRenderNames) {
      if (vt.claims->render(name, &out)) {
        fuzz::check(vt.claims->render(name, &again) && again == out, "render is not pure");
      }
    }
    (void)vt.claims->toJson();
    (void)vt.claims->checkTimes(opts.leeway_seconds, fuzz::kNow + 3600);

    const char* missing = nullptr;
    for (const char* method : {"GET", "HEAD", "POST", "PUT"}) {
      (void)f->rules->check(method, vt.grant, &missing);
    }
  }

  // The same token through the facade, with the rules.
  PolicyConfig pc;
  pc.jwt = true;
  pc.jwks = jwks;
  pc.static_keys = jwks ? nullptr : f->pem_keys;
  pc.verify = opts;
  pc.rules = f->rules;
  AuthPolicy policy(std::move(pc));
  const std::string header = "Bearer " + token;
  RequestView req;
  req.method = (mode & 16) ? "POST" : "GET";
  req.authorization = header;
  Decision d;
  policy.decide(req, fuzz::kNow, jwks ? f->jwks_keys.get() : nullptr, &d);
  if (s == Status::Ok) {
    fuzz::check(d.authenticated, "verified token not authenticated by the facade");
  }
  for (const std::string& p : d.permissions()) {
    fuzz::check(p.find(',') == std::string::npos, "the facade kept a permission with a comma");
  }
  return 0;
}
