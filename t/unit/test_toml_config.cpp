// Unit tests for src/toml_config.cpp: tasker_auth_config (SPEC 2, 8). Files are written to a
// fresh mkdtemp directory at run time and removed afterwards.
#include "toml_config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <iterator>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include "scratch_dir.h"

namespace tasker {
namespace {

using test::g_dir;
using test::g_files;
using test::scratchTeardown;
using test::writeFile;

int groupSetup(void** state) { return test::scratchSetup("/tmp/tasker_toml_test_XXXXXX"); }

struct Loaded {
  Status status;
  AuthSettings settings;
  std::vector<std::string> warnings;
  std::string error;
  std::string path;
};

Loaded load(const std::string& name, const std::string& text, std::string_view table = "") {
  Loaded r;
  r.path = writeFile(name, text);
  r.status = loadAuthToml(r.path, table, &r.settings, &r.warnings, &r.error);
  return r;
}

void assertStrings(const std::vector<std::string>& got, const std::vector<std::string>& want) {
  assert_int_equal(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) assert_string_equal(got[i].c_str(), want[i].c_str());
}

// The tasker shape from the brief and from tasker-core's docs/auth/configuration.md.
const char kOrchestration[] = R"(# tasker orchestration config
[orchestration.web]
bind = "0.0.0.0:8080"

[orchestration.web.auth]
enabled = true
jwt_issuer = "tasker-core"
jwt_audience = "tasker-api"
jwt_public_key_path = "/etc/tasker/keys/jwt-public-key.pem"

[[orchestration.web.auth.api_keys]]
key = "sk-monitoring"
permissions = ["tasks:read"]
description = "monitoring"

[[orchestration.web.auth.api_keys]]
key = "sk-admin"
permissions = "tasks:*, dlq:read"
description = "admin"
)";

// ---- table selection -------------------------------------------------------------------------

void test_toml_config_auth_table_all_keys(void** state) {
  Loaded r = load("all.toml", R"([auth]
enabled = true
jwt_issuer = "iss"
jwt_audience = "aud"
jwt_public_key_path = "/k.pem"
jwt_public_key = """
-----BEGIN PUBLIC KEY-----
MFkw
-----END PUBLIC KEY-----
"""
jwt_verification_method = "jwks"
jwks_url = "https://idp.example/jwks.json"
jwks_refresh_interval_seconds = 600
jwks_max_stale_seconds = 0
jwt_leeway_seconds = 30
jwt_allowed_algorithms = ["RS256", "ES256"]
permissions_claim = "scope"
strict_validation = false
log_unknown_permissions = false
api_keys_enabled = true
api_key_header = "X-Tasker-Key"
)");
  assert_int_equal(r.status, Status::Ok);
  assert_true(r.warnings.empty());
  const AuthSettings& s = r.settings;
  assert_true(s.enabled.value());
  assert_string_equal(s.jwt_issuer->c_str(), "iss");
  assert_string_equal(s.jwt_audience->c_str(), "aud");
  assert_string_equal(s.jwt_public_key_path->c_str(), "/k.pem");
  assert_string_equal(s.jwt_public_key->c_str(),
                      "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n");
  assert_string_equal(s.jwt_verification_method->c_str(), "jwks");
  assert_string_equal(s.jwks_url->c_str(), "https://idp.example/jwks.json");
  assert_int_equal(*s.jwks_refresh_interval_seconds, 600);
  assert_int_equal(*s.jwks_max_stale_seconds, 0);
  assert_int_equal(*s.jwt_leeway_seconds, 30);
  assertStrings(*s.jwt_allowed_algorithms, {"RS256", "ES256"});
  assert_string_equal(s.permissions_claim->c_str(), "scope");
  assert_false(s.strict_validation.value());
  assert_false(s.log_unknown_permissions.value());
  assert_true(s.api_keys_enabled.value());
  assert_string_equal(s.api_key_header->c_str(), "X-Tasker-Key");
  assert_false(s.api_keys.has_value());
}

void test_toml_config_orchestration_table(void** state) {
  Loaded r = load("orch.toml", kOrchestration);
  assert_int_equal(r.status, Status::Ok);
  assert_true(r.warnings.empty());
  const AuthSettings& s = r.settings;
  assert_true(*s.enabled);
  assert_string_equal(s.jwt_issuer->c_str(), "tasker-core");
  assert_string_equal(s.jwt_audience->c_str(), "tasker-api");
  assert_string_equal(s.jwt_public_key_path->c_str(), "/etc/tasker/keys/jwt-public-key.pem");
  assert_true(s.api_keys.has_value());
  assert_int_equal(s.api_keys->size(), 2);
  const TomlApiKey& a = (*s.api_keys)[0];
  assert_string_equal(a.key.c_str(), "sk-monitoring");
  assertStrings(a.permissions, {"tasks:read"});
  assert_string_equal(a.description.c_str(), "monitoring");
  assert_int_equal(a.line, 11);
  const TomlApiKey& b = (*s.api_keys)[1];
  assert_string_equal(b.key.c_str(), "sk-admin");
  assertStrings(b.permissions, {"tasks:*", "dlq:read"});
  assert_int_equal(b.line, 16);
  // Fields the file does not set stay unset.
  assert_false(s.jwks_url.has_value());
  assert_false(s.api_keys_enabled.has_value());
  assert_false(s.jwt_allowed_algorithms.has_value());
}

void test_toml_config_worker_table(void** state) {
  Loaded r = load("worker.toml", R"([worker.web]
bind = "0.0.0.0:8081"
[worker.web.auth]
enabled = false
api_key_header = "X-API-Key"
)");
  assert_int_equal(r.status, Status::Ok);
  assert_false(*r.settings.enabled);
  assert_string_equal(r.settings.api_key_header->c_str(), "X-API-Key");
}

void test_toml_config_default_table_order(void** state) {
  const char both[] = R"([worker.web.auth]
jwt_issuer = "worker"
[orchestration.web.auth]
jwt_issuer = "orchestration"
)";
  Loaded r = load("order1.toml", both);
  assert_int_equal(r.status, Status::Ok);
  assert_string_equal(r.settings.jwt_issuer->c_str(), "orchestration");

  Loaded r2 = load("order2.toml", std::string(both) + "[auth]\njwt_issuer = \"plain\"\n");
  assert_int_equal(r2.status, Status::Ok);
  assert_string_equal(r2.settings.jwt_issuer->c_str(), "plain");
}

void test_toml_config_explicit_table(void** state) {
  const std::string text = std::string(kOrchestration) + R"(
[worker.web.auth]
jwt_issuer = "worker"

[web.auth]
jwt_issuer = "web"
[[web.auth.api_keys]]
key = "k"
)";
  Loaded r = load("explicit.toml", text, "worker.web.auth");
  assert_int_equal(r.status, Status::Ok);
  assert_string_equal(r.settings.jwt_issuer->c_str(), "worker");
  assert_false(r.settings.enabled.has_value());
  assert_false(r.settings.api_keys.has_value());

  // Any dotted path may be named, e.g. tasker-core's per-role files use [web.auth].
  Loaded w = load("explicit2.toml", text, "web.auth");
  assert_int_equal(w.status, Status::Ok);
  assert_string_equal(w.settings.jwt_issuer->c_str(), "web");
  assert_int_equal(w.settings.api_keys->size(), 1);
  assert_int_equal((*w.settings.api_keys)[0].line, 26);
}

// A TABLE argument naming a table that sets nothing the module reads (only unknown keys,
// tasker's issuing-side keys, sub-tables) fails: it is not where the auth settings are.
void test_toml_config_explicit_table_without_known_key(void** state) {
  const char text[] = R"([orchestration.web]
bind = "0.0.0.0:8080"
request_timeout_ms = 30000

[orchestration.web.auth]
enabled = true

[only.docs._docs.enabled]
description = "x"

[only.ignored]
jwt_private_key = "-----BEGIN PRIVATE KEY-----do-not-print-me"
jwt_token_expiry_hours = 24
api_key = ""
)";
  for (const char* table : {"orchestration.web", "only.docs", "only.ignored", "only"}) {
    Loaded r = load("noknown.toml", text, table);
    const std::string want =
        r.path + ": [" + table +
        "] holds no auth setting the module reads (only unknown keys, keys it ignores, or "
        "sub-tables): name the table that holds them";
    if (r.status != Status::ConfigTableMissing || r.error != want) {
      fail_msg("table %s: got %s \"%s\"", table, statusName(r.status), r.error.c_str());
    }
  }
  Loaded ok = load("noknown.toml", text, "orchestration.web.auth");
  assert_int_equal(ok.status, Status::Ok);
  assert_true(*ok.settings.enabled);
}

void test_toml_config_missing_table(void** state) {
  Loaded r = load("none.toml", "[web.auth]\nenabled = true\n");
  assert_int_equal(r.status, Status::ConfigTableMissing);
  assert_string_equal(r.error.c_str(),
                      (r.path + ": none of the tables [auth], [orchestration.web.auth], "
                                "[worker.web.auth] exists")
                          .c_str());

  Loaded e = load("none2.toml", kOrchestration, "orchestration.web.authx");
  assert_int_equal(e.status, Status::ConfigTableMissing);
  assert_string_equal(e.error.c_str(), (e.path + ": no table [orchestration.web.authx]").c_str());

  // A non-table on the way is the same as a missing table.
  Loaded m = load("none3.toml", "orchestration = 5\n", "orchestration.web.auth");
  assert_int_equal(m.status, Status::ConfigTableMissing);
  Loaded z = load("none4.toml", "", "");
  assert_int_equal(z.status, Status::ConfigTableMissing);
  Loaded d = load("none5.toml", "[auth]\n", "auth..x");
  assert_int_equal(d.status, Status::ConfigTableMissing);
}

void test_toml_config_table_must_be_a_table(void** state) {
  Loaded r = load("nottable.toml", "x = 1\nauth = \"on\"\n");
  assert_int_equal(r.status, Status::ConfigInvalid);
  assert_string_equal(r.error.c_str(), (r.path + ":2: \"auth\" must be a table").c_str());
}

// A default table that sets nothing the module reads (empty, only unknown or ignored keys, or
// only sub-tables) is passed over for the next one; when no candidate sets anything, the file is
// refused (it was read as empty, and the location silently kept its inherited settings).
void test_toml_config_empty_table(void** state) {
  const std::string none = "none of the tables [auth], [orchestration.web.auth], "
                           "[worker.web.auth] holds an auth setting the module reads ([";
  const std::string only = "] holds only unknown keys, keys it ignores, or sub-tables)";
  const std::pair<const char*, const char*> refused[] = {
      {"[auth]\n", "auth"},
      {"[auth]\njwt_private_key = \"x\"\napi_key = \"\"\n", "auth"},
      {"[auth._docs.enabled]\ndescription = \"x\"\n", "auth"},
      {"[worker.web.auth]\nsession = 1\n[orchestration.web.auth._docs.x]\ny = 1\n",
       "orchestration.web.auth"},
  };
  int n = 0;
  for (const auto& [text, table] : refused) {
    Loaded r = load("empty" + std::to_string(n++) + ".toml", text);
    const std::string want = r.path + ": " + none + table + only;
    if (r.status != Status::ConfigTableMissing || r.error != want) {
      fail_msg("case %s: got %s \"%s\"", text, statusName(r.status), r.error.c_str());
    }
  }
  // the first candidate that exists is still read for its misspellings
  Loaded typo = load("empty-typo.toml", "[auth]\nenable = true\n");
  assert_int_equal(typo.status, Status::ConfigInvalid);
  assert_string_equal(typo.error.c_str(), (typo.path + ":2: unknown key \"enable\" in [auth] "
                                                       "(did you mean \"enabled\"?)")
                                              .c_str());
}

// An [auth] made only by tasker's _docs sub-tables, or holding only ignored keys, does not hide
// the settings of [orchestration.web.auth] or [worker.web.auth].
void test_toml_config_default_table_skips_one_without_settings(void** state) {
  Loaded r = load("skip1.toml", R"([auth._docs.enabled]
description = "x"

[orchestration.web.auth]
enabled = true
jwt_issuer = "orchestration"
)");
  assert_int_equal(r.status, Status::Ok);
  assert_true(*r.settings.enabled);
  assert_string_equal(r.settings.jwt_issuer->c_str(), "orchestration");
  assert_true(r.warnings.empty());

  Loaded w = load("skip2.toml", R"([auth]
jwt_private_key = "-----BEGIN PRIVATE KEY-----do-not-print-me"
[orchestration.web.auth]
[orchestration.web.auth._docs.enabled]
description = "x"
[worker.web.auth]
jwt_issuer = "worker"
)");
  assert_int_equal(w.status, Status::Ok);
  assert_string_equal(w.settings.jwt_issuer->c_str(), "worker");

  // a non-table candidate is passed over the same way
  Loaded t = load("skip3.toml", "auth = \"on\"\n[worker.web.auth]\nenabled = false\n");
  assert_int_equal(t.status, Status::Ok);
  assert_false(*t.settings.enabled);
}

// ---- file errors -----------------------------------------------------------------------------

void test_toml_config_missing_file(void** state) {
  const std::string path = g_dir + "/does-not-exist.toml";
  AuthSettings s;
  std::string error;
  assert_int_equal(loadAuthToml(path, "", &s, nullptr, &error), Status::ConfigFileUnreadable);
  assert_string_equal(error.c_str(), (path + ": cannot read: No such file or directory").c_str());

  assert_int_equal(loadAuthToml(g_dir, "", &s, nullptr, &error), Status::ConfigFileUnreadable);
  assert_string_equal(error.c_str(), (g_dir + ": cannot read: Is a directory").c_str());
}

void test_toml_config_syntax_error_has_line(void** state) {
  Loaded r = load("syntax.toml", "[auth]\nenabled = true\njwt_issuer = \"x\"\njwt_audience = \n");
  assert_int_equal(r.status, Status::ConfigFileSyntax);
  const std::string prefix = r.path + ":4: ";
  assert_true(r.error.compare(0, prefix.size(), prefix) == 0);
  assert_true(r.error.size() > prefix.size());

  Loaded dup = load("dupkey.toml", "[auth]\nenabled = true\n\nenabled = false\n");
  assert_int_equal(dup.status, Status::ConfigFileSyntax);
  assert_true(dup.error.compare(0, dup.path.size() + 3, dup.path + ":4:") == 0);

  Loaded unterminated = load("unterminated.toml", "[auth]\nkey = \"abc\n");
  assert_int_equal(unterminated.status, Status::ConfigFileSyntax);
  assert_true(
      unterminated.error.compare(0, unterminated.path.size() + 3, unterminated.path + ":2:") == 0);
}

// ---- types -----------------------------------------------------------------------------------

void test_toml_config_wrong_types(void** state) {
  struct Case {
    const char* body;  // goes after "[auth]\n", so its first line is line 2
    int line;
    const char* key;
    const char* type;
    const char* shown;  // the value as the message names it (an API key: its kind only)
  };
  const Case cases[] = {
      {"enabled = \"true\"\n", 2, "enabled", "a boolean", "\"true\""},
      {"enabled = 1\n", 2, "enabled", "a boolean", "1"},
      {"strict_validation = \"on\"\n", 2, "strict_validation", "a boolean", "\"on\""},
      {"log_unknown_permissions = 0\n", 2, "log_unknown_permissions", "a boolean", "0"},
      {"x = 1\napi_keys_enabled = []\n", 3, "api_keys_enabled", "a boolean", "an array"},
      {"jwt_issuer = 5\n", 2, "jwt_issuer", "a string", "5"},
      {"jwt_audience = [\"a\"]\n", 2, "jwt_audience", "a string", "an array"},
      {"jwt_public_key_path = true\n", 2, "jwt_public_key_path", "a string", "true"},
      {"jwt_public_key = {}\n", 2, "jwt_public_key", "a string", "a table"},
      {"jwt_verification_method = 1\n", 2, "jwt_verification_method", "a string", "1"},
      {"jwks_url = 1.5\n", 2, "jwks_url", "a string", "1.5"},
      {"permissions_claim = false\n", 2, "permissions_claim", "a string", "false"},
      {"api_key_header = 1979-05-27\n", 2, "api_key_header", "a string", "a date"},
      {"jwks_refresh_interval_seconds = \"3600\"\n", 2, "jwks_refresh_interval_seconds",
       "an integer", "\"3600\""},
      {"jwt_leeway_seconds = 60.0\n", 2, "jwt_leeway_seconds", "an integer", "60"},
      {"jwt_allowed_algorithms = 256\n", 2, "jwt_allowed_algorithms",
       "an array of strings or a string", "256"},
      {"jwt_allowed_algorithms = [\n  \"RS256\",\n  1,\n]\n", 4, "jwt_allowed_algorithms",
       "an array of strings or a string", "1"},
      {"api_keys = \"sk\"\n", 2, "api_keys", "an array of tables", "a string"},
      {"api_keys = [1]\n", 2, "api_keys", "an array of tables", "an integer"},
      {"[auth.api_keys]\nkey = \"k\"\n", 2, "api_keys", "an array of tables", "a table"},
      {"[[auth.api_keys]]\nkey = 7\n", 3, "key", "a string", "an integer"},
      {"[[auth.api_keys]]\nkey = [\"sk-1\"]\n", 3, "key", "a string", "an array"},
      {"[[auth.api_keys]]\nkey = \"k\"\npermissions = 7\n", 4, "permissions",
       "an array of strings or a string", "7"},
      {"[[auth.api_keys]]\nkey = \"k\"\npermissions = [\"tasks:read\", [\"x\"]]\n", 4,
       "permissions", "an array of strings or a string", "an array"},
      {"[[auth.api_keys]]\nkey = \"k\"\ndescription = 1\n", 4, "description", "a string", "1"},
      {"enabled = \"a\\nb\\u001b[31m\"\n", 2, "enabled", "a boolean", "\"a?b?[31m\""},
  };
  int n = 0;
  for (const Case& c : cases) {
    Loaded r = load("type" + std::to_string(n++) + ".toml", std::string("[auth]\n") + c.body);
    const std::string want = r.path + ":" + std::to_string(c.line) + ": \"" + c.key +
                             "\" must be " + c.type + ", not " + c.shown;
    if (r.status != Status::ConfigInvalid || r.error != want) {
      fail_msg("case %s: got %s \"%s\", want \"%s\"", c.body, statusName(r.status), r.error.c_str(),
               want.c_str());
    }
  }
}

void test_toml_config_api_key_requires_key(void** state) {
  Loaded r = load("nokey.toml", R"([orchestration.web.auth]
[[orchestration.web.auth.api_keys]]
key = "first"
[[orchestration.web.auth.api_keys]]
permissions = ["tasks:read"]
description = "forgot the key"
)");
  assert_int_equal(r.status, Status::ConfigInvalid);
  assert_string_equal(
      r.error.c_str(),
      (r.path + ":4: \"key\" is required in [[orchestration.web.auth.api_keys]]").c_str());
}

void test_toml_config_integer_bounds(void** state) {
  Loaded r = load("ints.toml", R"([auth]
jwks_refresh_interval_seconds = 0
jwks_max_stale_seconds = 9223372036854775807
jwt_leeway_seconds = 0x10
)");
  assert_int_equal(r.status, Status::Ok);
  assert_int_equal(*r.settings.jwks_refresh_interval_seconds, 0);
  assert_true(*r.settings.jwks_max_stale_seconds == INT64_MAX);
  assert_int_equal(*r.settings.jwt_leeway_seconds, 16);
  // a negative value is read as it is; settings.cpp refuses it naming it (test_settings.cpp)
  Loaded neg = load("negint.toml", "[auth]\njwks_max_stale_seconds = -1\n");
  assert_int_equal(neg.status, Status::Ok);
  assert_true(*neg.settings.jwks_max_stale_seconds == -1);
}

// An unknown key is named with its control bytes as '?' and cut at 64 bytes: a quoted key can
// hold "\n" or an escape sequence, which must not reach the log.
void test_toml_config_unknown_key_is_printable(void** state) {
  Loaded r = load("ctlkey.toml", "[auth]\nenabled = true\n\"a\\nb\\u001b[31m\" = 1\n" +
                                     std::string(100, 'k') + " = 2\n");
  assert_int_equal(r.status, Status::Ok);
  assertStrings(r.warnings, {r.path + ":3: unknown key \"a?b?[31m\" in [auth]",
                             r.path + ":4: unknown key \"" + std::string(64, 'k') +
                                 "...\" in [auth]"});
}

// ---- unknown keys ----------------------------------------------------------------------------

void test_toml_config_unknown_key_warning(void** state) {
  Loaded r = load("unknown.toml", R"([orchestration.web.auth]
enabled = true
jwt_leeway_secs = 60
cache = "on"

[[orchestration.web.auth.api_keys]]
key = "k"
name = "svc"
)");
  assert_int_equal(r.status, Status::Ok);
  assert_true(*r.settings.enabled);
  assertStrings(r.warnings,
                {r.path + ":3: unknown key \"jwt_leeway_secs\" in [orchestration.web.auth]",
                 r.path + ":4: unknown key \"cache\" in [orchestration.web.auth]",
                 r.path + ":8: unknown key \"name\" in [[orchestration.web.auth.api_keys]]"});
  // Warnings are appended, not replaced.
  std::vector<std::string> warnings = {"earlier"};
  AuthSettings s;
  assert_int_equal(loadAuthToml(r.path, "", &s, &warnings, nullptr), Status::Ok);
  assert_int_equal(warnings.size(), 4);
  assert_string_equal(warnings[0].c_str(), "earlier");
}

// Each body goes after "[auth]\nenabled = true\n" (so its first line is line 3) and names a key
// the loader does not read: the key it probably means, or none.
struct Meant {
  const char* body;
  const char* meant;  // nullptr: no suggestion, a warning
};

// An unknown [auth] key that misspells a known one fails: the setting it meant would silently
// keep its default (`enable = true` left tasker_auth off and every route public). The message
// names the file, the line, the key and the key it means. Other unknown keys only warn.
void checkMeant(const char* file, const Meant* cases, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const Meant& c = cases[i];
    Loaded r =
        load(file + std::to_string(i) + ".toml", std::string("[auth]\nenabled = true\n") + c.body);
    const std::string name = std::string(c.body).substr(0, std::string(c.body).find(' '));
    const std::string unknown = r.path + ":3: unknown key \"" + name + "\" in [auth]";
    if (c.meant) {
      const std::string want = unknown + " (did you mean \"" + c.meant + "\"?)";
      if (r.status != Status::ConfigInvalid || r.error != want) {
        fail_msg("case %s: got %s \"%s\", want \"%s\"", c.body, statusName(r.status),
                 r.error.c_str(), want.c_str());
      }
    } else if (r.status != Status::Ok || r.warnings.size() != 1 || r.warnings[0] != unknown) {
      fail_msg("case %s: got %s \"%s\" and %zu warnings, want a warning", c.body,
               statusName(r.status), r.error.c_str(), r.warnings.size());
    }
  }
}

// A directive's name, or a duration without "_seconds", is named with the key it means.
void test_toml_config_unknown_key_suggests_the_known_key(void** state) {
  const Meant cases[] = {
      {"tasker_jwt_issuer = \"x\"\n", "jwt_issuer"},
      {"jwks_refresh_interval = 60\n", "jwks_refresh_interval_seconds"},
      {"jwt_leeway = 60\n", "jwt_leeway_seconds"},
      {"tasker_jwks_max_stale = 0\n", "jwks_max_stale_seconds"},
      {"tasker_api_keys_enabled = true\n", "api_keys_enabled"},
      {"tasker_jwt_allowed_algorithms = \"RS256\"\n", "jwt_allowed_algorithms"},
      {"tasker_auth = true\n", "enabled"},
      {"tasker_api_key = \"k\"\n", nullptr},
      {"jwt_leeway_secs = 1\n", nullptr},
  };
  checkMeant("meant", cases, std::size(cases));

  // an API key entry's unknown keys get no suggestion and only warn
  Loaded r =
      load("meant-entry.toml", "[auth]\n[[auth.api_keys]]\nkey = \"k\"\njwt_issuer = \"x\"\n");
  assert_int_equal(r.status, Status::Ok);
  assertStrings(r.warnings, {r.path + ":4: unknown key \"jwt_issuer\" in [[auth.api_keys]]"});
  assert_false(r.settings.jwt_issuer.has_value());
}

// A known key at most two edits away (a letter missing, extra, wrong, or two swapped) is named
// too; a short name, or one further away, gets none.
void test_toml_config_unknown_key_suggests_a_near_miss(void** state) {
  const Meant cases[] = {
      {"enable = true\n", "enabled"},
      {"jwt_audiance = \"x\"\n", "jwt_audience"},
      {"jwks_ulr = \"http://idp/jwks\"\n", "jwks_url"},
      {"strict_validaton = true\n", "strict_validation"},
      {"api_key_enabled = true\n", "api_keys_enabled"},
      {"tasker_jwt_isuer = \"x\"\n", "jwt_issuer"},
      {"jwt_public_key_pth = \"/k.pem\"\n", "jwt_public_key_path"},
      {"jwks = \"x\"\n", nullptr},
      {"issuer_name = \"x\"\n", nullptr},
  };
  checkMeant("near", cases, std::size(cases));

  // the error stops the load: nothing of the file is used
  Loaded r = load("near-stop.toml", "[auth]\nenable = true\njwt_public_key_path = \"/k.pem\"\n");
  assert_int_equal(r.status, Status::ConfigInvalid);
  assert_false(r.settings.jwt_public_key_path.has_value());
  assert_true(r.warnings.empty());
}

// tasker's own auth table carries keys for tasker's issuing side and, in its generated files,
// `_docs` tables (config/tasker/base/orchestration.toml): known, skipped without a warning, never
// read, whatever their type.
void test_toml_config_tasker_only_keys_are_quiet(void** state) {
  Loaded r = load("tasker.toml", R"([orchestration.web.auth]
enabled = true
jwt_token_expiry_hours = 24
jwt_private_key = "-----BEGIN PRIVATE KEY-----do-not-print-me"
api_key = ""

[orchestration.web.auth._docs.jwt_audience]
description = "Expected 'aud' claim in JWT tokens"
type = "String"
)");
  assert_int_equal(r.status, Status::Ok);
  assert_true(*r.settings.enabled);
  assert_int_equal(r.warnings.size(), 0);
  assert_true(r.settings.lines.count("jwt_private_key") == 0);

  r = load("tasker-types.toml", "[auth]\nenabled = true\njwt_private_key = 3\n"
                                "jwt_token_expiry_hours = \"x\"\n_docs = []\n");
  assert_int_equal(r.status, Status::Ok);
  assert_int_equal(r.warnings.size(), 0);
}

// tasker's legacy single api_key, which tasker grants every permission: not used by the module.
// Empty (also through "${VAR:-}") it says nothing; set, it warns, never with its value.
void test_toml_config_legacy_api_key(void** state) {
  unsetenv("TASKER_UT_LEGACY_UNSET");
  Loaded r = load("legacy-empty.toml",
                  "[auth]\nenabled = true\napi_key = \"${TASKER_UT_LEGACY_UNSET:-}\"\n");
  assert_int_equal(r.status, Status::Ok);
  assert_int_equal(r.warnings.size(), 0);

  const std::string want = ":3: \"api_key\" (tasker's legacy single key, granted every "
                           "permission by tasker) is not used: declare the key in "
                           "[[worker.web.auth.api_keys]] with the permissions it needs";
  // set, a malformed reference, another type: the same warning, and no key
  const char* const bodies[] = {"[worker.web.auth]\nenabled = true\napi_key = \"legacy-secret\"\n",
                                "[worker.web.auth]\nenabled = true\napi_key = \"${legacy-secret\"\n",
                                "[worker.web.auth]\nenabled = true\napi_key = 12345\n"};
  for (const char* body : bodies) {
    r = load("legacy.toml", body);
    assert_int_equal(r.status, Status::Ok);
    assertStrings(r.warnings, {r.path + want});
    assert_false(r.settings.api_keys.has_value());
  }
}

void test_toml_config_subtable_is_unknown_key(void** state) {
  // a sub-table is not a misspelled setting: no suggestion, a warning
  Loaded r = load("subtable.toml",
                  "[auth]\nenabled = true\n[auth.extra]\nx = 1\n[auth.enable]\ny = 1\n");
  assert_int_equal(r.status, Status::Ok);
  assertStrings(r.warnings, {r.path + ":3: unknown key \"extra\" in [auth]",
                             r.path + ":5: unknown key \"enable\" in [auth]"});
}

// ---- api_keys --------------------------------------------------------------------------------

void test_toml_config_api_keys_forms_and_lines(void** state) {
  Loaded r = load("keys.toml", R"([auth]
api_keys_enabled = true

[[auth.api_keys]]
key = "a"
permissions = ["tasks:read", "tasks:list"]
description = "array form"

[[auth.api_keys]]
key = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
permissions = " tasks:read ,dlq:* "

[[auth.api_keys]]
key = "c"
permissions = ""

# no permissions at all
[[auth.api_keys]]
key = "d"
permissions = []
[[auth.api_keys]]
key = "e"
)");
  assert_int_equal(r.status, Status::Ok);
  assert_true(r.warnings.empty());
  const std::vector<TomlApiKey>& k = *r.settings.api_keys;
  assert_int_equal(k.size(), 5);
  assert_string_equal(k[0].key.c_str(), "a");
  assertStrings(k[0].permissions, {"tasks:read", "tasks:list"});
  assert_string_equal(k[0].description.c_str(), "array form");
  assert_int_equal(k[0].line, 4);
  assertStrings(k[1].permissions, {"tasks:read", "dlq:*"});
  assert_string_equal(k[1].description.c_str(), "");
  assert_int_equal(k[1].line, 9);
  assertStrings(k[2].permissions, {});
  assert_int_equal(k[2].line, 13);
  assertStrings(k[3].permissions, {});
  assert_int_equal(k[3].line, 18);
  assertStrings(k[4].permissions, {});
  assert_int_equal(k[4].line, 21);
}

void test_toml_config_api_keys_inline_and_empty(void** state) {
  Loaded r = load("inline.toml", R"([auth]
api_keys = [
  { key = "a", permissions = ["*"] },
  { key = "b", permissions = "tasks:read" },
]
)");
  assert_int_equal(r.status, Status::Ok);
  const std::vector<TomlApiKey>& k = *r.settings.api_keys;
  assert_int_equal(k.size(), 2);
  assert_int_equal(k[0].line, 3);
  assert_int_equal(k[1].line, 4);
  assertStrings(k[1].permissions, {"tasks:read"});

  Loaded e = load("emptykeys.toml", "[auth]\napi_keys = []\n");
  assert_int_equal(e.status, Status::Ok);
  assert_true(e.settings.api_keys.has_value());
  assert_true(e.settings.api_keys->empty());
}

void test_toml_config_values_are_not_validated(void** state) {
  // Names are checked by the caller, which can name the directive in its message.
  Loaded r = load("novalidate.toml", R"([auth]
jwt_verification_method = "carrier-pigeon"
jwt_allowed_algorithms = ["none", "HS256"]
[[auth.api_keys]]
key = "sha256:nothex"
permissions = ["tasks:bogus", "Tasks:read"]
)");
  assert_int_equal(r.status, Status::Ok);
  assert_string_equal(r.settings.jwt_verification_method->c_str(), "carrier-pigeon");
  assertStrings(*r.settings.jwt_allowed_algorithms, {"none", "HS256"});
  assert_string_equal((*r.settings.api_keys)[0].key.c_str(), "sha256:nothex");
  assertStrings((*r.settings.api_keys)[0].permissions, {"tasks:bogus", "Tasks:read"});
}

void test_toml_config_algorithms_single_string(void** state) {
  Loaded one = load("alg1.toml", "[auth]\njwt_allowed_algorithms = \"ES256\"\n");
  assert_int_equal(one.status, Status::Ok);
  assertStrings(*one.settings.jwt_allowed_algorithms, {"ES256"});
  Loaded many = load("alg2.toml", "[auth]\njwt_allowed_algorithms = \"RS256, ES256 EdDSA\"\n");
  assert_int_equal(many.status, Status::Ok);
  assertStrings(*many.settings.jwt_allowed_algorithms, {"RS256", "ES256", "EdDSA"});
  Loaded none = load("alg3.toml", "[auth]\njwt_allowed_algorithms = []\n");
  assert_int_equal(none.status, Status::Ok);
  assert_true(none.settings.jwt_allowed_algorithms->empty());
}

// TOML allows "\u0000" in a string; a path or header name would be cut at it (the key file read
// was another than written). Every string the loader reads refuses one, naming the file, the line
// and the key, never the value.
void test_toml_config_nul_in_a_string_is_refused(void** state) {
  const char* const keys[] = {"jwt_issuer",     "jwt_audience",      "jwt_public_key_path",
                              "jwt_public_key", "jwks_url",          "permissions_claim",
                              "api_key_header", "jwt_verification_method"};
  int n = 0;
  for (const char* key : keys) {
    Loaded r = load("nul" + std::to_string(n++) + ".toml",
                    std::string("[auth]\nenabled = true\n") + key + " = \"/k.pem\\u0000junk\"\n");
    const std::string want = r.path + ":3: \"" + key +
                             "\" holds a NUL character (\\u0000), which no setting can use";
    if (r.status != Status::ConfigInvalid || r.error != want) {
      fail_msg("%s: got %s \"%s\"", key, statusName(r.status), r.error.c_str());
    }
  }
  const std::pair<const char*, const char*> lists[] = {
      {"jwt_allowed_algorithms = [\"RS256\", \"ES256\\u0000\"]\n", "jwt_allowed_algorithms"},
      {"jwt_allowed_algorithms = \"RS256\\u0000ES256\"\n", "jwt_allowed_algorithms"},
      {"[[auth.api_keys]]\nkey = \"sk-secret\\u0000tail\"\n", "key"},
      {"[[auth.api_keys]]\nkey = \"k\"\npermissions = [\"tasks:read\\u0000\"]\n", "permissions"},
      {"[[auth.api_keys]]\nkey = \"k\"\ndescription = \"a\\u0000b\"\n", "description"},
  };
  for (const auto& [body, key] : lists) {
    Loaded r = load("nul" + std::to_string(n++) + ".toml",
                    std::string("[auth]\nenabled = true\n") + body);
    if (r.status != Status::ConfigInvalid ||
        r.error.find(std::string("\"") + key + "\" holds a NUL character") == std::string::npos ||
        r.error.find("secret") != std::string::npos) {
      fail_msg("%s: got %s \"%s\"", body, statusName(r.status), r.error.c_str());
    }
  }
}

// ---- environment expansion -------------------------------------------------------------------

void test_toml_config_env_expansion(void** state) {
  setenv("TASKER_UT_KEY", "sk-from-env", 1);
  setenv("TASKER_UT_ISS", "https://idp.example/", 1);
  setenv("TASKER_UT_EMPTY", "", 1);
  setenv("TASKER_UT_PERMS", "tasks:read,dlq:*", 1);
  setenv("TASKER_UT_ALG", "ES256", 1);
  setenv("TASKER_UT_NESTED", "${TASKER_UT_KEY}", 1);
  unsetenv("TASKER_UT_UNSET");
  Loaded r = load("env.toml", R"([orchestration.web.auth]
jwt_issuer = "${TASKER_UT_ISS}"
jwt_audience = "${TASKER_UT_UNSET:-tasker-api}"
jwks_url = "${TASKER_UT_ISS:-https://unused/}.well-known/jwks.json"
permissions_claim = "${TASKER_UT_EMPTY:-permissions}"
api_key_header = "${TASKER_UT_UNSET}"
jwt_public_key_path = "$HOME/keys/$ and ${TASKER_UT_UNSET:-}x$"
jwt_verification_method = "${TASKER_UT_NESTED}"
jwt_public_key = "${TASKER_UT_UNSET:-a:-b c}"
jwt_allowed_algorithms = ["RS256", "${TASKER_UT_ALG}"]

[[orchestration.web.auth.api_keys]]
key = "${TASKER_UT_KEY}"
permissions = "${TASKER_UT_PERMS}"
description = "svc-${TASKER_UT_UNSET:-default}-${TASKER_UT_KEY}"
)");
  assert_int_equal(r.status, Status::Ok);
  const AuthSettings& s = r.settings;
  assert_string_equal(s.jwt_issuer->c_str(), "https://idp.example/");
  assert_string_equal(s.jwt_audience->c_str(), "tasker-api");
  assert_string_equal(s.jwks_url->c_str(), "https://idp.example/.well-known/jwks.json");
  assert_string_equal(s.permissions_claim->c_str(), "permissions");  // empty counts as unset
  assert_string_equal(s.api_key_header->c_str(), "");                // unset, no default
  assert_string_equal(s.jwt_public_key_path->c_str(), "$HOME/keys/$ and x$");
  assert_string_equal(s.jwt_verification_method->c_str(), "${TASKER_UT_KEY}");  // not recursive
  assert_string_equal(s.jwt_public_key->c_str(), "a:-b c");
  assertStrings(*s.jwt_allowed_algorithms, {"RS256", "ES256"});
  const TomlApiKey& k = (*s.api_keys)[0];
  assert_string_equal(k.key.c_str(), "sk-from-env");
  assertStrings(k.permissions, {"tasks:read", "dlq:*"});
  assert_string_equal(k.description.c_str(), "svc-default-sk-from-env");
}

void test_toml_config_env_malformed_reference(void** state) {
  const char* bad[] = {
      "${",         "${TASKER_UT_KEY", "x${}",      "${1ABC}", "${A-B}", "${A:-unclosed",
      "${A:-${B}}", "${A B}",          "${A:?err}", "${-x}",
  };
  int n = 0;
  for (const char* b : bad) {
    Loaded r = load("envbad" + std::to_string(n++) + ".toml",
                    std::string("[auth]\nenabled = true\njwt_issuer = \"") + b + "\"\n");
    const std::string want = r.path + ":3: \"jwt_issuer\" has a malformed ${...} reference";
    if (r.status != Status::ConfigInvalid || r.error != want) {
      fail_msg("case %s: got %s \"%s\"", b, statusName(r.status), r.error.c_str());
    }
  }
  Loaded k = load("envbadkey.toml", "[auth]\n[[auth.api_keys]]\nkey = \"${TASKER_UT_KEY\"\n");
  assert_int_equal(k.status, Status::ConfigInvalid);
  assert_string_equal(k.error.c_str(),
                      (k.path + ":3: \"key\" has a malformed ${...} reference").c_str());
}

// ---- outputs ---------------------------------------------------------------------------------

void test_toml_config_failure_leaves_outputs_untouched(void** state) {
  const std::string path =
      writeFile("untouched.toml", "[auth]\nunknown = 1\njwt_issuer = \"x\"\nenabled = \"no\"\n");
  AuthSettings s;
  s.jwt_issuer = "before";
  std::vector<std::string> warnings = {"earlier"};
  std::string error;
  assert_int_equal(loadAuthToml(path, "", &s, &warnings, &error), Status::ConfigInvalid);
  assert_string_equal(s.jwt_issuer->c_str(), "before");
  assert_false(s.enabled.has_value());
  assertStrings(warnings, {"earlier"});
  assert_string_equal(error.c_str(),
                      (path + ":4: \"enabled\" must be a boolean, not \"no\"").c_str());
}

void test_toml_config_null_warnings_and_error(void** state) {
  const std::string ok = writeFile("nulls.toml", "[auth]\nunknown = 1\nenabled = true\n");
  AuthSettings s;
  assert_int_equal(loadAuthToml(ok, "", &s, nullptr, nullptr), Status::Ok);
  assert_true(*s.enabled);
  assert_int_equal(loadAuthToml(ok, "nope", &s, nullptr, nullptr), Status::ConfigTableMissing);
  assert_int_equal(loadAuthToml(ok, "", nullptr, nullptr, nullptr), Status::Internal);
}

}  // namespace
}  // namespace tasker

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_toml_config_auth_table_all_keys),
      cmocka_unit_test(test_toml_config_orchestration_table),
      cmocka_unit_test(test_toml_config_worker_table),
      cmocka_unit_test(test_toml_config_default_table_order),
      cmocka_unit_test(test_toml_config_default_table_skips_one_without_settings),
      cmocka_unit_test(test_toml_config_explicit_table),
      cmocka_unit_test(test_toml_config_explicit_table_without_known_key),
      cmocka_unit_test(test_toml_config_missing_table),
      cmocka_unit_test(test_toml_config_table_must_be_a_table),
      cmocka_unit_test(test_toml_config_empty_table),
      cmocka_unit_test(test_toml_config_missing_file),
      cmocka_unit_test(test_toml_config_syntax_error_has_line),
      cmocka_unit_test(test_toml_config_wrong_types),
      cmocka_unit_test(test_toml_config_api_key_requires_key),
      cmocka_unit_test(test_toml_config_integer_bounds),
      cmocka_unit_test(test_toml_config_unknown_key_warning),
      cmocka_unit_test(test_toml_config_unknown_key_suggests_the_known_key),
      cmocka_unit_test(test_toml_config_unknown_key_is_printable),
      cmocka_unit_test(test_toml_config_subtable_is_unknown_key),
      cmocka_unit_test(test_toml_config_unknown_key_suggests_a_near_miss),
      cmocka_unit_test(test_toml_config_tasker_only_keys_are_quiet),
      cmocka_unit_test(test_toml_config_legacy_api_key),
      cmocka_unit_test(test_toml_config_api_keys_forms_and_lines),
      cmocka_unit_test(test_toml_config_api_keys_inline_and_empty),
      cmocka_unit_test(test_toml_config_values_are_not_validated),
      cmocka_unit_test(test_toml_config_algorithms_single_string),
      cmocka_unit_test(test_toml_config_nul_in_a_string_is_refused),
      cmocka_unit_test(test_toml_config_env_expansion),
      cmocka_unit_test(test_toml_config_env_malformed_reference),
      cmocka_unit_test(test_toml_config_failure_leaves_outputs_untouched),
      cmocka_unit_test(test_toml_config_null_warnings_and_error),
  };
  return cmocka_run_group_tests_name("toml_config", tests, groupSetup, scratchTeardown);
}
