#include "token_cache.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <type_traits>

#include <openssl/crypto.h>

#include "ct_equal.h"

namespace tasker {

// One allocation per cached token: this header, then the token's bytes. A hit reads the result
// pointer and starts comparing the text on the same cache line, with no pointer to a separate
// string buffer to chase first.
struct TokenCache::Entry {
  std::shared_ptr<const VerifiedToken> verified;  // shared with the decisions that use it
  size_t size;                                    // of the token text that follows

  std::string_view text() const noexcept {
    return std::string_view(reinterpret_cast<const char*>(this + 1), size);
  }

  // nullptr when memory runs out.
  static Entry* make(std::string_view token, std::shared_ptr<const VerifiedToken> v) noexcept {
    void* mem = std::malloc(sizeof(Entry) + token.size());
    if (mem == nullptr) return nullptr;
    Entry* e = new (mem) Entry{std::move(v), token.size()};
    if (!token.empty()) std::memcpy(reinterpret_cast<char*>(e + 1), token.data(), token.size());
    return e;
  }

  // Wipes the text: an evicted token does not linger in freed memory.
  static void destroy(Entry* e) noexcept {
    OPENSSL_cleanse(reinterpret_cast<char*>(e + 1), e->size);
    e->~Entry();
    std::free(e);
  }
};

TokenCache::TokenCache(size_t entries) {
  static_assert(2 * sizeof(uint64_t) + sizeof(Slot) == kTokenCacheSlotBytes,
                "documented slot cost");
  static_assert(std::is_trivial<Slot>::value, "slots come zeroed from calloc");
  if (entries == 0) return;
  size_t ways = entries < kTokenCacheWays ? entries : kTokenCacheWays;
  size_t sets = 1;
  while (sets * ways < entries) sets <<= 1;
  // calloc: the zeroed pages of a large table stay untouched (and out of RSS) until used.
  tags_ = static_cast<uint64_t*>(std::calloc(sets * ways, sizeof(uint64_t)));
  recent_ = static_cast<uint64_t*>(std::calloc(sets * ways, sizeof(uint64_t)));
  slots_ = static_cast<Slot*>(std::calloc(sets * ways, sizeof(Slot)));
  if (tags_ == nullptr || recent_ == nullptr || slots_ == nullptr) {  // no cache, not no service
    std::free(tags_);
    std::free(recent_);
    std::free(slots_);
    tags_ = nullptr;
    recent_ = nullptr;
    slots_ = nullptr;
    return;
  }
  sets_ = sets;
  ways_ = ways;
}

TokenCache::~TokenCache() {
  clear();
  std::free(tags_);
  std::free(recent_);
  std::free(slots_);
}

uint64_t TokenCache::hash(std::string_view token) const noexcept {
  // The length and the last kTokenCacheHashedBytes bytes only: a JWT ends with its signature, so
  // that tail differs between any two tokens an issuer signed, and only verified tokens are ever
  // inserted. Tokens that share a tail (a forged payload in front of a cached token's signature)
  // share a set and a tag, and the full constant-time compare in matches() tells them apart: the
  // hash only places entries, exactness never depends on it. A few dozen cycles whatever the
  // token's length.
  size_t n = token.size() < kTokenCacheHashedBytes ? token.size() : kTokenCacheHashedBytes;
  return hasher_(token.data() + token.size() - n, n, token.size());
}

size_t TokenCache::setOf(uint64_t h) const noexcept {
  return static_cast<size_t>(h >> 32) & (sets_ - 1);
}

bool TokenCache::matches(size_t index, uint64_t tag, std::string_view token,
                         const void* scope) const noexcept {
  return tags_[index] == tag && slots_[index].scope == scope &&
         sameBytes(slots_[index].entry->text(), token);
}

void TokenCache::drop(size_t index) noexcept {
  Entry::destroy(slots_[index].entry);
  slots_[index].entry = nullptr;
  tags_[index] = 0;
  --used_;
}

const std::shared_ptr<const VerifiedToken>* TokenCache::find(std::string_view token,
                                                             const void* scope, uint64_t keyset_id,
                                                             int64_t leeway_seconds,
                                                             int64_t now) noexcept {
  if (sets_ == 0) {
    ++misses_;
    return nullptr;
  }
  const uint64_t h = hash(token);
  const uint64_t tag = h | 1u;
  const size_t base = setOf(h) * ways_;
  for (size_t w = 0; w < ways_; ++w) {
    if (!matches(base + w, tag, token, scope)) continue;
    Slot& s = slots_[base + w];
    if (s.keyset_id != keyset_id) break;  // verified with another key set: never served
    // Expiry (and a clock that moved backwards past nbf/iat) is decided exactly as verifyToken
    // would decide it now; a token that no longer passes is dropped and verified afresh.
    const VerifiedToken& vt = *s.entry->verified;
    if (!vt.claims || vt.claims->checkTimes(leeway_seconds, now) != Status::Ok) {
      drop(base + w);
      break;
    }
    s.stamp = ++clock_;
    ++hits_;
    return &s.entry->verified;
  }
  ++misses_;
  return nullptr;
}

void TokenCache::insert(std::string_view token, const void* scope, uint64_t keyset_id,
                        std::shared_ptr<const VerifiedToken> verified) noexcept {
  if (sets_ == 0 || !verified || !verified->claims) return;
  const uint64_t h = hash(token);
  const uint64_t tag = h | 1u;
  const size_t base = setOf(h) * ways_;
  size_t victim = base;
  bool own = false;
  for (size_t w = 0; w < ways_; ++w) {
    size_t i = base + w;
    if (tags_[i] == 0) {  // a free slot; keep looking for this token's own slot
      if (tags_[victim] != 0) victim = i;
      continue;
    }
    if (matches(i, tag, token, scope)) {
      victim = i;  // the same token verified again (for another key set): replace it
      own = true;
      break;
    }
    if (tags_[victim] != 0 && slots_[i].stamp < slots_[victim].stamp) victim = i;
  }
  const bool evicts = tags_[victim] != 0 && !own;
  if (evicts) {
    // Admission: only a token that missed recently may displace a valid entry.
    uint64_t& seen = recent_[static_cast<size_t>(h % (sets_ * ways_))];
    if (seen != tag) {
      seen = tag;
      ++deferred_;
      return;
    }
    seen = 0;
  }
  Entry* entry = Entry::make(token, std::move(verified));
  if (entry == nullptr) return;
  if (tags_[victim] != 0) {
    if (evicts) ++evictions_;
    drop(victim);
  }
  Slot& s = slots_[victim];
  s.scope = scope;
  s.keyset_id = keyset_id;
  s.stamp = ++clock_;
  s.entry = entry;
  tags_[victim] = tag;
  ++used_;
}

void TokenCache::clear() noexcept {
  for (size_t i = 0; i < sets_ * ways_; ++i) {
    if (tags_[i] != 0) drop(i);
  }
}

}  // namespace tasker
