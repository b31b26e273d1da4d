// SHA-256 for the core (API key digests, token cache keys), fetched from OpenSSL once.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace tasker {

using Sha256Digest = std::array<uint8_t, 32>;

// SHA-256 of data into *out. False (OpenSSL error queue cleared, *out zeroed) on a library
// failure. Thread-safe; the digest implementation is fetched once per process.
bool sha256(std::string_view data, Sha256Digest* out) noexcept;

}  // namespace tasker
