// Shared helpers of the libFuzzer targets (fuzz/fuzz_*.cpp, `make fuzz`). Keys are generated in
// memory once per process: nothing secret is stored in the repository.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "algorithms.h"
#include "keys.h"
#include "signer.h"
#include "status.h"

namespace tasker {
namespace fuzz {

// The fixed "now" of every target (2023-11-14T22:13:20Z); the seeds' exp/iat fit it.
constexpr int64_t kNow = 1700000000;

// Every one of the ten algorithms.
constexpr AlgMask kAllAlgMask = (AlgMask{1} << kAlgCount) - 1;

// A finding: prints why and aborts, so libFuzzer records the input.
[[noreturn]] inline void die(const char* why) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", why);
  std::abort();
}

inline void check(bool ok, const char* why) {
  if (!ok) die(why);
}

inline std::unique_ptr<SigningKey> generateKey(KeyAlgorithm algorithm) {
  std::unique_ptr<SigningKey> key;
  check(SigningKey::generate(algorithm, 2048, &key) == Status::Ok, "key generation");
  return key;
}

inline KeySetConstPtr publicKeySet(const SigningKey& key) {
  std::string pem;
  check(key.publicPem(&pem) == Status::Ok, "public PEM");
  KeySetConstPtr ks;
  check(KeySet::fromPem(pem, &ks) == Status::Ok, "KeySet::fromPem of our own key");
  return ks;
}

inline std::string_view asView(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace fuzz
}  // namespace tasker
