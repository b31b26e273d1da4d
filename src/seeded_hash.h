// A fast keyed 64-bit hash for the core's in-memory indexes: the token cache's sets and tags and
// the API key registry's index of keys configured as themselves. Not a MAC and not
// collision-resistant: every index that uses it confirms a candidate with a full constant-time
// compare (ct_equal.h), so exactness never depends on it. The per-process random seed only keeps
// a client from aiming many inputs at one slot or learning where entries sit from timing.
//
//   SeededHash h;                      // seeded from RAND_bytes (fixed constants without it)
//   uint64_t v = h(data, n, n);        // third argument: a length mixed in (see below)
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tasker {

class SeededHash {
 public:
  SeededHash() noexcept;  // seeded from OpenSSL's RAND_bytes; fixed constants if that fails

  // Hashes n bytes at p with `length` mixed in first: a caller that hashes only part of a string
  // (the token cache reads a token's last 64 bytes) passes the whole string's length. A
  // wyhash-like mix, 16 bytes per multiply, then MurmurHash3's fmix64 so that inputs differing
  // in a few trailing bytes still spread evenly. The last 1-16 bytes are read with a few loads,
  // overlapping bytes already read when needed (as wyhash does), never byte by byte.
  uint64_t operator()(const void* data, size_t n, uint64_t length) const noexcept {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    const unsigned char* const end = p + n;
    uint64_t h = seed_[0] ^ mix(length ^ kK0, seed_[1] ^ kK1);
    uint64_t a = 0, b = 0;
    if (n > 16) {
      for (; end - p > 16; p += 16) {
        h = mix(load64(p) ^ seed_[0] ^ kK1, load64(p + 8) ^ h ^ kK2);
      }
      a = load64(end - 16);
      b = load64(end - 8);
    } else if (n >= 8) {
      a = load64(p);
      b = load64(end - 8);
    } else if (n >= 4) {
      a = load32(p);
      b = load32(end - 4);
    } else if (n > 0) {
      a = (static_cast<uint64_t>(p[0]) << 16) | (static_cast<uint64_t>(p[n >> 1]) << 8) | end[-1];
    }
    h ^= mix(a ^ seed_[1] ^ kK2, b ^ h ^ kK0 ^ n);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
  }

 private:
  static constexpr uint64_t kK0 = 0xa0761d6478bd642full;
  static constexpr uint64_t kK1 = 0xe7037ed1a0b428dbull;
  static constexpr uint64_t kK2 = 0x8ebc6af09c88c6e3ull;

  static uint64_t load64(const unsigned char* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static uint64_t load32(const unsigned char* p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  // 64x64 -> 128-bit multiply, folded.
  static uint64_t mix(uint64_t a, uint64_t b) noexcept {
    unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
  }

  uint64_t seed_[2];
};

}  // namespace tasker
