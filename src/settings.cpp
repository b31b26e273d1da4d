#include "settings.h"

#include <strings.h>

#include <string>
#include <utility>

#include "api_keys.h"
#include "jwks_fetcher.h"
#include "metrics.h"
#include "permissions.h"
#include "printable.h"
#include "toml_config.h"

namespace tasker {

namespace {

Status refuse(std::string_view value, std::string reason, SettingError* error) {
  if (error) {
    error->value = std::string(value);
    error->reason = std::move(reason);
  }
  return Status::ConfigInvalid;
}

// "RS256 RS384 ... EdDSA", from the algorithm table.
std::string algorithmList() {
  std::string out;
  for (int a = 0; a < kAlgCount; ++a) {
    if (!out.empty()) out += ' ';
    out += algName(static_cast<Alg>(a));
  }
  return out;
}

// Directory part of a path ("." when it has none), to resolve a key path named in a TOML file.
std::string dirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::vector<std::string_view> views(const std::vector<std::string>& v) {
  return std::vector<std::string_view>(v.begin(), v.end());
}

// A URL that parseJwksUrl took (so http:// or https://, either case) is https://.
bool isHttpsUrl(std::string_view url) {
  return url.size() >= 6 && strncasecmp(url.data(), "https:", 6) == 0;
}

// `<path>:<line>` of a key read from the file: line when given, else the key's from lines
// (`<path>` when neither is known).
std::string keyAt(const std::string& path, const std::map<std::string, int, std::less<>>* lines,
                  std::string_view key, int line) {
  if (line == 0 && lines != nullptr) {
    auto it = lines->find(key);
    if (it != lines->end()) line = it->second;
  }
  return path + (line > 0 ? ":" + std::to_string(line) : std::string());
}

// Converts the raw file values into *out; the first refused value ends it with *error set.
class Converter {
 public:
  Converter(const std::string& path, std::string* error) : path_(path), error_(error) {}

  Status convert(const AuthSettings& in, Settings* out);

 private:
  // `<path>:<line>` of a key read from the file (`<path>` when its line is unknown).
  std::string at(std::string_view key, int line = 0) const {
    return keyAt(path_, lines_, key, line);
  }
  // `<path>:<line>: <key> "<value>"<reason>`; the line is the key's unless given.
  Status fail(std::string_view key, const SettingError& e, int line = 0) {
    *error_ = at(key, line) + ": " + e.message(key);
    return Status::ConfigInvalid;
  }
  Status seconds(const std::optional<int64_t>& in, std::string_view key, bool refresh,
                 std::optional<int64_t>* out);
  Status apiKeys(const std::vector<TomlApiKey>& in, std::vector<ApiKeySpec>* out);

  const std::string& path_;
  std::string* error_;
  const std::map<std::string, int, std::less<>>* lines_ = nullptr;  // the file's, in convert()
};

Status Converter::seconds(const std::optional<int64_t>& in, std::string_view key, bool refresh,
                          std::optional<int64_t>* out) {
  if (!in) return Status::Ok;
  SettingError e;
  const std::string written = std::to_string(*in);
  Status st = refresh ? checkJwksRefreshInterval(*in, written, &e)
                      : checkDuration(*in, written, &e);
  if (st != Status::Ok) return fail(key, e);
  *out = *in;
  return Status::Ok;
}

Status Converter::apiKeys(const std::vector<TomlApiKey>& in, std::vector<ApiKeySpec>* out) {
  for (const TomlApiKey& k : in) {
    ApiKeySpec spec;
    SettingError e;
    if (parseApiKeyEntry(k.key, k.permissions, k.description,
                         path_ + ":" + std::to_string(k.line), &spec, &e) != Status::Ok) {
      return fail(looksLikePermissionList(k.key) ? "key" : "api key permission", e, k.line);
    }
    out->push_back(std::move(spec));
  }
  return Status::Ok;
}

Status Converter::convert(const AuthSettings& in, Settings* out) {
  SettingError e;
  Status st;
  lines_ = &in.lines;

  const std::pair<const char*, const std::optional<std::string>*> texts[] = {
      {"jwt_issuer", &in.jwt_issuer},
      {"jwt_audience", &in.jwt_audience},
      {"permissions_claim", &in.permissions_claim}};
  for (const auto& [key, value] : texts) {
    if (*value && checkText(**value, &e) != Status::Ok) return fail(key, e);
  }
  if (in.api_key_header && checkHeaderName(*in.api_key_header, &e) != Status::Ok) {
    return fail("api_key_header", e);
  }

  out->enabled = in.enabled;
  out->jwt_issuer = in.jwt_issuer;
  out->jwt_audience = in.jwt_audience;
  out->permissions_claim = in.permissions_claim;
  out->api_key_header = in.api_key_header;
  // An empty key value sets no key: tasker's own files write jwt_public_key = "${VAR:-}" and
  // jwt_public_key_path = "${VAR:-}" ("a PEM or empty", "a path or empty").
  if (in.jwt_public_key && !in.jwt_public_key->empty()) {
    out->jwt_public_key = in.jwt_public_key;
  }
  out->strict_validation = in.strict_validation;
  out->log_unknown_permissions = in.log_unknown_permissions;
  out->api_keys_enabled = in.api_keys_enabled;

  if (in.jwt_public_key_path && !in.jwt_public_key_path->empty()) {
    // relative paths resolve against the TOML file's directory
    const std::string& p = *in.jwt_public_key_path;
    out->jwt_public_key_written = p;
    out->jwt_public_key_path = (!p.empty() && p[0] == '/') ? p : dirOf(path_) + "/" + p;
  }

  if (in.jwt_verification_method) {
    VerificationMethod m;
    if (parseVerificationMethod(*in.jwt_verification_method, &m, &e) != Status::Ok) {
      return fail("jwt_verification_method", e);
    }
    out->jwt_verification_method = m;
  }

  // An empty jwks_url sets no URL either: tasker's generated files write jwks_url = "" beside
  // jwt_verification_method = "public_key", and tasker itself starts no JWKS store for it.
  if (in.jwks_url && !in.jwks_url->empty()) {
    std::string url;
    if (parseJwksUrl(*in.jwks_url, &url, &e) != Status::Ok) return fail("jwks_url", e);
    // tasker's jwks_url_allow_http: a file that says false refuses a plain-HTTP key source, as
    // tasker does. Left out, the directive's rule applies (http:// and https:// both allowed).
    if (in.jwks_url_allow_http == false && !isHttpsUrl(url)) {
      std::string shown;
      (void)redactFetchUrl(url, &shown);
      refuse(shown, " is not https:// while jwks_url_allow_http is false", &e);
      return fail("jwks_url", e);
    }
    out->jwks_url = std::move(url);
  }

  if (in.jwt_allowed_algorithms) {
    AlgMask mask;
    if (parseAlgorithms(views(*in.jwt_allowed_algorithms), &mask, &e) != Status::Ok) {
      return fail("jwt_allowed_algorithms", e);
    }
    out->jwt_allowed_algorithms = mask;
  }

  st = seconds(in.jwks_refresh_interval_seconds, "jwks_refresh_interval_seconds", true,
               &out->jwks_refresh_interval);
  if (st == Status::Ok) {
    st = seconds(in.jwks_max_stale_seconds, "jwks_max_stale_seconds", false,
                 &out->jwks_max_stale);
  }
  if (st == Status::Ok) {
    st = seconds(in.jwt_leeway_seconds, "jwt_leeway_seconds", false, &out->jwt_leeway);
  }
  if (st != Status::Ok) return st;

  if (in.api_keys) {
    std::vector<ApiKeySpec> keys;
    st = apiKeys(*in.api_keys, &keys);
    if (st != Status::Ok) return st;
    out->api_keys = std::move(keys);
  }
  return Status::Ok;
}

}  // namespace

std::string SettingError::message(std::string_view name) const {
  // a control byte in the value (a TOML or nginx.conf escape) must not reach the log or console
  return std::string(name) + " \"" + withoutControlBytes(value) + "\"" + reason;
}

const char* verificationMethodName(VerificationMethod m) noexcept {
  return m == VerificationMethod::Jwks ? "jwks" : "public_key";
}

Status parseAlgorithms(const std::vector<std::string_view>& names, AlgMask* out,
                       SettingError* error) {
  if (names.empty()) return refuse("", " must name at least one algorithm", error);
  AlgMask mask = 0;
  for (std::string_view name : names) {
    Alg alg;
    // none and HS* are refused like any unknown name
    if (parseAlg(name, &alg) != Status::Ok) {
      return refuse(name, " is not allowed (use " + algorithmList() + ")", error);
    }
    mask |= algBit(alg);
  }
  *out = mask;
  return Status::Ok;
}

Status parseVerificationMethod(std::string_view name, VerificationMethod* out,
                               SettingError* error) {
  for (VerificationMethod m : {VerificationMethod::PublicKey, VerificationMethod::Jwks}) {
    if (name == verificationMethodName(m)) {
      *out = m;
      return Status::Ok;
    }
  }
  return refuse(name,
                std::string(" must be ") + verificationMethodName(VerificationMethod::PublicKey) +
                    " or " + verificationMethodName(VerificationMethod::Jwks),
                error);
}

Status parseJwksUrl(std::string_view url, std::string* out, SettingError* error) {
  std::string u(url);
  std::string why, shown;  // shown: without userinfo or query (SPEC 8), even when malformed
  if (validateFetchUrl(u, &why) != Status::Ok) {
    (void)redactFetchUrl(u, &shown);
    return refuse(shown, " must be an http:// or https:// URL (" + why + ")", error);
  }
  if (u.size() >= kMetricsUrlBytes) {
    (void)redactFetchUrl(u, &shown);
    return refuse(shown,
                  " must be an http:// or https:// URL (longer than " +
                      std::to_string(kMetricsUrlBytes - 1) + " bytes)",
                  error);
  }
  *out = std::move(u);
  return Status::Ok;
}

Status checkDuration(int64_t seconds, std::string_view written, SettingError* error) {
  if (seconds < 0) return refuse(written, " must not be negative", error);
  if (seconds > kMaxDurationSeconds) {
    return refuse(written,
                  " must be at most " + std::to_string(kMaxDurationSeconds) + "s (10 years)",
                  error);
  }
  return Status::Ok;
}

Status checkJwksRefreshInterval(int64_t seconds, std::string_view written, SettingError* error) {
  if (seconds < kMinJwksRefreshSeconds) {
    return refuse(written, " must be at least " + std::to_string(kMinJwksRefreshSeconds) + "s",
                  error);
  }
  return checkDuration(seconds, written, error);
}

Status checkJwksMaxStale(int64_t max_stale, int64_t refresh_interval, SettingError* error) {
  if (max_stale == 0 || max_stale > refresh_interval) return Status::Ok;
  return refuse(std::to_string(max_stale) + "s",
                " must exceed the refresh interval (" + std::to_string(refresh_interval) +
                    "s), or be 0: the key set would expire before its next refresh, and JWT "
                    "requests would get 503 while the JWKS endpoint is healthy",
                error);
}

Status checkText(std::string_view value, SettingError* error) {
  if (value.empty()) return refuse(value, " must not be empty", error);
  return Status::Ok;
}

Status checkHeaderName(std::string_view name, SettingError* error) {
  if (name.empty()) return refuse(name, " must not be empty", error);
  if (name.size() > kMaxHeaderNameBytes) {
    return refuse(name.substr(0, 32),
                  "... is longer than " + std::to_string(kMaxHeaderNameBytes) + " bytes",
                  error);
  }
  for (char c : name) {
    const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!token) {
      // the name is shown with the byte replaced: a control byte must not reach the console
      return refuse(withoutControlBytes(name, '?', true),
                    " is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)", error);
    }
  }
  return Status::Ok;
}

char headerNameByteNginxDrops(std::string_view name, bool underscores_in_headers) {
  for (char c : name) {
    const bool taken = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || c == '-' || (c == '_' && underscores_in_headers);
    if (!taken) return c;
  }
  return '\0';
}

Status parsePermissionRule(const std::vector<std::string_view>& args, RuleSet* rules,
                           SettingError* error) {
  std::string bad;
  Status st = rules->addRule(args, &bad);
  switch (st) {
    case Status::Ok:
      return Status::Ok;
    case Status::ConfigWildcardRequired:
      return refuse(bad,
                    ": a wildcard cannot be required, name one of the " +
                        std::to_string(kPermissionCount) + " permissions",
                    error);
    case Status::ConfigBadMethod:
      return refuse(bad, " is not an HTTP method (" + methodNames() + ")", error);
    case Status::ConfigInvalid:
      return refuse(bad, " names no permission", error);
    default:
      return refuse(bad, " is not a known permission (see tasker-ctl auth show-permissions)",
                    error);
  }
}

Status parseApiKeyEntry(std::string_view key, std::vector<std::string> permissions,
                        std::string_view description, std::string source, ApiKeySpec* out,
                        SettingError* error) {
  // before any permission is looked at: swapped, they hold the key, which no message may show
  if (looksLikePermissionList(key)) {
    return refuse(key,
                  " is a permission list, not a key: the key and its permissions look swapped "
                  "(tasker_api_key KEY PERMS [DESCRIPTION])",
                  error);
  }
  for (const std::string& p : permissions) {
    if (p.find(',') != std::string::npos) return refuse(p, " contains a comma", error);
  }
  out->key = std::string(key);
  out->permissions = std::move(permissions);
  out->description =
      description.empty() ? std::string(kDefaultApiKeyDescription) : std::string(description);
  out->source = std::move(source);
  return Status::Ok;
}

std::string Settings::from(std::string_view key) const {
  return "tasker_auth_config " + keyAt(path, &lines, key, 0) + ": " + std::string(key);
}

Status loadAuthSettings(const std::string& path, std::string_view table, Settings* out,
                        std::vector<std::string>* warnings, std::string* error) {
  std::string scratch;
  std::string* err = error ? error : &scratch;
  if (!out) return Status::Internal;

  AuthSettings raw;
  Status st = loadAuthToml(path, table, &raw, warnings, err);
  if (st != Status::Ok) return st;

  Settings typed;
  Converter converter(path, err);
  st = converter.convert(raw, &typed);
  if (st != Status::Ok) return st;
  if (warnings && typed.api_keys) {
    for (const ApiKeySpec& k : *typed.api_keys) {
      if (looksLikeUnprefixedDigest(k.key)) {
        warnings->push_back(k.source + ": api_keys entry \"" + shownText(k.description, 64) +
                            "\"" + kUnprefixedDigestWarning);
      }
    }
  }
  typed.path = path;
  typed.lines = std::move(raw.lines);
  *out = std::move(typed);
  return Status::Ok;
}

}  // namespace tasker
