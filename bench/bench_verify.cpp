// verifyToken cost per algorithm, in the core alone (no nginx): ns per verification, median of
// rounds. Build: see bench/README or the Makefile's bench target.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "algorithms.h"
#include "keys.h"
#include "signer.h"
#include "verify.h"

using namespace tasker;

int main() {
  struct Case {
    Alg alg;
    KeyAlgorithm ka;
  } cases[] = {{Alg::RS256, KeyAlgorithm::Rsa},
               {Alg::PS256, KeyAlgorithm::Rsa},
               {Alg::ES256, KeyAlgorithm::EcP256},
               {Alg::EdDSA, KeyAlgorithm::Ed25519}};
  const int64_t now = 1700000000;
  std::printf("%-6s %12s %12s\n", "alg", "ns/verify", "min ns");
  for (const Case& c : cases) {
    std::unique_ptr<SigningKey> sk;
    if (SigningKey::generate(c.ka, 2048, &sk) != Status::Ok) return 1;
    std::string pub, token;
    sk->publicPem(&pub);
    KeySetConstPtr keys;
    if (KeySet::fromPem(pub, &keys) != Status::Ok) return 1;
    std::string claims =
        "{\"sub\":\"bench\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":1699999990,"
        "\"exp\":1700003600,\"permissions\":[\"tasks:read\",\"tasks:list\"]}";
    std::string header = std::string("{\"alg\":\"") + algName(c.alg) + "\",\"typ\":\"JWT\"}";
    if (signJwt(*sk, c.alg, header, claims, &token) != Status::Ok) return 1;
    VerifyOptions opts;
    opts.algorithms = algBit(c.alg);
    std::vector<double> rounds;
    const int n = 2000;
    for (int r = 0; r < 7; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < n; ++i) {
        VerifiedToken vt;
        if (verifyToken(token, *keys, opts, now, &vt) != Status::Ok) return 2;
      }
      auto t1 = std::chrono::steady_clock::now();
      rounds.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / n);
    }
    std::sort(rounds.begin(), rounds.end());
    std::printf("%-6s %12.0f %12.0f\n", algName(c.alg), rounds[rounds.size() / 2], rounds[0]);
  }
  return 0;
}
