#include "algorithms.h"

namespace tasker {

namespace {

const char* const kAlgNames[kAlgCount] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                          "PS512", "ES256", "ES384", "ES512", "EdDSA"};

}  // namespace

Status parseAlg(std::string_view name, Alg* out) noexcept {
  // Exact match against the ten names only: "none", "HS256" and case variants such as "rs256"
  // fall through, so no configuration or token can select an unsigned or shared-secret scheme.
  for (int i = 0; i < kAlgCount; ++i) {
    if (name == kAlgNames[i]) {
      *out = static_cast<Alg>(i);
      return Status::Ok;
    }
  }
  return Status::ConfigBadAlgorithm;
}

const char* algName(Alg a) noexcept {
  int i = static_cast<int>(a);
  return i >= 0 && i < kAlgCount ? kAlgNames[i] : "unknown";
}

bool algFitsKey(Alg a, KeyType kt) noexcept {
  switch (a) {
    case Alg::RS256:
    case Alg::RS384:
    case Alg::RS512:
    case Alg::PS256:
    case Alg::PS384:
    case Alg::PS512:
      return kt == KeyType::Rsa;
    case Alg::ES256:
      return kt == KeyType::EcP256;
    case Alg::ES384:
      return kt == KeyType::EcP384;
    case Alg::ES512:
      return kt == KeyType::EcP521;
    case Alg::EdDSA:
      return kt == KeyType::Ed25519;
  }
  return false;
}

}  // namespace tasker
