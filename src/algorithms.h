// The ten JWS algorithms we verify (SPEC 2). none and HS* are deliberately absent: a shared-secret
// or unsigned token can never be accepted, whatever the configuration says.
#pragma once

#include <cstdint>
#include <string_view>

#include "status.h"

namespace tasker {

enum class Alg : uint8_t { RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA };
constexpr int kAlgCount = 10;

// Bit set of Alg values, bit = 1 << int(alg).
using AlgMask = uint32_t;
constexpr AlgMask algBit(Alg a) { return AlgMask{1} << static_cast<int>(a); }
constexpr AlgMask kDefaultAlgs = algBit(Alg::RS256);

// Parses an exact, case-sensitive name. Unknown names, "none" and HS* give ConfigBadAlgorithm.
Status parseAlg(std::string_view name, Alg* out) noexcept;

// "RS256" ... "EdDSA". Static storage.
const char* algName(Alg a) noexcept;

// Key families an algorithm needs.
enum class KeyType : uint8_t { Rsa, EcP256, EcP384, EcP521, Ed25519 };

// True when a key of type kt can verify alg: RS*/PS* need Rsa, ES256 EcP256, ES384 EcP384,
// ES512 EcP521, EdDSA Ed25519.
bool algFitsKey(Alg a, KeyType kt) noexcept;

}  // namespace tasker
