#include "api_keys.h"

#include <cstring>
#include <string.h>
#include <new>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "ct_equal.h"
#include "digest.h"
#include "tasker_limits.h"

namespace tasker {

namespace {

using Digest = Sha256Digest;  // digest.h

constexpr std::string_view kHashPrefix = "sha256:";  // exact, lower case
constexpr size_t kHexDigestChars = 64;

int hexValue(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses exactly 64 hex digits (either case) into *out.
bool parseHexDigest(std::string_view hex, Digest* out) noexcept {
  if (hex.size() != kHexDigestChars) return false;
  for (size_t i = 0; i < out->size(); ++i) {
    int hi = hexValue(hex[2 * i]);
    int lo = hexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool isSpace(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trimSpaces(std::string_view s) noexcept {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Digest of a configured key: the hash given as "sha256:<hex>", or the hash of the plain key.
bool hasPrefixIgnoringCase(std::string_view s, std::string_view prefix) noexcept {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

Status configuredDigest(std::string_view key, Digest* out, std::string* detail) {
  // "SHA256:..." is refused too: taking it as a plain key would make a hash a working key.
  if (hasPrefixIgnoringCase(key, kHashPrefix)) {
    if (key.substr(0, kHashPrefix.size()) != kHashPrefix ||
        !parseHexDigest(key.substr(kHashPrefix.size()), out)) {
      // The value is a (malformed) digest, not a secret, so it may appear in the message.
      if (detail) *detail = std::string(key);
      return Status::ConfigBadHash;
    }
    return Status::Ok;
  }
  if (key.size() > kMaxApiKeyBytes) {
    // lookup() refuses presented keys this long, so such an entry could never match.
    if (detail) *detail = "key longer than " + std::to_string(kMaxApiKeyBytes) + " bytes";
    return Status::ConfigInvalid;
  }
  return sha256(key, out) ? Status::Ok : Status::Internal;
}

}  // namespace

size_t ApiKeyRegistry::probe(const Digest& d) const noexcept {
  // The digest is uniformly distributed, so any 8 of its bytes make a good hash.
  uint64_t h;
  std::memcpy(&h, d.data(), sizeof h);
  const size_t mask = slots_.size() - 1;
  size_t i = static_cast<size_t>(h) & mask;
  // Ends: the table is never more than half full.
  while (slots_[i].entry != 0 && !sameBytes(slots_[i].digest.data(), d.data(), d.size())) {
    i = (i + 1) & mask;
  }
  return i;
}

std::vector<std::string> splitPermissionList(std::string_view csv) {
  std::vector<std::string> out;
  while (true) {
    size_t comma = csv.find(',');
    std::string_view item = trimSpaces(csv.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    csv.remove_prefix(comma + 1);
  }
  return out;
}

std::string hashApiKey(std::string_view key) {
  static const char kHex[] = "0123456789abcdef";
  Digest d;
  if (!sha256(key, &d)) return std::string();
  std::string out(kHashPrefix);
  out.reserve(kHashPrefix.size() + kHexDigestChars);
  for (uint8_t b : d) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0f]);
  }
  OPENSSL_cleanse(d.data(), d.size());
  return out;
}

Status ApiKeyRegistry::add(std::string_view key, const std::vector<std::string>& permissions,
                           std::string_view description, bool strict, std::string source,
                           std::string* detail) {
  if (key.empty()) {
    if (detail) *detail = "empty key";
    return Status::ConfigInvalid;
  }
  try {
    ApiKeyEntry entry;
    Status st = configuredDigest(key, &entry.digest, detail);
    if (st != Status::Ok) return st;

    if (!slots_.empty()) {
      const Slot& dup = slots_[probe(entry.digest)];
      if (dup.entry != 0) {
        if (detail) *detail = entries_[dup.entry - 1].source;
        return Status::ConfigDuplicateKey;
      }
    }
    if (entries_.size() >= UINT32_MAX - 1) return Status::ConfigInvalid;

    if (permissions.size() > kMaxPermissionsPerCredential) {
      if (detail) {
        *detail = "more than " + std::to_string(kMaxPermissionsPerCredential) + " permissions";
      }
      return Status::ConfigInvalid;
    }
    entry.permissions.reserve(permissions.size());
    for (const std::string& p : permissions) {
      // No permission contains a comma; kept, such a string would read like two grants in the
      // comma-joined $tasker_auth_permissions (SPEC 5). Refused whatever the strict setting.
      if (p.find(',') != std::string::npos) {
        if (detail) *detail = "permission \"" + p + "\" contains a comma";
        return Status::ConfigInvalid;
      }
      if (!isKnownPermissionString(p)) {
        // Strict mode refuses the configuration; otherwise the string is kept (so it shows in
        // $tasker_auth_permissions and can be logged) but grants nothing.
        if (strict) {
          if (detail) *detail = p;
          return Status::ConfigUnknownPermission;
        }
        entry.unknown.push_back(p);
      }
      entry.grant.add(p);
      entry.permissions.push_back(p);
    }
    entry.description = std::string(description);
    entry.source = std::move(source);

    // Everything that may throw happens before anything is committed: a grown table is built
    // aside (with the old entries only) and swapped in.
    if (2 * (entries_.size() + 1) > slots_.size()) {
      ApiKeyRegistry grown;
      grown.slots_.assign(slots_.empty() ? 16 : 2 * slots_.size(), Slot{});
      for (const Slot& old : slots_) {
        if (old.entry != 0) grown.slots_[grown.probe(old.digest)] = old;
      }
      slots_.swap(grown.slots_);
    }
    entries_.reserve(entries_.size() + 1);
    Slot& free_slot = slots_[probe(entry.digest)];
    entries_.push_back(std::move(entry));  // cannot throw after the reserve
    free_slot.digest = entries_.back().digest;
    free_slot.entry = static_cast<uint32_t>(entries_.size());
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return Status::OutOfMemory;
  } catch (...) {
    return Status::Internal;
  }
}

const ApiKeyEntry* ApiKeyRegistry::lookup(std::string_view presented) const noexcept {
  if (presented.empty() || presented.size() > kMaxApiKeyBytes) return nullptr;
  // One hash and one table probe whatever the registry holds: the time taken does not depend on
  // how many keys exist or on which one (if any) matches, so it leaks nothing about the others.
  Digest d;
  if (!sha256(presented, &d)) return nullptr;
  const ApiKeyEntry* found = nullptr;
  if (!slots_.empty()) {
    const Slot& s = slots_[probe(d)];
    if (s.entry != 0) found = &entries_[s.entry - 1];
  }
  explicit_bzero(d.data(), d.size());  // as OPENSSL_cleanse, without its byte loop
  return found;
}

}  // namespace tasker
