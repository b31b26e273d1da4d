// Unit tests for src/auth_engine.cpp: the request flow of SPEC 3 and its precedence rules.
#include "auth_engine.h"
#include "tasker_limits.h"

#include "test_helpers.h"

using namespace tasker;
using namespace tasker::test;

namespace {

const char kKey[] = "engine-key-1234567890";

std::shared_ptr<const AuthPolicy> policy(bool jwt, bool keys, const char* rule = nullptr) {
  PolicyConfig pc;
  if (jwt) {
    pc.jwt = true;
    pc.static_keys = keySetFor(keyFor(Alg::RS256));
  }
  pc.verify = optsFor(Alg::RS256);
  if (keys) {
    auto reg = std::make_shared<ApiKeyRegistry>();
    std::string detail;
    assert_int_equal(reg->add(kKey, {"tasks:read"}, "svc", true, "test:1", &detail), Status::Ok);
    pc.api_keys_enabled = true;
    pc.api_keys = reg;
  }
  if (rule) {
    auto rules = std::make_shared<RuleSet>();
    std::string bad;
    assert_int_equal(rules->addRule({rule}, &bad), Status::Ok);
    pc.rules = rules;
  }
  return std::make_shared<const AuthPolicy>(std::move(pc));
}

Decision run(const AuthPolicy& p, RequestView v, TokenCache* cache = nullptr) {
  if (v.method.empty()) v.method = "GET";
  Decision d;
  p.decide(v, kNow, nullptr, &d, cache);
  return d;
}

void test_auth_engine_parse_bearer(void** state) {
  std::string_view tok;
  assert_true(parseBearer("Bearer abc", &tok));
  assert_true(tok == "abc");
  assert_true(parseBearer("bEaReR   abc  ", &tok));
  assert_true(tok == "abc");
  assert_true(parseBearer("Bearer", &tok));
  assert_true(tok.empty());
  assert_false(parseBearer("Bearerabc", &tok));
  assert_false(parseBearer("Basic abc", &tok));
  assert_false(parseBearer("", &tok));
  assert_true(parseBearer("BEARER\tabc\t", &tok));
  assert_true(tok == "abc");
  assert_true(parseBearer("bearer \t", &tok));
  assert_true(tok.empty());
  assert_false(parseBearer("Beare", &tok));
  assert_false(parseBearer("Bearex abc", &tok));
  assert_false(parseBearer(" Bearer abc", &tok));   // the scheme is empty
  assert_false(parseBearer("Bearer\vabc", &tok));   // only space and tab separate
  assert_false(parseBearer("Bearer-x abc", &tok));
  assert_false(parseBearer("B\xc5" "arer abc", &tok));  // 0xc5 | 0x20 is not 'e'
  assert_false(parseBearer(std::string_view("Bearer\0abc", 10), &tok));
}

void test_auth_engine_missing_credentials(void** state) {
  Decision d = run(*policy(true, true), RequestView{});
  assert_int_equal(d.status, Status::CredentialsMissing);
  assert_false(d.presented);
  assert_int_equal(verdictFor(d.status), Verdict::Unauthenticated);
}

void test_auth_engine_preflight_passes(void** state) {
  RequestView v;
  v.method = "OPTIONS";
  v.has_origin = true;
  v.has_acr_method = true;
  Decision d = run(*policy(true, false, "tasks:create"), v);
  assert_int_equal(d.status, Status::Ok);
  assert_true(d.preflight);
  v.has_content = true;  // a body or a Content-Type: not a browser's preflight
  d = run(*policy(true, false, "tasks:create"), v);
  assert_int_equal(d.status, Status::CredentialsMissing);
  assert_false(d.preflight);
  v.has_content = false;
  v.has_acr_method = false;
  assert_int_equal(run(*policy(true, false), v).status, Status::CredentialsMissing);
}

void test_auth_engine_bearer_wins_over_key(void** state) {
  RequestView v;
  std::string bad = "Bearer not.a.token";
  v.authorization = bad;
  v.api_key = std::string_view(kKey);
  Decision d = run(*policy(true, true), v);
  assert_int_equal(d.method, AuthMethod::Jwt);
  assert_int_equal(verdictFor(d.status), Verdict::Unauthenticated);
  assert_true(d.jwt_attempted);
}

void test_auth_engine_other_scheme_falls_back_to_key(void** state) {
  RequestView v;
  v.authorization = std::string_view("Basic dXNlcjpwYXNz");
  v.api_key = std::string_view(kKey);
  auto p = policy(true, true);  // the decision reads the key's identity from the policy
  Decision d = run(*p, v);
  assert_int_equal(d.status, Status::Ok);
  assert_int_equal(d.method, AuthMethod::ApiKey);
  assert_string_equal(d.subject().c_str(), "svc");
}

void test_auth_engine_empty_key_is_invalid(void** state) {
  RequestView v;
  v.api_key = std::string_view("");
  Decision d = run(*policy(false, true), v);
  assert_int_equal(d.status, Status::ApiKeyInvalid);
  assert_true(d.presented);
}

void test_auth_engine_key_ignored_when_disabled(void** state) {
  RequestView v;
  v.api_key = std::string_view(kKey);
  assert_int_equal(run(*policy(true, false), v).status, Status::CredentialsMissing);
}

void test_auth_engine_empty_bearer_is_invalid_token(void** state) {
  RequestView v;
  v.authorization = std::string_view("Bearer ");
  Decision d = run(*policy(true, false), v);
  assert_int_equal(d.status, Status::TokenMalformed);
  assert_true(d.presented);
}

void test_auth_engine_bearer_without_jwt_source(void** state) {
  RequestView v;
  std::string h = "Bearer " + makeToken(Alg::RS256);
  v.authorization = h;
  assert_int_equal(run(*policy(false, true), v).status, Status::TokenMalformed);
}

void test_auth_engine_jwks_without_keys_is_unavailable(void** state) {
  PolicyConfig pc;
  pc.jwt = true;
  pc.jwks = true;
  AuthPolicy p(std::move(pc));
  RequestView v;
  std::string h = "Bearer " + makeToken(Alg::RS256, defaultClaims(), "kid-1");
  v.authorization = h;
  v.method = "GET";
  Decision d;
  p.decide(v, kNow, nullptr, &d);
  assert_int_equal(d.status, Status::KeysUnavailable);
  assert_int_equal(verdictFor(d.status), Verdict::Unavailable);
  // still a verification attempt, observed in the histogram (SPEC 8)
  assert_true(d.jwt_attempted);
  assert_false(d.authenticated);
  assert_int_equal(d.verify_ns, 0);
}

// SPEC 8: an empty or malformed token is 401 whatever the keys; 503 only for one a key could
// verify. Checked before anything needs a key: structure, alg, crit, kid.
void test_auth_engine_jwks_without_keys_malformed_is_invalid(void** state) {
  PolicyConfig pc;
  pc.jwt = true;
  pc.jwks = true;
  pc.verify.require_kid = true;  // as JWKS mode sets it
  AuthPolicy p(std::move(pc));
  const std::string good = makeToken(Alg::RS256, defaultClaims(), "kid-1");
  const std::string hs = signRaw(keyFor(Alg::RS256), Alg::RS256,
                                 R"({"alg":"HS256","kid":"kid-1"})", defaultClaims().json());
  const std::string crit = signRaw(keyFor(Alg::RS256), Alg::RS256,
                                   R"({"alg":"RS256","kid":"kid-1","crit":["x"]})",
                                   defaultClaims().json());
  const struct {
    std::string token;
    Status want;
  } cases[] = {
      {"", Status::TokenMalformed},
      {"not-a-jwt", Status::TokenMalformed},
      {"a.b", Status::TokenMalformed},
      {std::string(kMaxTokenBytes + 1, 'a'), Status::TokenTooLarge},
      {makeToken(Alg::RS256), Status::TokenKidMissing},
      {hs, Status::TokenAlgNotAllowed},
      {crit, Status::TokenCritUnsupported},
      {good, Status::KeysUnavailable},
  };
  for (const auto& c : cases) {
    std::string h = "Bearer " + c.token;
    RequestView v;
    v.authorization = h;
    v.method = "GET";
    Decision d;
    p.decide(v, kNow, nullptr, &d);
    assert_int_equal(d.status, c.want);
    assert_true(d.presented);
    assert_true(d.jwt_attempted);
  }
}

void test_auth_engine_denial_names_permission(void** state) {
  RequestView v;
  std::string h = "Bearer " + makeToken(Alg::RS256);  // tasks:read, tasks:list
  v.authorization = h;
  Decision d = run(*policy(true, false, "tasks:create"), v);
  assert_int_equal(d.status, Status::PermDenied);
  assert_true(d.authenticated);
  assert_string_equal(d.missing_permission, "tasks:create");
  assert_int_equal(verdictFor(d.status), Verdict::Forbidden);
}

void test_auth_engine_cache_answers_second_request(void** state) {
  auto p = policy(true, false, "tasks:read");
  TokenCache cache(16);
  RequestView v;
  std::string h = "Bearer " + makeToken(Alg::RS256);
  v.authorization = h;
  Decision first = run(*p, v, &cache);
  Decision second = run(*p, v, &cache);
  assert_int_equal(first.status, Status::Ok);
  assert_false(first.cache_hit);
  assert_true(first.verify_ns > 0);  // a verification is timed
  assert_int_equal(second.status, Status::Ok);
  assert_true(second.cache_hit);
  assert_int_equal(second.verify_ns, 0);  // a hit is not (metrics: first bucket, nothing in _sum)
  assert_string_equal(second.subject().c_str(), "user-1");
  // the hit shares the result the first decision verified, and keeps it after the cache lets go
  assert_true(second.owned.get() == first.owned.get());
  assert_true(second.token == second.owned.get());
  cache.clear();
  first = Decision();
  assert_int_equal(second.owned.useCount(), 1);
  assert_string_equal(second.subject().c_str(), "user-1");
  assert_int_equal(second.permissions().size(), 2);  // tasks:read, tasks:list
  // a tampered copy never matches the cached entry
  std::string tampered = "Bearer " + flipSignatureBit(makeToken(Alg::RS256), 0, 0);
  v.authorization = tampered;
  Decision third = run(*p, v, &cache);
  assert_int_equal(third.status, Status::TokenBadSignature);
  assert_false(third.cache_hit);
}

void test_auth_engine_cache_respects_expiry(void** state) {
  auto p = policy(true, false);
  TokenCache cache(16);
  RequestView v;
  std::string h = "Bearer " + makeToken(Alg::RS256);  // exp = kNow + 3600, leeway 60
  v.authorization = h;
  v.method = "GET";
  Decision d;
  p->decide(v, kNow, nullptr, &d, &cache);
  assert_int_equal(d.status, Status::Ok);
  Decision late;
  p->decide(v, kNow + 3660, nullptr, &late, &cache);
  assert_int_equal(late.status, Status::TokenExpired);
  assert_false(late.cache_hit);
}

// requestLines lists what a decision reads, for the adapter's prefetch: the policy always, the
// rules when there are some, and for enabled API keys the registry with its index, key bytes and
// entries; never more than asked for, never a null address.
void test_auth_engine_request_lines(void** state) {
  const void* lines[8] = {};
  auto jwt_only = policy(true, false);
  assert_int_equal(jwt_only->requestLines(lines, 8), 1);
  assert_ptr_equal(lines[0], jwt_only.get());

  auto keys = policy(false, true, "tasks:read");
  size_t n = keys->requestLines(lines, 8);
  assert_int_equal(n, 6);
  assert_ptr_equal(lines[0], keys.get());
  assert_ptr_equal(lines[1], keys->config().rules.get());
  assert_ptr_equal(lines[2], keys->config().api_keys.get());
  const ApiKeyEntry* e = keys->config().api_keys->lookup(kKey);
  assert_non_null(e);
  assert_ptr_equal(lines[5], &keys->config().api_keys->entries()[0]);
  assert_ptr_equal(lines[5], e);  // the entry the lookup returns is the one prefetched
  for (size_t i = 0; i < n; ++i) assert_non_null(lines[i]);

  const void* few[3] = {};
  assert_int_equal(keys->requestLines(few, 3), 3);
  assert_int_equal(keys->requestLines(few, 0), 0);

  // keys configured but not enabled: a decision never reads them
  PolicyConfig pc = keys->config();
  pc.api_keys_enabled = false;
  AuthPolicy off(std::move(pc));
  assert_int_equal(off.requestLines(lines, 8), 2);
}

}  // namespace

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_auth_engine_parse_bearer),
      cmocka_unit_test(test_auth_engine_missing_credentials),
      cmocka_unit_test(test_auth_engine_preflight_passes),
      cmocka_unit_test(test_auth_engine_jwks_without_keys_malformed_is_invalid),
      cmocka_unit_test(test_auth_engine_bearer_wins_over_key),
      cmocka_unit_test(test_auth_engine_other_scheme_falls_back_to_key),
      cmocka_unit_test(test_auth_engine_empty_key_is_invalid),
      cmocka_unit_test(test_auth_engine_key_ignored_when_disabled),
      cmocka_unit_test(test_auth_engine_empty_bearer_is_invalid_token),
      cmocka_unit_test(test_auth_engine_bearer_without_jwt_source),
      cmocka_unit_test(test_auth_engine_jwks_without_keys_is_unavailable),
      cmocka_unit_test(test_auth_engine_denial_names_permission),
      cmocka_unit_test(test_auth_engine_cache_answers_second_request),
      cmocka_unit_test(test_auth_engine_cache_respects_expiry),
      cmocka_unit_test(test_auth_engine_request_lines),
  };
  return cmocka_run_group_tests_name("auth_engine", tests, nullptr, nullptr);
}
