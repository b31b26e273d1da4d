#include "token_cache.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <type_traits>

#include <openssl/crypto.h>

#include "ct_equal.h"
#include "hot.h"

namespace tasker {

namespace {
constexpr size_t kCacheLine = 64;  // bytes the CPU fetches at once (x86-64, arm64)
}  // namespace

// One allocation per cached token: this header, then the token's bytes. A hit checks the scope
// and key set, reads the result pointer and starts comparing the text on the same cache line,
// with no slot or separate string buffer to chase first.
struct TokenCache::Entry {
  VerifiedTokenRef verified;  // shared with the decisions that use it
  // verified->claims, owned by it: a copy here lets a hit prefetch the claims on the entry's
  // first line instead of after the result's line arrives.
  const Claims* claims;
  const void* scope;
  uint64_t keyset_id;
  size_t size;  // of the token text that follows

  std::string_view text() const noexcept {
    return std::string_view(reinterpret_cast<const char*>(this + 1), size);
  }

  // nullptr when memory runs out.
  static Entry* make(std::string_view token, const void* scope, uint64_t keyset_id,
                     VerifiedTokenRef v) noexcept {
    void* mem = std::malloc(sizeof(Entry) + token.size());
    if (mem == nullptr) return nullptr;
    const Claims* claims = v->claims.get();
    Entry* e = new (mem) Entry{std::move(v), claims, scope, keyset_id, token.size()};
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
  static_assert(sizeof(Entry) + 16 <= kCacheLine,
                "an entry's header and its text start share a cache line");
  static_assert(std::is_trivial<Slot>::value, "slots come zeroed from calloc");
  if (entries == 0) return;
  size_t ways = entries < kTokenCacheWays ? entries : kTokenCacheWays;
  size_t sets = 1;
  while (sets * ways < entries) sets <<= 1;
  // calloc: the zeroed pages of a large table stay untouched (and out of RSS) until used.
  slots_ = static_cast<Slot*>(std::calloc(sets * ways, sizeof(Slot)));
  stamps_ = static_cast<uint64_t*>(std::calloc(sets * ways, sizeof(uint64_t)));
  recent_ = static_cast<uint64_t*>(std::calloc(sets * ways, sizeof(uint64_t)));
  if (slots_ == nullptr || stamps_ == nullptr || recent_ == nullptr) {  // no cache, not no service
    std::free(slots_);
    std::free(stamps_);
    std::free(recent_);
    slots_ = nullptr;
    stamps_ = nullptr;
    recent_ = nullptr;
    return;
  }
  sets_ = sets;
  ways_ = ways;
}

TokenCache::~TokenCache() {
  clear();
  std::free(slots_);
  std::free(stamps_);
  std::free(recent_);
}

TASKER_HOT
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

TASKER_HOT
size_t TokenCache::setOf(uint64_t h) const noexcept {
  return static_cast<size_t>(h >> 32) & (sets_ - 1);
}

TASKER_HOT
bool TokenCache::matches(size_t index, uint64_t tag, std::string_view token,
                         const void* scope) const noexcept {
  if (slots_[index].tag != tag) return false;
  const Entry* e = slots_[index].entry;
  // The whole entry is cold when many tokens take turns: ask for all of its lines at once
  // rather than one dependent miss after another while the compare walks the text, and for the
  // result and claims a hit reads next (find's checkTimes, then the permission check). The
  // presented token's length bounds the loop: the entry's own is on the line being fetched.
  const char* p = reinterpret_cast<const char*>(e);
  for (size_t off = kCacheLine; off < sizeof(Entry) + token.size(); off += kCacheLine) {
    __builtin_prefetch(p + off);
  }
  const char* v = reinterpret_cast<const char*>(e->verified.get());
  __builtin_prefetch(v);
  __builtin_prefetch(v + kCacheLine);
  const char* c = reinterpret_cast<const char*>(e->claims);  // the claims classes keep the times
  __builtin_prefetch(c);                                      // first, read by checkTimes
  __builtin_prefetch(c + kCacheLine);
  return e->scope == scope && sameBytes(e->text(), token);
}

void TokenCache::drop(size_t index) noexcept {
  Entry::destroy(slots_[index].entry);
  slots_[index].entry = nullptr;
  slots_[index].tag = 0;
  --used_;
}

TASKER_HOT
const VerifiedTokenRef* TokenCache::find(std::string_view token, const void* scope,
                                         uint64_t keyset_id, int64_t leeway_seconds,
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
    Entry* e = slots_[base + w].entry;
    if (e->keyset_id != keyset_id) break;  // verified with another key set: never served
    // Expiry (and a clock that moved backwards past nbf/iat) is decided exactly as verifyToken
    // would decide it now; a token that no longer passes is dropped and verified afresh.
    const VerifiedToken& vt = *e->verified;
    if (!vt.claims || vt.claims->checkTimes(leeway_seconds, now) != Status::Ok) {
      drop(base + w);
      break;
    }
    stamps_[base + w] = ++clock_;
    ++hits_;
    return &e->verified;
  }
  ++misses_;
  return nullptr;
}

void TokenCache::insert(std::string_view token, const void* scope, uint64_t keyset_id,
                        VerifiedTokenRef verified) noexcept {
  if (sets_ == 0 || !verified || !verified->claims) return;
  const uint64_t h = hash(token);
  const uint64_t tag = h | 1u;
  const size_t base = setOf(h) * ways_;
  size_t victim = base;
  bool own = false;
  for (size_t w = 0; w < ways_; ++w) {
    size_t i = base + w;
    if (!used(i)) {  // a free slot; keep looking for this token's own slot
      if (used(victim)) victim = i;
      continue;
    }
    if (matches(i, tag, token, scope)) {
      victim = i;  // the same token verified again (for another key set): replace it
      own = true;
      break;
    }
    if (used(victim) && stamps_[i] < stamps_[victim]) victim = i;
  }
  const bool evicts = used(victim) && !own;
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
  Entry* entry = Entry::make(token, scope, keyset_id, std::move(verified));
  if (entry == nullptr) return;
  if (used(victim)) {
    if (evicts) ++evictions_;
    drop(victim);
  }
  slots_[victim].tag = tag;
  slots_[victim].entry = entry;
  stamps_[victim] = ++clock_;
  ++used_;
}

void TokenCache::clear() noexcept {
  for (size_t i = 0; i < sets_ * ways_; ++i) {
    if (used(i)) drop(i);
  }
}

}  // namespace tasker
