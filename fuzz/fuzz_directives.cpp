// libFuzzer target: the parsing behind the tasker_permission and tasker_api_key directives
// (permissions.h RuleSet::addRule, api_keys.h splitPermissionList and ApiKeyRegistry::add), then
// rule evaluation and key lookup. Input lines, as nginx would hand over arguments:
//   every line up to an empty one: a tasker_permission directive, arguments split at blanks;
//   then lines of "KEY<TAB>PERMS<TAB>DESCRIPTION" (tasker_api_key);
//   the first byte's low bit picks strict validation.
// Invariants: a rule set only ever requires vocabulary permissions; a registry entry never holds
// a permission string with a comma, nor (strict) an unknown one; a key that was added is found.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api_keys.h"
#include "fuzz_common.h"
#include "permissions.h"

using namespace tasker;

namespace {

std::vector<std::string_view> split(std::string_view s, char sep, bool skip_empty) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(sep, pos);
    if (end == std::string_view::npos) end = s.size();
    if (!skip_empty || end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 64 * 1024) return 0;
  const bool strict = (data[0] & 1) == 0;
  const std::vector<std::string_view> lines = split(fuzz::asView(data + 1, size - 1), '\n', false);

  RuleSet rules;
  ApiKeyRegistry registry;
  size_t i = 0;
  for (; i < lines.size() && !lines[i].empty(); ++i) {
    std::vector<std::string_view> args = split(lines[i], ' ', true);
    std::string bad;
    (void)rules.addRule(args, &bad);
  }
  for (const PermissionRule& r : rules.rules()) {
    fuzz::check(!r.required.empty(), "a rule without a required permission");
    for (int idx : r.required) {
      fuzz::check(idx >= 0 && idx < kPermissionCount, "a rule requires a non-vocabulary index");
    }
  }

  std::vector<std::string> added;
  for (++i; i < lines.size(); ++i) {
    std::vector<std::string_view> f = split(lines[i], '\t', false);
    if (f.size() < 2) continue;
    std::string detail;
    Status s = registry.add(f[0], splitPermissionList(f[1]), f.size() > 2 ? f[2] : "api-key",
                            strict, "fuzz.conf:" + std::to_string(i + 1), &detail);
    if (s == Status::Ok) added.emplace_back(f[0]);
  }
  for (const ApiKeyEntry& e : registry.entries()) {
    for (const std::string& p : e.permissions) {
      fuzz::check(p.find(',') == std::string::npos, "an API key permission with a comma");
      if (strict) fuzz::check(isKnownPermissionString(p), "strict registry kept an unknown");
    }
  }
  for (const std::string& key : added) {
    // A sha256: entry matches the key whose digest it is, not its own text.
    if (key.rfind("sha256:", 0) == 0 || key.rfind("SHA256:", 0) == 0) continue;
    if (key.size() > 1024) continue;
    fuzz::check(registry.lookup(key) != nullptr, "an added key is not found");
  }

  const char* missing = nullptr;
  for (const ApiKeyEntry& e : registry.entries()) {
    for (const char* m : {"GET", "HEAD", "POST", "DELETE", "BREW"}) {
      Status s = rules.check(m, e.grant, &missing);
      if (s == Status::PermDenied) fuzz::check(permissionIndex(missing) >= 0, "bad missing name");
    }
  }
  Grant g;
  for (std::string_view l : lines) g.add(l);
  (void)rules.check("GET", g, &missing);
  return 0;
}
