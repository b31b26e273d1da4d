// One function per configuration setting (SPEC 2): each parses and validates a value and returns
// it typed, or an error naming the offending value. The nginx directive setters and the TOML
// loader (loadAuthSettings below) both call these, so a value means the same thing and fails with
// the same words whichever way it arrives.
//
// Usage (a directive setter):
//   AlgMask mask;
//   SettingError err;
//   if (parseAlgorithms(args, &mask, &err) != Status::Ok) {
//     log(err.message("tasker_jwt_allowed_algorithms"));  // tasker_jwt_allowed_algorithms "RS257" is ...
//   }
// Usage (tasker_auth_config):
//   Settings s; std::string error;
//   if (loadAuthSettings(path, table, &s, &warnings, &error) != Status::Ok) { log(error); }
//
// None of these functions throws except std::bad_alloc (the adapter catches it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "algorithms.h"
#include "status.h"

namespace tasker {

class RuleSet;

// Why a value was refused. The message reads `<name> "<value>"<reason>`; reason carries its own
// leading separator (" is not allowed ...", ": a wildcard ...").
struct SettingError {
  std::string value;   // the offending value as written (one element of a list)
  std::string reason;  // what is wrong with it, starting with " " or ":"

  // `name "value"reason`, e.g. `tasker_jwks_url "file:///x" must be an http:// or https:// URL`.
  // Control bytes of the value are shown as '?'.
  std::string message(std::string_view name) const;
};

// tasker_jwt_verification_method.
enum class VerificationMethod { PublicKey, Jwks };

// "public_key" or "jwks". Static storage.
const char* verificationMethodName(VerificationMethod m) noexcept;

// The smallest JWKS refresh interval accepted, in seconds: a shorter one would make every worker
// refetch and re-parse the set on every timer tick.
constexpr int64_t kMinJwksRefreshSeconds = 1;

// Default description (subject) of an API key entry without one.
inline constexpr const char kDefaultApiKeyDescription[] = "api-key";

// tasker_jwt_allowed_algorithms: names of the ten algorithms (exact case). none, HS* and unknown
// names are refused; so is an empty list (it would reject every token).
Status parseAlgorithms(const std::vector<std::string_view>& names, AlgMask* out,
                       SettingError* error);

// tasker_jwt_verification_method: "public_key" or "jwks".
Status parseVerificationMethod(std::string_view name, VerificationMethod* out,
                               SettingError* error);

// tasker_jwks_url: what the fetcher accepts (http or https with a host; validateFetchUrl) and
// short enough to be a metrics label. *out is the URL.
Status parseJwksUrl(std::string_view url, std::string* out, SettingError* error);

// The longest duration accepted (tasker_jwks_refresh_interval, tasker_jwks_max_stale,
// tasker_jwt_leeway): ten years. Nothing needs more, and a deadline `now + interval` must not
// overflow.
constexpr int64_t kMaxDurationSeconds = 10LL * 365 * 24 * 3600;

// A duration in seconds (tasker_jwt_leeway, tasker_jwks_max_stale): not negative, at most
// kMaxDurationSeconds. `written` is the value as the operator wrote it, for the message.
Status checkDuration(int64_t seconds, std::string_view written, SettingError* error);

// tasker_jwks_refresh_interval: at least kMinJwksRefreshSeconds, at most kMaxDurationSeconds.
Status checkJwksRefreshInterval(int64_t seconds, std::string_view written, SettingError* error);

// tasker_jwks_max_stale against tasker_jwks_refresh_interval (both in effect in one block):
// a limit that is not 0 must exceed the interval. A shorter one would expire a healthy key set
// before its next scheduled refresh, and JWT requests would get 503 without any failure.
Status checkJwksMaxStale(int64_t max_stale, int64_t refresh_interval, SettingError* error);

// tasker_jwt_issuer, tasker_jwt_audience, tasker_permissions_claim: not empty. An empty issuer
// or audience would match no token, an empty claim name no permission.
Status checkText(std::string_view value, SettingError* error);

// tasker_api_key_header: an HTTP field name (RFC 9110 token characters), at most
// kMaxHeaderNameBytes. Anything else (empty, a space, a colon) names a header no request can
// carry, and every key would be "missing".
constexpr size_t kMaxHeaderNameBytes = 256;
Status checkHeaderName(std::string_view name, SettingError* error);

// The first byte of a header name that nginx's request parsers (HTTP/1.x, 2 and 3) mark invalid:
// anything but letters, digits and '-', and '_' unless underscores_in_headers is on. With
// ignore_invalid_headers on (nginx's default) such a header is dropped before any module sees
// it. '\0' when nginx takes every byte of the name.
char headerNameByteNginxDrops(std::string_view name, bool underscores_in_headers);

// One tasker_permission rule (leading method names, then permissions) added to *rules.
// Unknown or wildcard permissions, unknown methods and a rule without permissions are refused.
Status parsePermissionRule(const std::vector<std::string_view>& args, RuleSet* rules,
                           SettingError* error);

// One API key entry as declared (tasker_api_key or [[...api_keys]]), before the registry hashes
// and checks it against strict validation (that depends on the merged configuration).
struct ApiKeySpec {
  std::string key;                       // plain or sha256:<hex>; never logged
  std::vector<std::string> permissions;  // one string per grant
  std::string description;               // the subject; kDefaultApiKeyDescription when none
  std::string source;                    // "file:line", for messages
};

// Builds an ApiKeySpec. A permission string containing a comma is refused: entries are also
// written as comma lists (tasker_api_key), where it would silently become two grants. So is a
// key that is itself a permission list (looksLikePermissionList): KEY and PERMS swapped, the
// real key in the permissions; the message shows the key argument only.
Status parseApiKeyEntry(std::string_view key, std::vector<std::string> permissions,
                        std::string_view description, std::string source, ApiKeySpec* out,
                        SettingError* error);

// The validated, typed [auth] settings of a tasker TOML file. Every field is optional: set only
// when the file sets it.
struct Settings {
  std::optional<bool> enabled;
  std::optional<std::string> jwt_issuer, jwt_audience, permissions_claim, api_key_header;
  std::optional<std::string> jwt_public_key_path;     // resolved against the file's directory
  std::optional<std::string> jwt_public_key_written;  // the path as written in the file
  std::optional<std::string> jwt_public_key;          // inline PEM
  std::optional<VerificationMethod> jwt_verification_method;
  std::optional<std::string> jwks_url;
  std::optional<int64_t> jwks_refresh_interval, jwks_max_stale, jwt_leeway;  // seconds
  std::optional<AlgMask> jwt_allowed_algorithms;
  std::optional<bool> strict_validation, log_unknown_permissions, api_keys_enabled;
  std::optional<std::vector<ApiKeySpec>> api_keys;

  // Where the values were read, for the messages the adapter writes after the merge (a key
  // file's load errors, max_stale against the refresh interval).
  std::string path;
  std::map<std::string, int, std::less<>> lines;  // each key read -> its line
  // `tasker_auth_config <file>:<line>: <key>` (no line for a key the file does not set).
  std::string from(std::string_view key) const;
};

// loadAuthToml (toml_config.h), then every value through the functions above. Errors: those of
// loadAuthToml, or ConfigInvalid with *error = `<path>[:line]: <key> "<value>"<reason>`.
Status loadAuthSettings(const std::string& path, std::string_view table, Settings* out,
                        std::vector<std::string>* warnings, std::string* error);

}  // namespace tasker
