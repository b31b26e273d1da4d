// libFuzzer target: the API key registry (api_keys.h). The input configures a registry and then
// presents keys to it. Layout: byte 0 says which keys are configured as sha256:<hex> of
// themselves (bit i for key i, repeating every 8), the rest is split on '\n'; every piece but the
// last is a key to configure, the last is presented as it is. A piece that reads
// "sha256:<64 hex>" configures that digest, as it would in nginx.conf. Checked: every configured
// key finds its own entry, whichever index holds it (an empty or oversized one, which only a
// digest can configure, finds nothing); and a key one byte off, one shorter, one longer, or any
// presented bytes at all, match only the entry whose digest is their SHA-256, if any.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api_keys.h"
#include "fuzz_common.h"
#include "tasker_limits.h"

using namespace tasker;

namespace {

constexpr size_t kMaxKeys = 64;  // keeps one input fast; growth happens well before this

const std::vector<std::string> kPerms = {"tasks:read"};

std::string hexOf(const std::array<uint8_t, 32>& digest) {
  static const char kHex[] = "0123456789abcdef";
  std::string h = "sha256:";
  for (uint8_t b : digest) {
    h += kHex[b >> 4];
    h += kHex[b & 15];
  }
  return h;
}

// The entry presented finds must be the one whose digest is SHA-256(presented), or none.
void checkMatch(const ApiKeyRegistry& reg, std::string_view presented) {
  const ApiKeyEntry* e = reg.lookup(presented);
  if (e == nullptr) return;
  fuzz::check(!presented.empty() && presented.size() <= kMaxApiKeyBytes,
              "an empty or oversized key matched");
  fuzz::check(hashApiKey(presented) == hexOf(e->digest), "a key matched another key's entry");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t hashed_bits = data[0];
  const std::string_view text = fuzz::asView(data + 1, size - 1);

  std::vector<std::string_view> pieces;
  size_t start = 0;
  while (pieces.size() < kMaxKeys) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) break;
    pieces.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  const std::string_view presented = text.substr(start);

  ApiKeyRegistry reg;
  std::vector<std::string_view> added;  // the keys add() took, and their entries' indexes
  std::vector<size_t> added_index;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const bool as_hash = (hashed_bits >> (i % 8)) & 1;
    const std::string configured = as_hash ? hashApiKey(pieces[i]) : std::string(pieces[i]);
    std::string detail;
    const Status st = reg.add(configured, kPerms, "fuzz", true, "fuzz:" + std::to_string(i), &detail);
    if (st == Status::Ok) {
      // The digest of an empty or oversized key is taken, but lookup() refuses such keys.
      if (pieces[i].empty() || pieces[i].size() > kMaxApiKeyBytes) {
        fuzz::check(as_hash, "an empty or oversized plain key was configured");
        checkMatch(reg, pieces[i]);
        continue;
      }
      // A piece that is itself "sha256:" and 64 hex digits (either case) configures that digest,
      // as in nginx.conf: the piece is then not its key, and matches only if it hashes to it.
      if (!as_hash && pieces[i].substr(0, 7) == "sha256:") {
        checkMatch(reg, pieces[i]);
        continue;
      }
      added.push_back(pieces[i]);
      added_index.push_back(reg.size() - 1);
    } else {
      // Refused: empty, too long, a duplicate, or a plain key that reads like a (bad) digest.
      fuzz::check(st == Status::ConfigInvalid || st == Status::ConfigDuplicateKey ||
                      st == Status::ConfigBadHash,
                  "unexpected add() status");
    }
  }

  for (size_t j = 0; j < added.size(); ++j) {
    const std::string_view key = added[j];
    const ApiKeyEntry* e = reg.lookup(key);
    fuzz::check(e == &reg.entries()[added_index[j]], "a configured key does not find its entry");

    // Near misses: a flipped last byte, one byte shorter, one byte longer.
    std::string near(key);
    near.back() = static_cast<char>(near.back() ^ 0x01);
    checkMatch(reg, near);
    checkMatch(reg, key.substr(0, key.size() - 1));
    checkMatch(reg, std::string(key) + '\0');
  }
  checkMatch(reg, presented);
  return 0;
}
