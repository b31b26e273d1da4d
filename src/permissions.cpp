#include "permissions.h"

#include <cstring>

#include "hot.h"

namespace tasker {

namespace {

const PermissionInfo kPermissions[kPermissionCount] = {
    {"tasks:create", "tasks", "Create new tasks"},
    {"tasks:read", "tasks", "Read task details"},
    {"tasks:list", "tasks", "List tasks"},
    {"tasks:cancel", "tasks", "Cancel running tasks"},
    {"tasks:context_read", "tasks", "Read task context data"},
    {"steps:read", "steps", "Read workflow step details"},
    {"steps:resolve", "steps", "Manually resolve steps"},
    {"dlq:read", "dlq", "Read DLQ entries"},
    {"dlq:update", "dlq", "Update DLQ investigations"},
    {"dlq:stats", "dlq", "View DLQ statistics"},
    {"templates:read", "templates", "Read task templates"},
    {"templates:validate", "templates", "Validate templates"},
    {"system:config_read", "system", "Read system configuration"},
    {"system:handlers_read", "system", "Read handler registry"},
    {"system:analytics_read", "system", "Read analytics data"},
    {"worker:config_read", "worker", "Read worker configuration"},
    {"worker:templates_read", "worker", "Read worker templates"},
};

const char* const kWildcards[] = {"*",          "tasks:*",  "steps:*", "dlq:*",
                                  "templates:*", "system:*", "worker:*"};
constexpr size_t kWildcardCount = sizeof(kWildcards) / sizeof(kWildcards[0]);

constexpr uint32_t kAllBits = (1u << kPermissionCount) - 1;

// Bits of every permission of one resource; 0 when the resource is not one of the six.
uint32_t resourceBits(std::string_view resource) noexcept {
  uint32_t bits = 0;
  for (int i = 0; i < kPermissionCount; ++i) {
    if (resource == kPermissions[i].resource) bits |= 1u << i;
  }
  return bits;
}

// The bits a granted string stands for: one name, a resource wildcard, "*", or nothing.
// Exact and case-sensitive by design: "tasks:c*", "*:read" and "Tasks:read" grant nothing.
uint32_t grantBits(std::string_view s) noexcept {
  if (s == "*") return kAllBits;
  int idx = permissionIndex(s);
  if (idx >= 0) return 1u << idx;
  if (s.size() > 2 && s.substr(s.size() - 2) == ":*") {
    return resourceBits(s.substr(0, s.size() - 2));
  }
  return 0;
}

struct MethodName {
  const char* name;
  Method bit;
};
const MethodName kMethods[] = {
    {"GET", Method::Get},         {"HEAD", Method::Head},       {"POST", Method::Post},
    {"PUT", Method::Put},         {"DELETE", Method::Delete},   {"PATCH", Method::Patch},
    {"OPTIONS", Method::Options}, {"TRACE", Method::Trace},     {"CONNECT", Method::Connect},
    {"MKCOL", Method::Mkcol},     {"COPY", Method::Copy},       {"MOVE", Method::Move},
    {"PROPFIND", Method::Propfind}, {"PROPPATCH", Method::Proppatch}, {"LOCK", Method::Lock},
    {"UNLOCK", Method::Unlock},
};

bool isAllCaps(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

}  // namespace

const PermissionInfo* permissionTable() noexcept { return kPermissions; }

const char* const* wildcardTable(size_t* count) noexcept {
  if (count) *count = kWildcardCount;
  return kWildcards;
}

int permissionIndex(std::string_view name) noexcept {
  for (int i = 0; i < kPermissionCount; ++i) {
    if (name == kPermissions[i].name) return i;
  }
  return -1;
}

bool isKnownPermissionString(std::string_view s) noexcept { return grantBits(s) != 0; }

bool Grant::add(std::string_view s) noexcept {
  uint32_t b = grantBits(s);
  bits |= b;
  return b != 0;
}

std::string methodNames() {
  std::string names;
  for (const auto& m : kMethods) {
    if (!names.empty()) names += ' ';
    names += m.name;
  }
  return names;
}

TASKER_HOT
uint32_t methodBit(std::string_view name) noexcept {
  for (const auto& m : kMethods) {
    if (name == m.name) return static_cast<uint32_t>(m.bit);
  }
  return 0;
}

Status RuleSet::addRule(const std::vector<std::string_view>& args, std::string* bad) {
  PermissionRule rule;
  size_t i = 0;
  // Leading all-caps words are method names; permissions are always lower case.
  for (; i < args.size() && isAllCaps(args[i]); ++i) {
    uint32_t bit = methodBit(args[i]);
    if (bit == 0) {
      if (bad) *bad = std::string(args[i]);
      return Status::ConfigBadMethod;
    }
    rule.methods |= bit;
  }
  if (i == args.size()) {
    if (bad) *bad = args.empty() ? std::string() : std::string(args.back());
    return Status::ConfigInvalid;
  }
  for (; i < args.size(); ++i) {
    int idx = permissionIndex(args[i]);
    if (idx < 0) {
      if (bad) *bad = std::string(args[i]);
      return isKnownPermissionString(args[i]) ? Status::ConfigWildcardRequired
                                              : Status::ConfigUnknownPermission;
    }
    rule.required.push_back(idx);
    rule.mask |= 1u << idx;
  }
  if (rule.methods & static_cast<uint32_t>(Method::Head)) names_head_ = true;
  if (rule.methods != 0) names_methods_ = true;
  all_required_ |= rule.mask;
  rules_.push_back(std::move(rule));
  return Status::Ok;
}

TASKER_HOT
Status RuleSet::check(std::string_view method, const Grant& grant,
                      const char** missing) const noexcept {
  if (rules_.empty()) return Status::Ok;
  // Without method names every rule applies, and the method need not be looked up: a grant
  // that holds every rule's permissions passes with one test (the common case, and the request
  // path's), and the loop below only runs to name the first missing permission.
  if (!names_methods_ && (grant.bits & all_required_) == all_required_) return Status::Ok;
  uint32_t bit = names_methods_ ? methodBit(method) : 0;
  // HEAD follows GET unless some rule names HEAD explicitly (SPEC 8).
  if (bit == static_cast<uint32_t>(Method::Head) && !names_head_) {
    bit = static_cast<uint32_t>(Method::Get);
  }
  bool covered = false;
  for (const PermissionRule& rule : rules_) {
    if (rule.methods != 0 && (bit == 0 || (rule.methods & bit) == 0)) continue;
    covered = true;
    if ((grant.bits & rule.mask) == rule.mask) continue;
    for (int idx : rule.required) {
      if (!grant.has(idx)) {
        if (missing) *missing = kPermissions[idx].name;
        return Status::PermDenied;
      }
    }
  }
  // Rules exist but none speaks for this method: deny rather than guess (fail closed).
  return covered ? Status::Ok : Status::PermMethodNotCovered;
}

}  // namespace tasker
