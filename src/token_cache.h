// A per-worker cache of verified bearer tokens. A busy client sends the same token on every call,
// and a gateway sees thousands of clients; the cache lets every call after a token's first skip
// the signature check and the JSON parse.
//
// Entries are keyed by the SHA-256 of the token (never the token text, so a lookup's timing
// reveals nothing about cached tokens) together with the verifying scope (the policy) and the key
// set's id (a rotated JWKS set never serves entries of the old one). A hit is used only after the
// token's time claims pass again at `now` (Claims::checkTimes), so expiry stays exact. Only
// successful verifications are cached. Not thread-safe: one per nginx worker.
//
// Layout: set-associative, kTokenCacheWays entries per set with LRU replacement inside a set, and
// a power-of-two number of sets chosen by digest bits. Unlike a direct-mapped table, tokens that
// land in the same place do not evict each other while their set has room, so a working set up to
// about half the capacity is held without thrashing (the default, 32768 entries, holds 10,000
// round-robin tokens with no misses after the first pass). A lookup compares 16 tags held in two
// cache lines, then the full digest of the one candidate (in constant time).
//
// Memory (64-bit): kTokenCacheSlotBytes per entry of capacity (2.25 MiB for the default 32768),
// allocated zeroed so pages become resident only as entries fill, plus, per cached token, the
// VerifiedToken and its parsed claims on the heap (about 1-2 KiB for a typical token; README
// "Performance" has the figure `make bench` measured).
//
// Usage:
//   TokenCache cache(kTokenCacheDefaultEntries);
//   const VerifiedToken* hit = cache.find(digest, scope, keys.id(), leeway, now);
//   if (!hit) { ... verifyToken(...) == Ok ... cache.insert(digest, scope, keys.id(), vt); }
#pragma once

#include <cstddef>
#include <cstdint>

#include "digest.h"
#include "verify.h"

namespace tasker {

// Entries per set (associativity).
constexpr size_t kTokenCacheWays = 16;
// The default capacity (tasker_jwt_cache_size): 2048 sets of 16.
constexpr size_t kTokenCacheDefaultEntries = 32768;
// Fixed bytes per slot of capacity: an 8-byte tag and a 64-byte slot (digest, scope, key set id,
// LRU stamp, pointer to the heap-held VerifiedToken).
constexpr size_t kTokenCacheSlotBytes = 72;

class TokenCache {
 public:
  // Room for at least `entries` tokens: rounded up to a power-of-two number of sets of
  // kTokenCacheWays (fewer ways, one set, when entries < kTokenCacheWays). 0 disables the cache
  // (find always misses, insert does nothing); so does an allocation failure.
  explicit TokenCache(size_t entries);
  ~TokenCache();
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // The cached result for this token digest, scope and key set, if its time claims still pass at
  // `now` with `leeway_seconds`; nullptr otherwise (an entry that no longer passes is dropped).
  // A hit becomes its set's most recently used entry. The pointer is valid until the next
  // insert() or clear().
  const VerifiedToken* find(const Sha256Digest& digest, const void* scope, uint64_t keyset_id,
                            int64_t leeway_seconds, int64_t now) noexcept;

  // Stores a successfully verified token (it must carry claims): in the slot already holding this
  // digest and scope (for another key set), else in a free slot of its set, else in place of the
  // set's least recently used entry. Never throws: on allocation failure nothing is stored.
  void insert(const Sha256Digest& digest, const void* scope, uint64_t keyset_id,
              const VerifiedToken& token) noexcept;

  void clear() noexcept;

  size_t slots() const noexcept { return sets_ * ways_; }  // capacity in entries
  size_t size() const noexcept { return used_; }           // entries held now
  uint64_t hits() const noexcept { return hits_; }
  uint64_t misses() const noexcept { return misses_; }
  uint64_t evictions() const noexcept { return evictions_; }  // valid entries replaced by insert

 private:
  // Trivial, so the slot array can come zeroed from calloc (pages untouched until used).
  struct Slot {
    Sha256Digest digest;
    const void* scope;
    uint64_t keyset_id;
    uint64_t stamp;        // LRU clock value of the last insert or hit
    VerifiedToken* token;  // owned; nullptr when the slot is free
  };

  size_t setOf(const Sha256Digest& digest) const noexcept;
  void drop(size_t index) noexcept;

  uint64_t* tags_ = nullptr;  // per slot: digest bits | 1, or 0 when free
  Slot* slots_ = nullptr;
  size_t sets_ = 0;
  size_t ways_ = 0;
  size_t used_ = 0;
  uint64_t clock_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace tasker
