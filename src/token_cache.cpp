#include "token_cache.h"

#include <cstring>
#include <new>

#include <openssl/crypto.h>

namespace tasker {

TokenCache::TokenCache(size_t slots) {
  try {
    entries_.resize(slots);
  } catch (...) {
    entries_.clear();  // no cache rather than no service
  }
}

TokenCache::Entry* TokenCache::slotFor(const Sha256Digest& digest) noexcept {
  if (entries_.empty()) return nullptr;
  // The digest is uniformly distributed, so any 8 of its bytes index the table well.
  uint64_t h;
  std::memcpy(&h, digest.data(), sizeof(h));
  return &entries_[h % entries_.size()];
}

const VerifiedToken* TokenCache::find(const Sha256Digest& digest, const void* scope,
                                      uint64_t keyset_id, int64_t leeway_seconds,
                                      int64_t now) noexcept {
  Entry* e = slotFor(digest);
  if (e == nullptr || !e->used || e->scope != scope || e->keyset_id != keyset_id ||
      CRYPTO_memcmp(e->digest.data(), digest.data(), digest.size()) != 0) {
    ++misses_;
    return nullptr;
  }
  // Expiry (and a clock that moved backwards past nbf/iat) is decided exactly as verifyToken
  // would decide it now; a token that no longer passes is dropped and verified afresh.
  if (!e->token.claims || e->token.claims->checkTimes(leeway_seconds, now) != Status::Ok) {
    e->used = false;
    e->token = VerifiedToken();
    ++misses_;
    return nullptr;
  }
  ++hits_;
  return &e->token;
}

void TokenCache::insert(const Sha256Digest& digest, const void* scope, uint64_t keyset_id,
                        const VerifiedToken& token) noexcept {
  Entry* e = slotFor(digest);
  if (e == nullptr || !token.claims) return;
  try {
    e->token = token;
    e->digest = digest;
    e->scope = scope;
    e->keyset_id = keyset_id;
    e->used = true;
  } catch (...) {
    e->used = false;
    e->token = VerifiedToken();
  }
}

void TokenCache::clear() noexcept {
  for (Entry& e : entries_) {
    e.used = false;
    e.token = VerifiedToken();
  }
}

}  // namespace tasker
