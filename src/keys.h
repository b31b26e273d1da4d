// Verification keys: one PEM public key, or a JWKS document, parsed once (at configuration load or
// on JWKS refresh) into a KeySet whose keys never change. The request path only reads it, except
// that RSA and EC keys verify on an OpenSSL context they own (VerifyKey::inPlaceVerifyCtx), so a
// KeySet is used by one thread at a time: an nginx worker's event loop, the CLI.
//
// Usage:
//   KeySetConstPtr ks;
//   Status s = KeySet::fromPem(pem_text, &ks);          // public_key mode
//   Status s = KeySet::fromJwks(json_text, &ks, &log);  // jwks mode; log lists skipped keys
//   const VerifyKey* k = ks->find("kid-1");             // nullptr when absent
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "algorithms.h"
#include "status.h"

namespace tasker {

// One verification key. Holds an OpenSSL EVP_PKEY behind an opaque pointer, so this header needs
// no OpenSSL include.
class VerifyKey {
 public:
  ~VerifyKey();
  VerifyKey(const VerifyKey&) = delete;
  VerifyKey& operator=(const VerifyKey&) = delete;

  KeyType type() const noexcept { return type_; }
  const std::string& kid() const noexcept { return kid_; }     // empty for a PEM key
  std::optional<Alg> jwkAlg() const noexcept { return alg_; }  // the JWK's own "alg", if any
  int bits() const noexcept { return bits_; }
  void* evpPkey() const noexcept { return pkey_; }  // borrowed EVP_PKEY*; owned by this object

  // The verify contexts are prepared when the key is loaded, one per algorithm the key can
  // verify, so that no token pays for OpenSSL 3's algorithm fetching and provider setup (a few
  // µs per token). Both are borrowed, owned by this object; both nullptr when alg does not fit
  // the key.
  //
  // RSA and EC keys: an EVP_PKEY_CTX* after EVP_PKEY_verify_init with the signature digest and
  // padding of alg, used in place: verifySignature hashes the signing input itself and calls
  // EVP_PKEY_verify on it, as `openssl speed` does, with no context copied per token (about
  // 0.5 µs of an 18 µs RS256 verification). OpenSSL's verify keeps no state in the context
  // between calls, but two threads must not use it at once.
  void* inPlaceVerifyCtx(Alg alg) const noexcept { return in_place_[static_cast<int>(alg)]; }

  // Ed25519 keys (pure EdDSA hashes inside the scheme, so it takes no digest), and an RSA or EC
  // key whose in-place context could not be prepared: an EVP_MD_CTX* after EVP_DigestVerifyInit,
  // never used itself, only copied (EVP_MD_CTX_copy_ex) per verification; only read, so safe to
  // share between threads. Neither context prepared: verifySignature initialises one per call.
  const void* preparedVerifyCtx(Alg alg) const noexcept { return prepared_[static_cast<int>(alg)]; }

  // Takes ownership of pkey (an EVP_PKEY*). Validates type and size.
  static Status create(void* pkey, std::string kid, std::optional<Alg> alg,
                       std::unique_ptr<VerifyKey>* out);

 private:
  VerifyKey() = default;
  void prepare() noexcept;
  void* pkey_ = nullptr;
  void* prepared_[kAlgCount] = {};  // EVP_MD_CTX* per alg, owned
  void* in_place_[kAlgCount] = {};  // EVP_PKEY_CTX* per alg, owned
  KeyType type_ = KeyType::Rsa;
  std::string kid_;
  std::optional<Alg> alg_;
  int bits_ = 0;
};

// The number of PEM blocks in text, as fromPem counts them: every "-----BEGIN " counts, wherever
// it stands (also in a comment, or opening a block that never ends), so no block OpenSSL's reader
// could find is missed. fromPem refuses more than one; callers use the count in their messages.
// One pass over text, no allocation. A block whose label starts with except (when not empty),
// such as "EC PARAMETERS-----" before an EC private key, is not counted.
size_t pemBlockCount(std::string_view text, std::string_view except = {}) noexcept;

class KeySet;
using KeySetPtr = std::shared_ptr<KeySet>;
using KeySetConstPtr = std::shared_ptr<const KeySet>;

// A set of verification keys, fixed once built (see the top of this file for threads).
class KeySet {
 public:
  // One PEM public key: SPKI "BEGIN PUBLIC KEY" (RSA, EC P-256/384/521, Ed25519) or PKCS#1
  // "BEGIN RSA PUBLIC KEY". RSA under 2048 bits gives KeyTooSmall; a private key, certificate or
  // garbage gives KeyInvalidPem; other curves KeyUnsupported. The text must hold exactly one PEM
  // block (text before and after it, such as comments, is ignored): a second block of any label
  // gives KeyMultiplePemBlocks, checked before anything is decoded. Why: only one key is used, so a
  // second public key would silently never verify, and a private key must not sit on the gateway.
  static Status fromPem(std::string_view pem, KeySetConstPtr* out);

  // Reads a PEM file then calls fromPem. Unreadable, or not a regular file (a FIFO is refused,
  // not waited on): KeyUnreadable.
  static Status fromPemFile(const std::string& path, KeySetConstPtr* out);

  // A JWKS document ({"keys":[...]}), at most kMaxJwksBytes and kMaxJwksKeys keys.
  // kty RSA (2048..16384 bits), EC (P-256, P-384, P-521) and OKP (Ed25519) are read; a key with
  // "use" other than "sig", an unknown kty/crv, bad members or no kid is skipped and described in
  // *skipped (may be nullptr). No usable key left: JwksNoUsableKeys. Duplicate kids: first wins.
  static Status fromJwks(std::string_view json, KeySetConstPtr* out,
                         std::vector<std::string>* skipped);

  size_t size() const noexcept { return keys_.size(); }
  const VerifyKey* find(std::string_view kid) const noexcept;  // by kid; nullptr if absent
  const VerifyKey* first() const noexcept { return keys_.empty() ? nullptr : keys_[0].get(); }
  const std::vector<std::unique_ptr<VerifyKey>>& keys() const noexcept { return keys_; }

  // Unique among all KeySets built in this process, never reused: a cache can tell a rotated
  // set from its predecessor even if the new one lands at the old one's address.
  uint64_t id() const noexcept { return id_; }

 private:
  static uint64_t nextId() noexcept;

  std::vector<std::unique_ptr<VerifyKey>> keys_;
  uint64_t id_ = nextId();
};

}  // namespace tasker
