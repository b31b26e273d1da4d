#include "api_keys.h"

#include <algorithm>
#include <cstring>
#include <string.h>
#include <strings.h>
#include <new>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "ct_equal.h"
#include "digest.h"
#include "hot.h"
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
  return s.size() >= prefix.size() && strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

// *hashed: the key was given as its digest.
Status configuredDigest(std::string_view key, Digest* out, bool* hashed, std::string* detail) {
  // "SHA256:..." is refused too: taking it as a plain key would make a hash a working key.
  *hashed = hasPrefixIgnoringCase(key, kHashPrefix);
  if (*hashed) {
    const std::string_view rest = key.substr(kHashPrefix.size());
    if (key.substr(0, kHashPrefix.size()) != kHashPrefix) {
      if (detail) *detail = "the prefix is not \"sha256:\" in lower case";
      return Status::ConfigBadHash;
    }
    if (!parseHexDigest(rest, out)) {
      // What follows the prefix is not shown: it may be the key itself, pasted after it.
      if (detail) {
        *detail = std::to_string(rest.size()) + " characters follow \"sha256:\"";
        if (rest.size() == 64) *detail += ", not all hex digits";
      }
      return Status::ConfigBadHash;
    }
    return Status::Ok;
  }
  if (key.size() > kMaxApiKeyBytes) {
    // lookup() refuses presented keys this long, so such an entry could never match.
    if (detail) *detail = "key longer than " + std::to_string(kMaxApiKeyBytes) + " bytes";
    return Status::ConfigInvalid;
  }
  // A header value never starts or ends with a blank (nginx, like RFC 9110, drops them) and
  // never holds CR, LF or NUL, so such an entry could never match.
  if (key.front() == ' ' || key.front() == '\t' || key.back() == ' ' || key.back() == '\t') {
    if (detail) *detail = "key starts or ends with a space or tab, which no header value can";
    return Status::ConfigInvalid;
  }
  if (key.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    if (detail) *detail = "key holds a line break or NUL, which no header value can";
    return Status::ConfigInvalid;
  }
  return sha256(key, out) ? Status::Ok : Status::Internal;
}

// Where a plain key's probe sequence starts in a table of mask + 1 slots (bit 0 of a tag is
// always set, so the index comes from its upper half).
size_t plainHome(uint64_t tag, size_t mask) noexcept {
  return static_cast<size_t>(tag >> 32) & mask;
}

}  // namespace

ApiKeyRegistry::~ApiKeyRegistry() {
  if (!plain_bytes_.empty()) explicit_bzero(plain_bytes_.data(), plain_bytes_.size());
}

TASKER_HOT
size_t ApiKeyRegistry::probePlain(std::string_view key, uint64_t tag) const noexcept {
  const size_t mask = plain_slots_.size() - 1;
  size_t i = plainHome(tag, mask);
  // Ends: the table is never more than half full. Only a slot whose tag matches is compared.
  while (plain_slots_[i].entry != 0 &&
         !(plain_slots_[i].tag == tag && sameBytes(plainKey(plain_slots_[i]), key))) {
    i = (i + 1) & mask;
  }
  return i;
}

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

bool looksLikePermissionList(std::string_view key) {
  const std::vector<std::string> items = splitPermissionList(key);
  for (const std::string& p : items) {
    if (!isKnownPermissionString(p)) return false;
  }
  return !items.empty();
}

bool looksLikeUnprefixedDigest(std::string_view key) {
  Digest unused;
  return parseHexDigest(key, &unused);
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
    bool hashed = false;
    Status st = configuredDigest(key, &entry.digest, &hashed, detail);
    if (st != Status::Ok) return st;

    if (!slots_.empty()) {
      const Slot& dup = slots_[probe(entry.digest)];
      if (dup.entry != 0) {
        if (detail) *detail = entries_[dup.entry - 1].source;
        return Status::ConfigDuplicateKey;
      }
    }
    if (entries_.size() >= UINT32_MAX - 1 || plain_bytes_.size() + key.size() >= UINT32_MAX) {
      if (detail) *detail = "too many keys";
      return Status::ConfigInvalid;
    }

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
    uint64_t tag = 0;
    if (!hashed) {
      tag = plainTag(key);
      const size_t plain_used = entries_.size() - hashed_entries_;
      if (2 * (plain_used + 1) > plain_slots_.size()) {
        std::vector<PlainSlot> grown(plain_slots_.empty() ? 16 : 2 * plain_slots_.size(),
                                     PlainSlot{});
        const size_t mask = grown.size() - 1;
        for (const PlainSlot& old : plain_slots_) {
          if (old.entry == 0) continue;
          size_t i = plainHome(old.tag, mask);
          while (grown[i].entry != 0) i = (i + 1) & mask;
          grown[i] = old;
        }
        plain_slots_.swap(grown);
      }
      if (plain_bytes_.capacity() - plain_bytes_.size() < key.size()) {
        // A new buffer, and the old one wiped before it is freed: no key is left behind in
        // freed memory (std::vector would just copy and free).
        std::vector<char> grown;
        grown.reserve(std::max({2 * plain_bytes_.capacity(), plain_bytes_.size() + key.size(),
                                size_t{256}}));
        grown.assign(plain_bytes_.begin(), plain_bytes_.end());
        if (!plain_bytes_.empty()) explicit_bzero(plain_bytes_.data(), plain_bytes_.size());
        plain_bytes_.swap(grown);
      }
    }
    // geometric growth: reserve(size + 1) moved every entry on every add (quadratic: a 1 MiB
    // tasker_auth_config file of 36,000 keys took 15 s to load)
    if (entries_.size() == entries_.capacity()) {
      entries_.reserve(std::max<size_t>(16, 2 * entries_.capacity()));
    }
    // Nothing below throws.
    Slot& free_slot = slots_[probe(entry.digest)];
    entries_.push_back(std::move(entry));
    free_slot.digest = entries_.back().digest;
    free_slot.entry = static_cast<uint32_t>(entries_.size());
    if (hashed) {
      ++hashed_entries_;
    } else {
      PlainSlot& ps = plain_slots_[probePlain(key, tag)];  // free: a duplicate was refused above
      ps.tag = tag;
      ps.offset = static_cast<uint32_t>(plain_bytes_.size());
      ps.size = static_cast<uint32_t>(key.size());
      ps.entry = static_cast<uint32_t>(entries_.size());
      plain_bytes_.insert(plain_bytes_.end(), key.begin(), key.end());  // within capacity
    }
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return Status::OutOfMemory;
  } catch (...) {
    return Status::Internal;
  }
}

size_t ApiKeyRegistry::requestLines(const void** out, size_t max) const noexcept {
  const void* lines[] = {this, plain_slots_.data(), plain_bytes_.data(), entries_.data()};
  size_t n = 0;
  for (const void* p : lines) {
    if (p != nullptr && n < max) out[n++] = p;
  }
  return n;
}

TASKER_HOT
const ApiKeyEntry* ApiKeyRegistry::lookup(std::string_view presented) const noexcept {
  if (presented.empty() || presented.size() > kMaxApiKeyBytes) return nullptr;
  // A hash and a table probe whatever the registry holds: the time taken does not depend on how
  // many keys exist or on which one (if any) matches, so it leaks nothing about the others.
  if (!plain_slots_.empty()) {
    const PlainSlot& s = plain_slots_[probePlain(presented, plainTag(presented))];
    if (s.entry != 0) return &entries_[s.entry - 1];
    if (hashed_entries_ == 0) return nullptr;  // every key is in the plain index
  }
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
