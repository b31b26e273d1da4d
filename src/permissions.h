// The permission vocabulary (SPEC 1), granted sets, and method-qualified rules (SPEC 2, 8).
//
// Usage:
//   RuleSet rules;                                     // at configuration load
//   rules.addRule({"POST", "tasks:create"}, &err);     // Status::Ok or a Config* status
//   Grant g = Grant::fromStrings(strings);             // per credential
//   rules.check("POST", g, &missing);                  // Ok, PermDenied or PermMethodNotCovered
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace tasker {

constexpr int kPermissionCount = 17;

// One entry of the vocabulary: "resource:action" plus its description (SPEC 1 table).
struct PermissionInfo {
  const char* name;
  const char* resource;
  const char* description;
};

// The 17 permissions in SPEC order. Index i corresponds to bit i of a Grant.
const PermissionInfo* permissionTable() noexcept;

// The seven wildcards: "*" and "<resource>:*" for tasks, steps, dlq, templates, system, worker.
const char* const* wildcardTable(size_t* count) noexcept;

// Index 0..16 of an exact vocabulary name, or -1. Case-sensitive, no wildcards.
int permissionIndex(std::string_view name) noexcept;

// True when s is one of the 17 names or one of the 7 wildcards. Everything else is "unknown".
bool isKnownPermissionString(std::string_view s) noexcept;

// A credential's granted permissions, compiled to a bit set. Unknown strings grant nothing.
struct Grant {
  uint32_t bits = 0;  // bit i set = permissionTable()[i] granted

  // Adds one granted string: a name, a wildcard, or anything else (ignored, returns false).
  bool add(std::string_view s) noexcept;
  bool has(int index) const noexcept { return index >= 0 && (bits >> index) & 1u; }
};
static_assert(kPermissionCount <= 32, "Grant::bits and PermissionRule::mask hold one bit each");

// HTTP methods a rule may name: RFC 9110's, PATCH, and the WebDAV methods nginx's own
// limit_except accepts. Bit positions of RuleSet method masks.
enum class Method : uint32_t {
  Get = 1u << 0, Head = 1u << 1, Post = 1u << 2, Put = 1u << 3, Delete = 1u << 4,
  Patch = 1u << 5, Options = 1u << 6, Trace = 1u << 7, Connect = 1u << 8,
  Mkcol = 1u << 9, Copy = 1u << 10, Move = 1u << 11, Propfind = 1u << 12,
  Proppatch = 1u << 13, Lock = 1u << 14, Unlock = 1u << 15,
};

// The method names a rule accepts, space-separated, for messages ("GET HEAD ... UNLOCK").
std::string methodNames();

// Bit of a method name ("GET"), or 0 for a name we do not know.
uint32_t methodBit(std::string_view name) noexcept;

// One tasker_permission directive: methods (0 = every method) and required permission indices.
struct PermissionRule {
  uint32_t methods = 0;
  std::vector<int> required;  // vocabulary indices, in argument order
  uint32_t mask = 0;          // the same as Grant bits: one test on the request path
};

// The ordered rules of one location. Immutable after configuration load.
class RuleSet {
 public:
  // Parses one directive's arguments: leading all-caps method names, then permission names.
  // A wildcard gives ConfigWildcardRequired, an unknown name ConfigUnknownPermission, an unknown
  // all-caps method ConfigBadMethod, no permission at all ConfigInvalid. *bad receives the
  // offending argument for the error message.
  Status addRule(const std::vector<std::string_view>& args, std::string* bad);

  bool empty() const noexcept { return rules_.empty(); }
  const std::vector<PermissionRule>& rules() const noexcept { return rules_; }

  // Evaluates the rules for a request method ("GET", "HEAD", ...; any string) and a grant.
  //  - no rules: Ok (any authenticated credential passes);
  //  - HEAD uses the rules naming HEAD when any rule names HEAD, else the rules naming GET;
  //  - rules exist but none applies: PermMethodNotCovered;
  //  - otherwise the first missing permission (rule order, then argument order) gives
  //    PermDenied with *missing set to its vocabulary name (static storage).
  Status check(std::string_view method, const Grant& grant, const char** missing) const noexcept;

 private:
  std::vector<PermissionRule> rules_;
  uint32_t all_required_ = 0;  // union of the rules' masks (used when no rule names methods)
  bool names_head_ = false;
  bool names_methods_ = false;  // some rule names methods; otherwise check() never reads the method
};

}  // namespace tasker
