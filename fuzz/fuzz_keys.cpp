// libFuzzer target: the key loaders (keys.h). The same bytes are read as a JWKS document and as
// a PEM public key, and every usable key found is checked for a consistent type and size.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "keys.h"

using namespace tasker;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::asView(data, size);

  KeySetConstPtr ks;
  std::vector<std::string> skipped;
  if (KeySet::fromJwks(text, &ks, &skipped) == Status::Ok) {
    fuzz::check(ks && ks->size() > 0, "JWKS Ok without keys");
    for (const auto& k : ks->keys()) {
      fuzz::check(k->evpPkey() != nullptr, "JWKS key without EVP_PKEY");
      fuzz::check(ks->find(k->kid()) != nullptr, "JWKS key not found by its kid");
      if (k->type() == KeyType::Rsa) fuzz::check(k->bits() >= 2048, "small RSA key accepted");
    }
  }

  KeySetConstPtr pem;
  if (KeySet::fromPem(text, &pem) == Status::Ok) {
    fuzz::check(pem && pem->size() == 1 && pem->first() != nullptr, "PEM Ok without one key");
    fuzz::check(pemBlockCount(text) == 1, "PEM Ok from text with other than one PEM block");
    if (pem->first()->type() == KeyType::Rsa) {
      fuzz::check(pem->first()->bits() >= 2048, "small RSA PEM key accepted");
    }
  }
  return 0;
}
