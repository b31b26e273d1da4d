// API key registry (SPEC 2 tasker_api_key). Keys are stored only as SHA-256 digests, looked up by
// digest in a hash table (cost independent of which key matches and of the registry size), every
// digest compared in constant time.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "permissions.h"
#include "status.h"

namespace tasker {

struct ApiKeyEntry {
  std::array<uint8_t, 32> digest{};
  std::vector<std::string> permissions;  // configured order, unknown ones kept (strict off)
  std::vector<std::string> unknown;
  Grant grant;
  std::string description;  // the subject
  std::string source;       // where it was configured, e.g. "nginx.conf:42"
};

// Splits a comma-separated permission list; trims spaces; "" gives an empty list.
std::vector<std::string> splitPermissionList(std::string_view csv);

// "sha256:<64 lowercase hex>" of key.
std::string hashApiKey(std::string_view key);

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

  // Hashes the presented key once and finds its entry; nullptr when none (an empty or oversized
  // key never matches). Never logs, never keeps the key.
  const ApiKeyEntry* lookup(std::string_view presented) const noexcept;

  size_t size() const noexcept { return entries_.size(); }
  const std::vector<ApiKeyEntry>& entries() const noexcept { return entries_; }

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

  std::vector<ApiKeyEntry> entries_;
  std::vector<Slot> slots_;
};

}  // namespace tasker
