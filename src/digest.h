// SHA-256 for the core (API key digests), from OpenSSL.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace tasker {

using Sha256Digest = std::array<uint8_t, 32>;

// SHA-256 of data into *out. False (OpenSSL error queue cleared, *out zeroed) on a library
// failure. Thread-safe; allocates nothing (digest.cpp says which OpenSSL interface it uses).
bool sha256(std::string_view data, Sha256Digest* out) noexcept;

}  // namespace tasker
