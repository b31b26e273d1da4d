// Private-key operations: generate keys, load private PEM, sign tokens, export public PEM and JWK.
// Used by tasker-ctl and the tests, never by the module's request path.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "algorithms.h"
#include "status.h"

namespace tasker {

enum class KeyAlgorithm { Rsa, EcP256, Ed25519 };

class SigningKey {
 public:
  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  // New key. RSA under kMinRsaBits gives KeyTooSmall.
  static Status generate(KeyAlgorithm algorithm, int rsa_bits, std::unique_ptr<SigningKey>* out);
  // Private PEM: PKCS#8 ("BEGIN PRIVATE KEY"), PKCS#1 ("BEGIN RSA PRIVATE KEY"), SEC1
  // ("BEGIN EC PRIVATE KEY"). Unencrypted only. The text must hold one key block (an "EC
  // PARAMETERS" block besides it is allowed): more blocks of any other label give
  // KeyMultiplePemBlocks, checked before anything is decoded.
  static Status fromPem(std::string_view pem, std::unique_ptr<SigningKey>* out);

  KeyType type() const noexcept { return type_; }
  // RS256 for RSA, ES256/ES384/ES512 for the EC curves, EdDSA for Ed25519.
  Alg defaultAlg() const noexcept;

  Status privatePem(std::string* out) const;  // PKCS#8 PEM
  Status publicPem(std::string* out) const;   // SPKI PEM ("BEGIN PUBLIC KEY")
  // RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key.
  Status thumbprint(std::string* out) const;
  // Public JWK object text with kid, use "sig" and alg (defaultAlg) members.
  Status publicJwk(std::string_view kid, std::string* out) const;

  void* evpPkey() const noexcept { return pkey_; }  // borrowed EVP_PKEY*

 private:
  SigningKey() = default;
  void* pkey_ = nullptr;
  KeyType type_ = KeyType::Rsa;
};

// Signs header_json and claims_json verbatim (so tests can craft odd headers): returns
// b64url(header).b64url(claims).b64url(sig). alg must fit the key (else TokenAlgKeyMismatch).
Status signJwt(const SigningKey& key, Alg alg, std::string_view header_json,
               std::string_view claims_json, std::string* token);

}  // namespace tasker
