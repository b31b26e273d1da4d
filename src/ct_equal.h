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
  uint64_t diff = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, p + i, sizeof x);
    std::memcpy(&y, q + i, sizeof y);
    diff |= x ^ y;
  }
  for (; i < n; ++i) diff |= static_cast<uint64_t>(p[i] ^ q[i]);
  return diff == 0;
}

// The same for two strings; strings of different lengths differ (the length is not secret).
inline bool sameBytes(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && sameBytes(a.data(), b.data(), a.size());
}

}  // namespace tasker
