// Bench helper (not a benchmark itself): prints N distinct valid bearer tokens, one per line,
// signed with a private key, with the claims tasker-ctl auth generate-token writes (sub user-<i>,
// iss tasker-core, aud tasker-api, permissions ["tasks:read"], 24 h lifetime). Used by
// bench/e2e.sh for the many-tokens workload; faster than N runs of tasker-ctl.
//
//   build/bench/mint_tokens PRIVATE_KEY_PEM N > tokens.txt
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "signer.h"

int main(int argc, char** argv) {
  using namespace tasker;
  if (argc != 3) {
    std::fprintf(stderr, "usage: mint_tokens PRIVATE_KEY_PEM N\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::unique_ptr<SigningKey> key;
  if (!in || SigningKey::fromPem(pem, &key) != Status::Ok) {
    std::fprintf(stderr, "mint_tokens: cannot read the private key %s\n", argv[1]);
    return 1;
  }
  long n = std::atol(argv[2]);
  long long now = static_cast<long long>(std::time(nullptr));
  Alg alg = key->defaultAlg();
  std::string header = std::string("{\"alg\":\"") + algName(alg) + "\",\"typ\":\"JWT\"}";
  for (long i = 0; i < n; ++i) {
    std::string claims =
        "{\"sub\":\"user-" + std::to_string(i) +
        "\",\"iss\":\"tasker-core\",\"aud\":\"tasker-api\",\"iat\":" + std::to_string(now) +
        ",\"exp\":" + std::to_string(now + 86400) +
        ",\"permissions\":[\"tasks:read\"],\"worker_namespaces\":[]}";
    std::string token;
    if (signJwt(*key, alg, header, claims, &token) != Status::Ok) {
      std::fprintf(stderr, "mint_tokens: signing failed\n");
      return 1;
    }
    std::printf("%s\n", token.c_str());
  }
  return 0;
}
