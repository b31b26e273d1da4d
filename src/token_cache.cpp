#include "token_cache.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#include <openssl/crypto.h>

namespace tasker {

namespace {

uint64_t load64(const unsigned char* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The tag of a digest: 63 of its bits, never 0 (0 marks a free slot). Tags only narrow the
// search; a hit still compares the whole digest.
uint64_t tagOf(const Sha256Digest& digest) noexcept { return load64(digest.data()) | 1u; }

}  // namespace

TokenCache::TokenCache(size_t entries) {
  static_assert(sizeof(uint64_t) + sizeof(Slot) == kTokenCacheSlotBytes, "documented slot cost");
  static_assert(std::is_trivial<Slot>::value, "slots come zeroed from calloc");
  if (entries == 0) return;
  size_t ways = entries < kTokenCacheWays ? entries : kTokenCacheWays;
  size_t sets = 1;
  while (sets * ways < entries) sets <<= 1;
  // calloc: the zeroed pages of a large table stay untouched (and out of RSS) until used.
  tags_ = static_cast<uint64_t*>(std::calloc(sets * ways, sizeof(uint64_t)));
  slots_ = static_cast<Slot*>(std::calloc(sets * ways, sizeof(Slot)));
  if (tags_ == nullptr || slots_ == nullptr) {  // no cache rather than no service
    std::free(tags_);
    std::free(slots_);
    tags_ = nullptr;
    slots_ = nullptr;
    return;
  }
  sets_ = sets;
  ways_ = ways;
}

TokenCache::~TokenCache() {
  clear();
  std::free(tags_);
  std::free(slots_);
}

size_t TokenCache::setOf(const Sha256Digest& digest) const noexcept {
  // The digest is uniformly distributed; bits other than the tag's pick the set.
  return static_cast<size_t>(load64(digest.data() + 8)) & (sets_ - 1);
}

void TokenCache::drop(size_t index) noexcept {
  delete slots_[index].token;
  slots_[index].token = nullptr;
  tags_[index] = 0;
  --used_;
}

const VerifiedToken* TokenCache::find(const Sha256Digest& digest, const void* scope,
                                      uint64_t keyset_id, int64_t leeway_seconds,
                                      int64_t now) noexcept {
  if (sets_ == 0) {
    ++misses_;
    return nullptr;
  }
  const uint64_t tag = tagOf(digest);
  const size_t base = setOf(digest) * ways_;
  for (size_t w = 0; w < ways_; ++w) {
    if (tags_[base + w] != tag) continue;
    Slot& s = slots_[base + w];
    if (s.scope != scope || s.keyset_id != keyset_id ||
        CRYPTO_memcmp(s.digest.data(), digest.data(), digest.size()) != 0) {
      continue;
    }
    // Expiry (and a clock that moved backwards past nbf/iat) is decided exactly as verifyToken
    // would decide it now; a token that no longer passes is dropped and verified afresh.
    if (!s.token->claims || s.token->claims->checkTimes(leeway_seconds, now) != Status::Ok) {
      drop(base + w);
      break;
    }
    s.stamp = ++clock_;
    ++hits_;
    return s.token;
  }
  ++misses_;
  return nullptr;
}

void TokenCache::insert(const Sha256Digest& digest, const void* scope, uint64_t keyset_id,
                        const VerifiedToken& token) noexcept {
  if (sets_ == 0 || !token.claims) return;
  VerifiedToken* copy = nullptr;
  try {
    copy = new VerifiedToken(token);
  } catch (...) {
    return;
  }
  const uint64_t tag = tagOf(digest);
  const size_t base = setOf(digest) * ways_;
  size_t victim = base;
  bool own = false;
  for (size_t w = 0; w < ways_; ++w) {
    size_t i = base + w;
    if (tags_[i] == 0) {  // a free slot; keep looking for this token's own slot
      if (tags_[victim] != 0) victim = i;
      continue;
    }
    const Slot& s = slots_[i];
    if (tags_[i] == tag && s.scope == scope &&
        CRYPTO_memcmp(s.digest.data(), digest.data(), digest.size()) == 0) {
      victim = i;  // the same token verified again (for another key set): replace it
      own = true;
      break;
    }
    if (tags_[victim] != 0 && s.stamp < slots_[victim].stamp) victim = i;
  }
  if (tags_[victim] != 0) {
    if (!own) ++evictions_;
    drop(victim);
  }
  Slot& s = slots_[victim];
  s.digest = digest;
  s.scope = scope;
  s.keyset_id = keyset_id;
  s.stamp = ++clock_;
  s.token = copy;
  tags_[victim] = tag;
  ++used_;
}

void TokenCache::clear() noexcept {
  for (size_t i = 0; i < sets_ * ways_; ++i) {
    if (tags_[i] != 0) drop(i);
  }
}

}  // namespace tasker
