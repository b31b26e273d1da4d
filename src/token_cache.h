// A per-worker cache of verified bearer tokens. A busy client sends the same token on every call,
// and a gateway sees thousands of clients; the cache lets every call after a token's first skip
// the signature check and the JSON parse.
//
// Entries are keyed by the token's exact bytes together with the verifying scope (the policy) and
// the key set's id (a rotated JWKS set never serves entries of the old one). A hit is used only
// after the token's time claims pass again at `now` (Claims::checkTimes), so expiry stays exact.
// Only successful verifications are cached. Not thread-safe: one per nginx worker.
//
// Lookup: a 64-bit hash of the token, keyed with a per-cache random seed, picks a set and gives
// a tag; a candidate whose tag, scope, key set and length match is then compared byte for byte in
// constant time, so the decision is exact (no hash collision can serve another token's result)
// and its timing reveals nothing about the cached tokens' contents. Hashing at memory speed
// rather than with SHA-256 is what makes a hit cost next to nothing: a SHA-256 of a 550-byte
// token is about 0.4 µs, more than the rest of a hit together. The cache therefore holds the
// token text (the worker holds it anyway while it serves the request); a dropped entry's text is
// wiped before it is freed.
//
// Layout: set-associative, kTokenCacheWays entries per set with LRU replacement inside a set, and
// a power-of-two number of sets. Unlike a direct-mapped table, tokens that land in the same place
// do not evict each other while their set has room. With 32 ways, a working set of a third of
// the capacity fits: 10,000 tokens spread over the default's 1024 sets average under 10 per set,
// and the chance that any set receives more than 32 is about 1 in 200,000, so the default holds
// 10,000 round-robin tokens with no misses after the first pass. (16 ways would leave a few
// tokens out in about one run in 30.) A lookup reads at most 32 tags (four cache lines), then
// the one candidate.
//
// Admission: filling a free slot costs nothing, but displacing a valid entry does (its token,
// result and claims are freed from memory that has gone cold, a few µs). So an insert that would
// evict is admitted only for a token that already missed recently: the first such miss only
// records the token's hash in a filter of recent misses (one hash per slot, direct-mapped), the
// next one inserts. Under a pass of distinct tokens larger than the cache, tokens seen once per
// pass then never displace anything, and each request costs what an uncached verification costs
// rather than that plus an eviction; tokens that do repeat get in on their second miss.
//
// Memory (64-bit): kTokenCacheSlotBytes per entry of capacity (1.5 MiB for the default 32768),
// allocated zeroed so pages become resident only as entries fill, plus, per cached token, the
// token text, the VerifiedToken and its parsed claims on the heap (README "Performance" has the
// per-token figure `make bench` measured).
//
// Usage:
//   TokenCache cache(kTokenCacheDefaultEntries);
//   const VerifiedToken* hit = cache.find(token, scope, keys.id(), leeway, now);
//   if (!hit) { ... verifyToken(...) == Ok ... cache.insert(token, scope, keys.id(), shared_vt); }
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "seeded_hash.h"
#include "verify.h"

namespace tasker {

// Entries per set (associativity).
constexpr size_t kTokenCacheWays = 32;
// The default capacity (tasker_jwt_cache_size): 1024 sets of 32.
constexpr size_t kTokenCacheDefaultEntries = 32768;
// Fixed bytes per slot of capacity: an 8-byte tag, a 32-byte slot (scope, key set id, LRU
// stamp, pointer to the heap-held token text and VerifiedToken) and an 8-byte admission filter
// entry.
constexpr size_t kTokenCacheSlotBytes = 48;
// The hash that picks a token's set and tag reads its length and only this many bytes from its
// end: the signature (token_cache.cpp says why that is enough).
constexpr size_t kTokenCacheHashedBytes = 64;

class TokenCache {
 public:
  // Room for at least `entries` tokens: rounded up to a power-of-two number of sets of
  // kTokenCacheWays (fewer ways, one set, when entries < kTokenCacheWays). 0 disables the cache
  // (find always misses, insert does nothing); so does an allocation failure.
  explicit TokenCache(size_t entries);
  ~TokenCache();
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // The cached result for this token, scope and key set, if its time claims still pass at
  // `now` with `leeway_seconds`; nullptr otherwise (an entry that no longer passes is dropped).
  // A hit becomes its set's most recently used entry. The pointer is the entry's own shared
  // result, valid until the next insert() or clear(): copy it to keep the result longer.
  const std::shared_ptr<const VerifiedToken>* find(std::string_view token, const void* scope,
                                                   uint64_t keyset_id, int64_t leeway_seconds,
                                                   int64_t now) noexcept;

  // Stores a successfully verified token (it must carry claims; the entry shares it, so the
  // caller's copy stays valid whatever later inserts evict): in the slot already holding this
  // token and scope (for another key set), else in a free slot of its set, else, if the token
  // already missed recently (see Admission above), in place of the set's least recently used
  // entry; otherwise it only notes the token as recently missed. Never throws: on allocation
  // failure nothing is stored.
  void insert(std::string_view token, const void* scope, uint64_t keyset_id,
              std::shared_ptr<const VerifiedToken> verified) noexcept;

  void clear() noexcept;

  size_t slots() const noexcept { return sets_ * ways_; }  // capacity in entries
  size_t size() const noexcept { return used_; }           // entries held now
  uint64_t hits() const noexcept { return hits_; }
  uint64_t misses() const noexcept { return misses_; }
  uint64_t evictions() const noexcept { return evictions_; }  // valid entries replaced by insert
  uint64_t deferred() const noexcept { return deferred_; }    // inserts that only noted the token

 private:
  struct Entry;  // the shared result and the token text, in one heap block
  // Trivial, so the slot array can come zeroed from calloc (pages untouched until used).
  struct Slot {
    const void* scope;
    uint64_t keyset_id;
    uint64_t stamp;  // LRU clock value of the last insert or hit
    Entry* entry;    // owned; nullptr when the slot is free
  };

  uint64_t hash(std::string_view token) const noexcept;
  size_t setOf(uint64_t h) const noexcept;
  bool matches(size_t index, uint64_t tag, std::string_view token,
               const void* scope) const noexcept;
  void drop(size_t index) noexcept;

  SeededHash hasher_;  // per cache: its random seed spreads tokens over the sets
  uint64_t* tags_ = nullptr;    // per slot: hash | 1, or 0 when free
  uint64_t* recent_ = nullptr;  // admission filter: hash | 1 of recent misses, direct-mapped
  Slot* slots_ = nullptr;
  size_t sets_ = 0;
  size_t ways_ = 0;
  size_t used_ = 0;
  uint64_t clock_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  uint64_t evictions_ = 0;
  uint64_t deferred_ = 0;
};

}  // namespace tasker
