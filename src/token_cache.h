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
// tokens out in about one run in 30.) A lookup reads at most 32 ways (16 bytes each: the tag and
// the entry pointer, eight cache lines read in parallel), then the one candidate's entry: one
// heap block with its scope, key set id, result pointer and token text, prefetched whole once
// its tag matches. With 10,000 tokens the entries are cold in the CPU's caches, so a hit costs
// the misses on that chain; the layout keeps it to the ways and one block (a separate slot
// array with the scope and the pointer cost one more dependent miss, about 0.2 µs in nginx).
//
// Admission: filling a free slot costs nothing, but displacing a valid entry does (its token,
// result and claims are freed from memory that has gone cold, a few µs). So an insert that would
// evict is admitted only for a token that already missed recently: the first such miss only
// records the token's hash in a filter of recent misses (one hash per slot, direct-mapped), the
// next one inserts. Under a pass of distinct tokens larger than the cache, tokens seen once per
// pass then never displace anything, and each request costs what an uncached verification costs
// rather than that plus an eviction; tokens that do repeat get in on their second miss.
//
// Memory (64-bit): kTokenCacheSlotBytes per entry of capacity (1 MiB for the default 32768),
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
// Fixed bytes per slot of capacity: a 16-byte way (tag and pointer to the heap-held entry: scope,
// key set id, VerifiedToken and token text), an 8-byte LRU stamp and an 8-byte admission filter
// entry.
constexpr size_t kTokenCacheSlotBytes = 32;
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
  const VerifiedTokenRef* find(std::string_view token, const void* scope, uint64_t keyset_id,
                               int64_t leeway_seconds, int64_t now) noexcept;

  // Stores a successfully verified token (it must carry claims; the entry shares it, so the
  // caller's copy stays valid whatever later inserts evict): in the slot already holding this
  // token and scope (for another key set), else in a free slot of its set, else, if the token
  // already missed recently (see Admission above), in place of the set's least recently used
  // entry; otherwise it only notes the token as recently missed. Never throws: on allocation
  // failure nothing is stored.
  void insert(std::string_view token, const void* scope, uint64_t keyset_id,
              VerifiedTokenRef verified) noexcept;

  void clear() noexcept;

  size_t slots() const noexcept { return sets_ * ways_; }  // capacity in entries
  size_t size() const noexcept { return used_; }           // entries held now
  uint64_t hits() const noexcept { return hits_; }
  uint64_t misses() const noexcept { return misses_; }
  uint64_t evictions() const noexcept { return evictions_; }  // valid entries replaced by insert
  uint64_t deferred() const noexcept { return deferred_; }    // inserts that only noted the token

 private:
  struct Entry;  // scope, key set, the shared result and the token text, in one heap block
  // Trivial, so the slot array can come zeroed from calloc (pages untouched until used).
  struct Slot {
    uint64_t tag;  // hash | 1, or 0 when free
    Entry* entry;  // owned; nullptr when free
  };

  uint64_t hash(std::string_view token) const noexcept;
  size_t setOf(uint64_t h) const noexcept;
  bool matches(size_t index, uint64_t tag, std::string_view token,
               const void* scope) const noexcept;
  bool used(size_t index) const noexcept { return slots_[index].tag != 0; }
  void drop(size_t index) noexcept;

  SeededHash hasher_;  // per cache: its random seed spreads tokens over the sets
  Slot* slots_ = nullptr;       // tag and entry, per slot
  uint64_t* stamps_ = nullptr;  // per slot: LRU clock value of the last insert or hit
  uint64_t* recent_ = nullptr;  // admission filter: hash | 1 of recent misses, direct-mapped
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
