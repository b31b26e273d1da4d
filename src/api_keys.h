// API key registry (SPEC 2 tasker_api_key). Every key is indexed by its SHA-256 digest, which is
// all the registry knows of a key configured as sha256:<hex>. A key configured as itself is also
// indexed by its own bytes (the configuration holds them anyway), so that presenting it costs no
// SHA-256. Lookups cost the same whichever key matches and whatever the registry's size, and
// every candidate is compared in constant time.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "permissions.h"
#include "seeded_hash.h"
#include "status.h"

namespace tasker {

struct ApiKeyEntry {
  Grant grant;  // first: the one member a request reads
  std::array<uint8_t, 32> digest{};
  std::vector<std::string> permissions;  // configured order, unknown ones kept (strict off)
  std::vector<std::string> unknown;
  std::string description;  // the subject
  std::string source;       // where it was configured, e.g. "nginx.conf:42"
};

// Splits a comma-separated permission list; trims spaces; "" gives an empty list.
std::vector<std::string> splitPermissionList(std::string_view csv);

// "sha256:<64 lowercase hex>" of key.
std::string hashApiKey(std::string_view key);

// A plain key of exactly 64 hex digits: what sha256sum prints, pasted without "sha256:". It is
// taken as written, so the digest in the configuration is itself a working key and the key it
// was made from is refused; the callers warn with kUnprefixedDigestWarning after the entry's
// name. (A key made with `openssl rand -hex 32` looks the same; its entry works, and writing it
// as its digest, as the README advises, ends the warning.)
bool looksLikeUnprefixedDigest(std::string_view key);
inline constexpr const char kUnprefixedDigestWarning[] =
    " is 64 hex digits, like a SHA-256 digest written without \"sha256:\": it is taken as the key "
    "itself, so the digest works as a key and the key it was made from does not; if it is a "
    "digest, write \"sha256:<hex>\"";

// A key that is itself a permission list: known names or wildcards, comma-separated
// ("tasks:read", "tasks:*,dlq:read", "*"). No request would present such a key; it is what
// tasker_api_key KEY PERMS reads when its arguments are written the other way round, and then the
// real key sits where the permissions go, where messages show unknown permissions.
bool looksLikePermissionList(std::string_view key);

class ApiKeyRegistry {
 public:
  // Adds one entry. key is the key itself or "sha256:<64 hex>" (either case).
  //  ConfigBadHash: malformed sha256: value (*detail = the value);
  //  ConfigDuplicateKey: same digest already present (*detail = the first entry's source);
  //  ConfigUnknownPermission: strict and a string outside the vocabulary (*detail = the string).
  //  ConfigInvalid: empty key, too many permissions, or a permission containing a comma (which
  //  would read like two grants in $tasker_auth_permissions), whatever `strict` says.
  Status add(std::string_view key, const std::vector<std::string>& permissions,
             std::string_view description, bool strict, std::string source,
             std::string* detail);

  // The presented key's entry; nullptr when none (an empty or oversized key never matches).
  // A key configured as itself is found by its own bytes: a keyed 64-bit hash, a probe of the
  // plain index and a constant-time compare, about 10 ns. Otherwise the presented key is hashed
  // with SHA-256 (about 60 ns more) and looked up by digest, which finds keys configured as
  // sha256:<hex>; when there are none, a key the plain index does not hold is refused without
  // it. Neither probe's time depends on how many keys exist or which one matches. Never logs,
  // never keeps the presented key.
  const ApiKeyEntry* lookup(std::string_view presented) const noexcept;

  ApiKeyRegistry() = default;
  ApiKeyRegistry(const ApiKeyRegistry&) = delete;
  ApiKeyRegistry& operator=(const ApiKeyRegistry&) = delete;
  ~ApiKeyRegistry();  // wipes the plain keys

  size_t size() const noexcept { return entries_.size(); }
  const std::vector<ApiKeyEntry>& entries() const noexcept { return entries_; }

  // Where a lookup of a key configured as itself reads (this object, the index, the key bytes,
  // the entries), at most max addresses: for a prefetch before the lookup (see AuthPolicy).
  size_t requestLines(const void** out, size_t max) const noexcept;

 private:
  // The index: open addressing with linear probing over a power-of-two table kept at most half
  // full, the digest held in the slot, so that a lookup usually reads one cache line of the table
  // and then the matching entry.
  struct Slot {
    std::array<uint8_t, 32> digest;
    uint32_t entry;  // index into entries_ plus one; 0 marks a free slot
  };
  // The slot holding digest d, or the free slot that ends its probe sequence.
  size_t probe(const std::array<uint8_t, 32>& d) const noexcept;

  // The plain index: keys configured as themselves, by a keyed hash of their bytes (the same
  // open addressing, at most half full). The bytes live in plain_bytes_, one buffer that is
  // wiped whenever it is replaced and when the registry goes.
  struct PlainSlot {
    uint64_t tag;     // hasher_ of the key, bit 0 set; 0 marks a free slot
    uint32_t offset;  // of the key's bytes in plain_bytes_
    uint32_t size;
    uint32_t entry;   // index into entries_ plus one
  };
  std::string_view plainKey(const PlainSlot& s) const noexcept {
    return std::string_view(plain_bytes_.data() + s.offset, s.size);
  }
  uint64_t plainTag(std::string_view key) const noexcept {
    return hasher_(key.data(), key.size(), key.size()) | 1u;
  }
  // The slot holding key (whose tag is `tag`), or the free slot that ends its probe sequence.
  size_t probePlain(std::string_view key, uint64_t tag) const noexcept;

  // What lookup() reads for a key configured as itself comes first.
  SeededHash hasher_;
  std::vector<PlainSlot> plain_slots_;
  std::vector<char> plain_bytes_;
  std::vector<ApiKeyEntry> entries_;
  size_t hashed_entries_ = 0;  // entries configured as sha256:<hex>
  std::vector<Slot> slots_;
};

}  // namespace tasker
