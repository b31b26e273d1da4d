#include "base64url.h"

#include <cstdint>

namespace tasker {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Value 0..63 of each byte as a base64url character; kBad for anything else ('=', '+', '/',
// spaces, ...). kBad has a bit no valid value has, so OR-ing the values of a run of characters
// tells in one test, after the loop, whether any of them was invalid.
constexpr uint32_t kBad = 0x100;

struct DecodeTable {
  uint32_t v[256];
};

constexpr DecodeTable makeDecodeTable() {
  DecodeTable t{};
  for (int c = 0; c < 256; ++c) t.v[c] = kBad;
  for (int i = 0; i < 64; ++i)
    t.v[static_cast<unsigned char>(kAlphabet[i])] = static_cast<uint32_t>(i);
  return t;
}

constexpr DecodeTable kDecode = makeDecodeTable();

}  // namespace

Status base64urlDecode(std::string_view in, std::string* out) {
  out->clear();
  const size_t n = in.size();
  // A single leftover character carries only 6 bits: no byte string encodes to that length.
  if (n % 4 == 1) return Status::TokenBadEncoding;
  const size_t quads = n / 4, rest = n % 4;
  out->resize(quads * 3 + (rest ? rest - 1 : 0));
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  auto* o = reinterpret_cast<unsigned char*>(&(*out)[0]);
  uint32_t bad = 0;
  // Four characters to three bytes, with no branch on the data: invalid characters are
  // collected in `bad` and judged once at the end.
  for (size_t q = 0; q < quads; ++q, p += 4, o += 3) {
    uint32_t a = kDecode.v[p[0]], b = kDecode.v[p[1]], c = kDecode.v[p[2]], d = kDecode.v[p[3]];
    bad |= a | b | c | d;
    uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    o[0] = static_cast<unsigned char>(v >> 16);
    o[1] = static_cast<unsigned char>(v >> 8);
    o[2] = static_cast<unsigned char>(v);
  }
  if (rest >= 2) {
    uint32_t a = kDecode.v[p[0]], b = kDecode.v[p[1]];
    uint32_t c = rest == 3 ? kDecode.v[p[2]] : 0;
    bad |= a | b | c;
    uint32_t v = (a << 18) | (b << 12) | (c << 6);
    o[0] = static_cast<unsigned char>(v >> 16);
    if (rest == 3) o[1] = static_cast<unsigned char>(v >> 8);
    // The 4 (rest 2) or 2 (rest 3) bits left over must be zero, else two encodings would decode
    // to the same bytes.
    uint32_t unused = rest == 2 ? (v & 0xffffu) : (v & 0xffu);
    if (unused != 0) bad |= kBad;
  }
  if (bad & kBad) {
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
