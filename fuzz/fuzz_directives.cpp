// libFuzzer target: the directive parsers, through the functions the directive setters and the
// TOML overlay call (settings.h parsePermissionRule, parseApiKeyEntry, parseAlgorithms,
// parseVerificationMethod, parseJwksUrl; claim_path.h ClaimPath::parse for tasker_jwt_claim_set),
// then the registry (ApiKeyRegistry::add), rule evaluation and key lookup. Input lines, as nginx
// would hand over arguments:
//   every line up to an empty one: a tasker_permission directive, arguments split at blanks;
//   then lines of "KEY<TAB>PERMS<TAB>DESCRIPTION" (tasker_api_key);
//   every line also goes, whole, to the single-value parsers (algorithm list split at blanks,
//   verification method, JWKS URL, claim path);
//   the first byte's low bit picks strict validation.
// Invariants: a rule set only ever requires vocabulary permissions; a registry entry never holds
// a permission string with a comma, nor (strict) an unknown one; a key that was added is found;
// an accepted claim path has 1..kMaxClaimPathDepth non-empty names; an accepted algorithm list is
// not empty; a refused value always comes with a reason.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api_keys.h"
#include "claim_path.h"
#include "fuzz_common.h"
#include "permissions.h"
#include "settings.h"
#include "tasker_limits.h"

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
    SettingError err;
    if (parsePermissionRule(args, &rules, &err) != Status::Ok) {
      fuzz::check(!err.reason.empty(), "a refused rule without a reason");
    }
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
    ApiKeySpec spec;
    SettingError err;
    if (parseApiKeyEntry(f[0], splitPermissionList(f[1]), f.size() > 2 ? f[2] : "",
                         "fuzz.conf:" + std::to_string(i + 1), &spec, &err) != Status::Ok) {
      fuzz::check(!err.reason.empty(), "a refused API key without a reason");
      continue;
    }
    for (const std::string& p : spec.permissions) {
      fuzz::check(p.find(',') == std::string::npos, "an API key spec permission with a comma");
    }
    std::string detail;
    Status s = registry.add(spec.key, spec.permissions, spec.description, strict, spec.source,
                            &detail);
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
  for (std::string_view l : lines) {
    AlgMask algs = 0;
    VerificationMethod method;
    std::string url;
    SettingError err;
    if (parseAlgorithms(split(l, ' ', true), &algs, &err) == Status::Ok) {
      fuzz::check(algs != 0, "an accepted empty algorithm list");
    }
    (void)parseVerificationMethod(l, &method, &err);
    if (parseJwksUrl(l, &url, &err) == Status::Ok) {
      std::string scheme = url.substr(0, url.find("://"));
      for (char& c : scheme) c = static_cast<char>(c | 0x20);  // schemes ignore case
      fuzz::check(scheme == "http" || scheme == "https", "an accepted JWKS URL not http(s)");
    }
    ClaimPath path;
    const char* why = nullptr;
    if (ClaimPath::parse(l, &path, &why) == Status::Ok) {
      fuzz::check(!path.segments().empty() &&
                      path.segments().size() <= static_cast<size_t>(kMaxClaimPathDepth),
                  "an accepted claim path of bad depth");
      for (const std::string& seg : path.segments()) {
        fuzz::check(!seg.empty(), "an accepted claim path with an empty name");
      }
    } else {
      fuzz::check(why != nullptr, "a refused claim path without a reason");
    }
  }

  Grant g;
  for (std::string_view l : lines) g.add(l);
  (void)rules.check("GET", g, &missing);
  return 0;
}
