// Benchmark (not a test) for the request path around the token cache, in the core alone: what a
// cache hit costs (hashing the token, the lookup, copying the result out) for one token and
// for 10,000 tokens round-robin, what an insertion adds to a verification, and the verification
// itself. Thread CPU time, best and median of rounds (the build machine is shared).
//
//   build/bench/bench_cache [tokens]      (default 10000)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "auth_engine.h"
#include "digest.h"
#include "keys.h"
#include "signer.h"
#include "token_cache.h"
#include "verify.h"

namespace tasker {
namespace {

constexpr int64_t kNow = 1700000000;
constexpr int kRounds = 9;

double cpuNowNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct Result {
  double best, median;
};

// ns per call of op(i) for i in [0, n), best and median of kRounds rounds.
template <typename F>
Result measure(long n, F&& op) {
  std::vector<double> v;
  for (int r = 0; r < kRounds; ++r) {
    double t0 = cpuNowNs();
    for (long i = 0; i < n; ++i) op(i);
    v.push_back((cpuNowNs() - t0) / n);
  }
  std::sort(v.begin(), v.end());
  return {v[0], v[v.size() / 2]};
}

void row(const char* name, Result r) {
  std::printf("%-46s %10.0f %10.0f\n", name, r.median, r.best);
}

int run(size_t n_tokens) {
  std::unique_ptr<SigningKey> sk;
  if (SigningKey::generate(KeyAlgorithm::Rsa, 2048, &sk) != Status::Ok) return 1;
  std::string pub;
  sk->publicPem(&pub);
  KeySetConstPtr keys;
  if (KeySet::fromPem(pub, &keys) != Status::Ok) return 1;
  std::vector<std::string> tokens(n_tokens);
  for (size_t i = 0; i < n_tokens; ++i) {
    std::string claims = "{\"sub\":\"user-" + std::to_string(i) +
                         "\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1699999990,"
                         "\"exp\":1700003600,\"permissions\":[\"tasks:read\",\"tasks:list\"]}";
    if (signJwt(*sk, Alg::RS256, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", claims, &tokens[i]) !=
        Status::Ok) {
      return 1;
    }
  }
  PolicyConfig pc;
  pc.jwt = true;
  pc.static_keys = keys;
  AuthPolicy policy(std::move(pc));
  auto decide = [&](const std::string& token, TokenCache* cache) {
    std::string auth = "Bearer " + token;
    RequestView v;
    v.method = "GET";
    v.authorization = auth;
    Decision d;
    policy.decide(v, kNow, nullptr, &d, cache);
    if (d.status != Status::Ok) std::abort();
  };

  std::printf("RS256, %zu-byte token; ns per operation (thread CPU), median and best of %d\n",
              tokens[0].size(), kRounds);
  std::printf("%-46s %10s %10s\n", "operation", "median", "best");
  Sha256Digest dg;
  row("sha256 of the token (for comparison)",
      measure(20000, [&](long) { sha256(tokens[0], &dg); }));

  TokenCache one(kTokenCacheDefaultEntries);
  decide(tokens[0], &one);
  row("decide(), one token, cache hit", measure(20000, [&](long) { decide(tokens[0], &one); }));

  TokenCache many(kTokenCacheDefaultEntries);
  for (const std::string& t : tokens) decide(t, &many);  // first pass: verify and insert
  long n = static_cast<long>(tokens.size());
  row("decide(), tokens round-robin, cache hit",
      measure(n, [&](long i) { decide(tokens[static_cast<size_t>(i)], &many); }));
  std::printf("  (%zu tokens: %llu hits, %llu misses, %llu evictions after all rounds)\n",
              tokens.size(), static_cast<unsigned long long>(many.hits()),
              static_cast<unsigned long long>(many.misses()),
              static_cast<unsigned long long>(many.evictions()));

  row("decide(), tokens round-robin, no cache",
      measure(n, [&](long i) { decide(tokens[static_cast<size_t>(i)], nullptr); }));
  // A pass larger than the cache: LRU alone would miss and evict every time; with admission,
  // the tokens that got in first stay cached and the others are verified without evicting.
  TokenCache small(1024);
  row("decide(), tokens round-robin, cache of 1024",
      measure(n, [&](long i) { decide(tokens[static_cast<size_t>(i)], &small); }));
  std::printf("  (cache of 1024: %llu hits, %llu misses, %llu evictions, %llu deferred inserts)\n",
              static_cast<unsigned long long>(small.hits()),
              static_cast<unsigned long long>(small.misses()),
              static_cast<unsigned long long>(small.evictions()),
              static_cast<unsigned long long>(small.deferred()));

  VerifiedToken verified;
  if (verifyToken(tokens[0], *keys, VerifyOptions(), kNow, &verified) != Status::Ok) return 1;
  auto vt = VerifiedTokenRef::make(std::move(verified));
  TokenCache ins(256);
  row("TokenCache::insert into full sets", measure(n, [&](long i) {
        ins.insert(tokens[static_cast<size_t>(i)], &policy, keys->id(), vt);
      }));
  return 0;
}

}  // namespace
}  // namespace tasker

int main(int argc, char** argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 10000;
  if (n < 1) n = 1;
  return tasker::run(static_cast<size_t>(n));
}
