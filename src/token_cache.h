// A per-worker cache of verified bearer tokens. A busy client sends the same token on every call;
// the cache lets the second and later calls skip the signature check and the JSON parse.
//
// Entries are keyed by the SHA-256 of the token (never the token text, so a lookup's timing
// reveals nothing about cached tokens) together with the verifying scope (the policy) and the key
// set's id (a rotated JWKS set never serves entries of the old one). A hit is used only after the
// token's time claims pass again at `now` (Claims::checkTimes), so expiry stays exact. Only
// successful verifications are cached. Fixed size, direct-mapped: a colliding insert replaces the
// slot. Not thread-safe: one per nginx worker.
//
// Usage:
//   TokenCache cache(1024);
//   const VerifiedToken* hit = cache.find(digest, scope, keys.id(), leeway, now);
//   if (!hit) { ... verifyToken(...) == Ok ... cache.insert(digest, scope, keys.id(), vt); }
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "digest.h"
#include "verify.h"

namespace tasker {

class TokenCache {
 public:
  // slots == 0 disables the cache (find always misses, insert does nothing).
  explicit TokenCache(size_t slots);

  // The cached result for this token digest, scope and key set, if its time claims still pass at
  // `now` with `leeway_seconds`; nullptr otherwise (an entry that no longer passes is dropped).
  // The pointer is valid until the next insert() or clear().
  const VerifiedToken* find(const Sha256Digest& digest, const void* scope, uint64_t keyset_id,
                            int64_t leeway_seconds, int64_t now) noexcept;

  // Stores a successfully verified token (it must carry claims). Never throws: on allocation
  // failure the slot is left empty.
  void insert(const Sha256Digest& digest, const void* scope, uint64_t keyset_id,
              const VerifiedToken& token) noexcept;

  void clear() noexcept;

  size_t slots() const noexcept { return entries_.size(); }
  uint64_t hits() const noexcept { return hits_; }
  uint64_t misses() const noexcept { return misses_; }

 private:
  struct Entry {
    bool used = false;
    Sha256Digest digest{};
    const void* scope = nullptr;
    uint64_t keyset_id = 0;
    VerifiedToken token;
  };

  Entry* slotFor(const Sha256Digest& digest) noexcept;

  std::vector<Entry> entries_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace tasker
