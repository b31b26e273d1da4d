// Unit tests for src/token_cache.cpp: hits, exact expiry, scope and key set isolation,
// associativity, LRU eviction within a set, sizing.
#include "token_cache.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "test_helpers.h"

using namespace tasker;
using namespace tasker::test;

namespace {

struct Fixture {
  std::string token;
  KeySetConstPtr keys;
  VerifiedTokenRef vt;  // as the engine inserts it: shared with the cache
};

Fixture verified(const ClaimSet& claims = defaultClaims()) {
  Fixture f;
  f.token = makeToken(Alg::RS256, claims);
  f.keys = keySetFor(keyFor(Alg::RS256));
  VerifiedToken vt;
  assert_int_equal(verifyToken(f.token, *f.keys, optsFor(Alg::RS256), kNow, &vt), Status::Ok);
  f.vt = VerifiedTokenRef::make(std::move(vt));
  return f;
}

const int kScope = 0;  // any address identifies a policy

void test_token_cache_hit_after_insert(void** state) {
  Fixture f = verified();
  TokenCache cache(64);
  assert_null(cache.find(f.token, &kScope, f.keys->id(), 60, kNow));
  cache.insert(f.token, &kScope, f.keys->id(), f.vt);
  const VerifiedTokenRef* hit =
      cache.find(f.token, &kScope, f.keys->id(), 60, kNow);
  assert_non_null(hit);
  assert_true(hit->get() == f.vt.get());  // the inserted result itself, shared, not a copy
  assert_string_equal((*hit)->subject.c_str(), "user-1");
  assert_int_equal((*hit)->permissions.size(), 2);
  assert_int_equal(cache.hits(), 1);
  assert_int_equal(cache.misses(), 1);
}

void test_token_cache_expiry_is_exact(void** state) {
  Fixture f = verified();  // exp = kNow + 3600
  TokenCache cache(64);
  cache.insert(f.token, &kScope, f.keys->id(), f.vt);
  // valid while now < exp + leeway, exactly as verifyToken decides
  assert_non_null(cache.find(f.token, &kScope, f.keys->id(), 60, kNow + 3600 + 59));
  assert_null(cache.find(f.token, &kScope, f.keys->id(), 60, kNow + 3600 + 60));
  // and the stale entry is gone, not resurrected by an earlier clock
  assert_null(cache.find(f.token, &kScope, f.keys->id(), 60, kNow));
}

void test_token_cache_not_yet_valid_misses(void** state) {
  Fixture f = verified();  // iat = kNow - 10
  TokenCache cache(64);
  cache.insert(f.token, &kScope, f.keys->id(), f.vt);
  // a clock that jumped back past iat - leeway must not be served from the cache
  assert_null(cache.find(f.token, &kScope, f.keys->id(), 0, kNow - 11));
}

void test_token_cache_scope_and_keyset_are_part_of_the_key(void** state) {
  Fixture f = verified();
  int other_scope = 0;
  TokenCache cache(64);
  cache.insert(f.token, &kScope, f.keys->id(), f.vt);
  assert_null(cache.find(f.token, &other_scope, f.keys->id(), 60, kNow));
  KeySetConstPtr rotated = keySetFor(keyFor(Alg::RS256));
  assert_true(rotated->id() != f.keys->id());
  assert_null(cache.find(f.token, &kScope, rotated->id(), 60, kNow));
  assert_non_null(cache.find(f.token, &kScope, f.keys->id(), 60, kNow));
}

void test_token_cache_other_token_misses(void** state) {
  Fixture f = verified();
  TokenCache cache(1);  // one slot: every token maps to it
  cache.insert(f.token, &kScope, f.keys->id(), f.vt);
  std::string other = f.token;
  other.back() ^= 1;  // same length, last byte differs
  assert_null(cache.find(other, &kScope, f.keys->id(), 60, kNow));
  other = f.token;
  other[0] ^= 1;  // first byte differs
  assert_null(cache.find(other, &kScope, f.keys->id(), 60, kNow));
  assert_null(cache.find(std::string_view(f.token).substr(0, f.token.size() - 1), &kScope,
                         f.keys->id(), 60, kNow));
  assert_null(cache.find(f.token + "A", &kScope, f.keys->id(), 60, kNow));
  assert_non_null(cache.find(f.token, &kScope, f.keys->id(), 60, kNow));
}

// The set and tag come from the token's last kTokenCacheHashedBytes bytes (its signature), so a
// token that keeps a cached token's tail but changes anything before it (a forged payload) lands
// on the same set and tag: the full compare still tells them apart, both ways.
void test_token_cache_same_tail_is_told_apart(void** state) {
  Fixture a = verified();
  Fixture b = verified(defaultClaims().set("sub", q("user-2")));
  assert_true(a.token.size() > kTokenCacheHashedBytes + 1);
  std::string forged = a.token;
  forged[0] ^= 1;  // same length, same tail
  TokenCache cache(kTokenCacheDefaultEntries);
  cache.insert(a.token, &kScope, a.keys->id(), a.vt);
  assert_null(cache.find(forged, &kScope, a.keys->id(), 60, kNow));
  std::string middle = a.token;
  middle[middle.size() - kTokenCacheHashedBytes - 1] ^= 1;  // the last byte outside the tail
  assert_null(cache.find(middle, &kScope, a.keys->id(), 60, kNow));
  // Both may be cached side by side (a test inserts what the engine would only after verifying):
  // each lookup answers its own entry.
  cache.insert(forged, &kScope, b.keys->id(), b.vt);
  assert_int_equal(cache.size(), 2);
  const VerifiedTokenRef* hit =
      cache.find(a.token, &kScope, a.keys->id(), 60, kNow);
  assert_non_null(hit);
  assert_true(hit->get() == a.vt.get());
  hit = cache.find(forged, &kScope, b.keys->id(), 60, kNow);
  assert_non_null(hit);
  assert_true(hit->get() == b.vt.get());
  assert_null(cache.find(middle, &kScope, a.keys->id(), 60, kNow));
}

void test_token_cache_collision_replaces_slot(void** state) {
  Fixture a = verified();
  Fixture b = verified(defaultClaims().set("sub", q("user-2")));
  TokenCache cache(1);
  cache.insert(a.token, &kScope, a.keys->id(), a.vt);
  cache.insert(b.token, &kScope, b.keys->id(), b.vt);  // b's first miss: only noted
  assert_int_equal(cache.deferred(), 1);
  assert_non_null(cache.find(a.token, &kScope, a.keys->id(), 60, kNow));
  cache.insert(b.token, &kScope, b.keys->id(), b.vt);  // b missed again: replaces a
  assert_null(cache.find(a.token, &kScope, a.keys->id(), 60, kNow));
  const VerifiedTokenRef* hit =
      cache.find(b.token, &kScope, b.keys->id(), 60, kNow);
  assert_non_null(hit);
  assert_string_equal((*hit)->subject.c_str(), "user-2");
}

void test_token_cache_zero_slots_disables(void** state) {
  Fixture f = verified();
  TokenCache cache(0);
  cache.insert(f.token, &kScope, f.keys->id(), f.vt);
  assert_null(cache.find(f.token, &kScope, f.keys->id(), 60, kNow));
  assert_int_equal(cache.slots(), 0);
}

void test_token_cache_clear_drops_entries(void** state) {
  Fixture f = verified();
  TokenCache cache(8);
  cache.insert(f.token, &kScope, f.keys->id(), f.vt);
  cache.clear();
  assert_null(cache.find(f.token, &kScope, f.keys->id(), 60, kNow));
}

std::string tokenText(size_t n) { return "header.claims.signature-" + std::to_string(n); }

void test_token_cache_sizes_round_up_to_whole_sets(void** state) {
  assert_int_equal(TokenCache(kTokenCacheDefaultEntries).slots(), 32768);
  assert_int_equal(TokenCache(10000).slots(), 16384);  // 512 sets of 32
  assert_int_equal(TokenCache(33).slots(), 64);
  assert_int_equal(TokenCache(17).slots(), 17);  // one set of 17 ways
  assert_true(kTokenCacheDefaultEntries >= 10000);
}

void test_token_cache_set_holds_all_its_ways(void** state) {
  Fixture f = verified();
  TokenCache cache(kTokenCacheWays);  // a single set: every token lands in it
  for (size_t n = 0; n < kTokenCacheWays; ++n) {
    cache.insert(tokenText(n), &kScope, f.keys->id(), f.vt);
  }
  for (size_t n = 0; n < kTokenCacheWays; ++n) {
    assert_non_null(cache.find(tokenText(n), &kScope, f.keys->id(), 60, kNow));
  }
  assert_int_equal(cache.size(), kTokenCacheWays);
  assert_int_equal(cache.evictions(), 0);
}

void test_token_cache_evicts_least_recently_used_of_the_set(void** state) {
  Fixture f = verified();
  TokenCache cache(kTokenCacheWays);
  for (size_t n = 0; n < kTokenCacheWays; ++n) {
    cache.insert(tokenText(n), &kScope, f.keys->id(), f.vt);
  }
  // Token 0 is the oldest insert, but a hit makes it the most recently used: 1 goes instead.
  assert_non_null(cache.find(tokenText(0), &kScope, f.keys->id(), 60, kNow));
  cache.insert(tokenText(50), &kScope, f.keys->id(), f.vt);  // admitted on its second miss
  assert_int_equal(cache.evictions(), 0);
  cache.insert(tokenText(50), &kScope, f.keys->id(), f.vt);
  assert_int_equal(cache.evictions(), 1);
  assert_int_equal(cache.size(), kTokenCacheWays);
  assert_null(cache.find(tokenText(1), &kScope, f.keys->id(), 60, kNow));
  assert_non_null(cache.find(tokenText(0), &kScope, f.keys->id(), 60, kNow));
  assert_non_null(cache.find(tokenText(50), &kScope, f.keys->id(), 60, kNow));
  for (size_t n = 2; n < kTokenCacheWays; ++n) {
    assert_non_null(cache.find(tokenText(n), &kScope, f.keys->id(), 60, kNow));
  }
  // The round above used 0 first, then 50, then 2..15: 0 is now the least recently used.
  cache.insert(tokenText(51), &kScope, f.keys->id(), f.vt);
  cache.insert(tokenText(51), &kScope, f.keys->id(), f.vt);
  assert_null(cache.find(tokenText(0), &kScope, f.keys->id(), 60, kNow));
  assert_non_null(cache.find(tokenText(50), &kScope, f.keys->id(), 60, kNow));
}

void test_token_cache_default_holds_10000_tokens(void** state) {
  Fixture f = verified();
  TokenCache cache(kTokenCacheDefaultEntries);
  std::vector<std::string> tokens(10000);
  for (size_t i = 0; i < tokens.size(); ++i) {
    tokens[i] = f.token + std::to_string(i);  // realistic length, all distinct
    cache.insert(tokens[i], &kScope, f.keys->id(), f.vt);
  }
  assert_int_equal(cache.evictions(), 0);
  assert_int_equal(cache.size(), 10000);
  for (int pass = 0; pass < 2; ++pass) {  // round-robin: every lookup hits
    for (const std::string& t : tokens) {
      assert_non_null(cache.find(t, &kScope, f.keys->id(), 60, kNow));
    }
  }
  assert_int_equal(cache.hits(), 20000);
  assert_int_equal(cache.misses(), 0);
}

void test_token_cache_pass_larger_than_the_cache_never_evicts(void** state) {
  // 1024 distinct tokens round-robin through one set: LRU alone would evict on every miss (and
  // never hit). Tokens seen once per pass are only noted, and a note is overwritten long before
  // the token comes back, so nothing is displaced after the cache filled; the first ones stay.
  Fixture f = verified();
  TokenCache cache(kTokenCacheWays);
  for (int pass = 0; pass < 4; ++pass) {
    for (size_t n = 0; n < 2048; ++n) {
      if (!cache.find(tokenText(n), &kScope, f.keys->id(), 60, kNow)) {
        cache.insert(tokenText(n), &kScope, f.keys->id(), f.vt);
      }
    }
  }
  assert_int_equal(cache.size(), kTokenCacheWays);
  assert_int_equal(cache.evictions(), 0);
  assert_int_equal(cache.hits(), 3 * kTokenCacheWays);  // the first tokens, passes 2 to 4
}

void test_token_cache_new_generation_replaces_the_old_entry(void** state) {
  Fixture f = verified();
  KeySetConstPtr rotated = keySetFor(keyFor(Alg::RS256));
  TokenCache cache(64);
  cache.insert(f.token, &kScope, f.keys->id(), f.vt);
  assert_null(cache.find(f.token, &kScope, rotated->id(), 60, kNow));  // never the old entry
  cache.insert(f.token, &kScope, rotated->id(), f.vt);
  assert_int_equal(cache.size(), 1);
  assert_int_equal(cache.evictions(), 0);
  assert_null(cache.find(f.token, &kScope, f.keys->id(), 60, kNow));
  assert_non_null(cache.find(f.token, &kScope, rotated->id(), 60, kNow));
}

void test_token_cache_expired_entry_frees_its_slot(void** state) {
  Fixture f = verified();
  TokenCache cache(64);
  cache.insert(f.token, &kScope, f.keys->id(), f.vt);
  assert_null(cache.find(f.token, &kScope, f.keys->id(), 60, kNow + 3600 + 60));
  assert_int_equal(cache.size(), 0);
}

}  // namespace

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_token_cache_hit_after_insert),
      cmocka_unit_test(test_token_cache_expiry_is_exact),
      cmocka_unit_test(test_token_cache_not_yet_valid_misses),
      cmocka_unit_test(test_token_cache_scope_and_keyset_are_part_of_the_key),
      cmocka_unit_test(test_token_cache_other_token_misses),
      cmocka_unit_test(test_token_cache_same_tail_is_told_apart),
      cmocka_unit_test(test_token_cache_collision_replaces_slot),
      cmocka_unit_test(test_token_cache_zero_slots_disables),
      cmocka_unit_test(test_token_cache_clear_drops_entries),
      cmocka_unit_test(test_token_cache_sizes_round_up_to_whole_sets),
      cmocka_unit_test(test_token_cache_set_holds_all_its_ways),
      cmocka_unit_test(test_token_cache_evicts_least_recently_used_of_the_set),
      cmocka_unit_test(test_token_cache_default_holds_10000_tokens),
      cmocka_unit_test(test_token_cache_pass_larger_than_the_cache_never_evicts),
      cmocka_unit_test(test_token_cache_new_generation_replaces_the_old_entry),
      cmocka_unit_test(test_token_cache_expired_entry_frees_its_slot),
  };
  return cmocka_run_group_tests_name("token_cache", tests, nullptr, nullptr);
}
