// JWK export of a PUBLIC key (for `tasker-ctl auth jwks`). The core's SigningKey exports JWKs
// from a private key only; this reads the public parameters of a loaded VerifyKey instead.
#pragma once

#include <string>

#include "algorithms.h"
#include "keys.h"
#include "status.h"

namespace tasker {
namespace cli {

// The public members of a JWK (RFC 7517/7518/8037), base64url-encoded. Unused members are empty.
struct PublicJwk {
  std::string kty;       // "RSA", "EC" or "OKP"
  std::string crv;       // "P-256", "P-384", "P-521", "Ed25519"
  std::string n, e;      // RSA
  std::string x, y;      // EC (x, y fixed-length coordinates), OKP (x only)
  Alg alg = Alg::RS256;  // RS256, ES256/ES384/ES512 or EdDSA, following the key type
};

// Reads the public parameters of key. KeyUnsupported for a type we cannot export, Internal when
// OpenSSL refuses (the OpenSSL error queue is cleared).
Status publicJwkOf(const VerifyKey& key, PublicJwk* out);

// RFC 7638 thumbprint: base64url(SHA-256 of the required members in lexicographic order).
std::string jwkThumbprint(const PublicJwk& jwk);

// A JWKS document {"keys":[{...}]} as pretty JSON, with kid, use "sig" and alg members.
std::string jwksDocument(const PublicJwk& jwk, const std::string& kid);

}  // namespace cli
}  // namespace tasker
