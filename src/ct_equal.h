// Constant-time byte equality for the core: the token cache's text compare and the API key
// registry's digest compare.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace tasker {

// Equal bytes, in time that depends only on n: every word is read, no early exit. Inline, so a
// fixed n (a 32-byte digest) unrolls to a few loads.
inline bool sameBytes(const void* a, const void* b, size_t n) noexcept {
  const unsigned char* p = static_cast<const unsigned char*>(a);
  const unsigned char* q = static_cast<const unsigned char*>(b);
  auto word = [](const unsigned char* s) noexcept {
    uint64_t v;
    std::memcpy(&v, s, sizeof v);
    return v;
  };
  // Four independent accumulators: 32 bytes per iteration without one long dependency chain
  // (a 600-byte token compares in ~20 iterations).
  uint64_t d0 = 0, d1 = 0, d2 = 0, d3 = 0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    d0 |= word(p + i) ^ word(q + i);
    d1 |= word(p + i + 8) ^ word(q + i + 8);
    d2 |= word(p + i + 16) ^ word(q + i + 16);
    d3 |= word(p + i + 24) ^ word(q + i + 24);
  }
  for (; i + 8 <= n; i += 8) d0 |= word(p + i) ^ word(q + i);
  if (i < n) {
    if (n >= 8) {  // the last word again, overlapping: which bytes are read depends only on n
      d1 |= word(p + n - 8) ^ word(q + n - 8);
    } else {
      for (; i < n; ++i) d1 |= static_cast<uint64_t>(p[i] ^ q[i]);
    }
  }
  return (d0 | d1 | d2 | d3) == 0;
}

// The same for two strings; strings of different lengths differ (the length is not secret).
inline bool sameBytes(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && sameBytes(a.data(), b.data(), a.size());
}

}  // namespace tasker
