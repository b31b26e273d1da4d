// Reads the [auth] settings of a tasker TOML configuration (SPEC 2 tasker_auth_config, SPEC 8).
// Every field is optional: set only when the file sets it. The adapter applies them as values of
// the enclosing block, below explicit directives.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace tasker {

struct TomlApiKey {
  std::string key;                       // plain or sha256:
  std::vector<std::string> permissions;  // array of strings, or a comma-separated string
  std::string description;
  int line = 0;                          // line of the [[...api_keys]] table in the file
};

struct AuthSettings {
  std::optional<bool> enabled;  // tasker_auth
  std::optional<std::string> jwt_issuer, jwt_audience, jwt_public_key_path, jwt_public_key,
      jwt_verification_method, jwks_url, permissions_claim, api_key_header;
  std::optional<int64_t> jwks_refresh_interval_seconds, jwks_max_stale_seconds,
      jwt_leeway_seconds;
  std::optional<std::vector<std::string>> jwt_allowed_algorithms;
  std::optional<bool> strict_validation, log_unknown_permissions, api_keys_enabled;
  std::optional<bool> jwks_url_allow_http;  // tasker's; false refuses the file's http:// jwks_url
  std::optional<std::vector<TomlApiKey>> api_keys;
  std::map<std::string, int, std::less<>> lines;  // each key read -> its line, for messages
};

// Loads `table` (dotted, e.g. "orchestration.web.auth"; empty = the first of auth,
// orchestration.web.auth, worker.web.auth that holds a key read here, so that an [auth] made only
// by its sub-tables does not hide the next one) from the file at path.
// ${VAR} and ${VAR:-default} in string values are expanded from the environment.
// Errors (*error names the file, the line and the key):
//   ConfigFileUnreadable, ConfigFileSyntax, ConfigInvalid (wrong type; an unknown key of the
//   table that misspells a known one: "file:line: unknown key \"enable\" in [auth] (did you
//   mean \"enabled\"?)"), ConfigTableMissing (no such table; a named table that holds no key
//   read here, only unknown or ignored keys and sub-tables).
// Other unknown keys are not errors: each adds a line to *warnings ("file:line: unknown key
// \"x\""); tasker's issuing-side keys and _docs tables say nothing.
Status loadAuthToml(const std::string& path, std::string_view table, AuthSettings* out,
                    std::vector<std::string>* warnings, std::string* error);

}  // namespace tasker
