#include "base64url.h"

#include <cstdint>

namespace tasker {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Value 0..63 of a base64url character, or -1 for anything else ('=', '+', '/', spaces, ...).
int value(unsigned char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

Status base64urlDecode(std::string_view in, std::string* out) {
  out->clear();
  // A single leftover character carries only 6 bits: no byte string encodes to that length.
  if (in.size() % 4 == 1) return Status::TokenBadEncoding;
  out->reserve(in.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    int v = value(c);
    if (v < 0) {
      out->clear();
      return Status::TokenBadEncoding;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xffu));
    }
  }
  // The 2 or 4 bits left over must be zero, else two encodings would decode to the same bytes.
  if (bits > 0 && (acc & ((1u << bits) - 1u)) != 0) {
    out->clear();
    return Status::TokenBadEncoding;
  }
  return Status::Ok;
}

std::string base64urlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3fu]);
    }
    acc &= (1u << bits) - 1u;
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3fu]);
  return out;
}

}  // namespace tasker
