// SHA-2 for the core (API key digests, JWS signing inputs), from OpenSSL.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace tasker {

using Sha256Digest = std::array<uint8_t, 32>;

// SHA-256 of data into *out. False (OpenSSL error queue cleared, *out zeroed) on a library
// failure. Thread-safe; allocates nothing (digest.cpp says which OpenSSL interface it uses).
bool sha256(std::string_view data, Sha256Digest* out) noexcept;

// SHA-256, SHA-384 or SHA-512 (bits: 256, 384, 512) of data into out, which has room for 64
// bytes; *len is the digest's size (0 on failure). sha256 is this with 256. False (error queue
// cleared) for other bits or a library failure. Thread-safe; allocates nothing, as sha256.
bool shaDigest(int bits, std::string_view data, uint8_t* out, size_t* len) noexcept;

}  // namespace tasker
