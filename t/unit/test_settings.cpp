// Unit tests for src/settings.cpp: one function per setting, shared by the directives and the
// TOML loader, and loadAuthSettings (the typed TOML path). Files go to a mkdtemp directory.
#include "settings.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include "scratch_dir.h"

#include "permissions.h"

namespace tasker {
namespace {

using test::g_dir;
using test::g_files;
using test::scratchTeardown;
using test::writeFile;

int groupSetup(void** state) { return test::scratchSetup("/tmp/tasker_settings_test_XXXXXX"); }

void assertMessage(const SettingError& e, const char* name, const std::string& want) {
  assert_string_equal(e.message(name).c_str(), want.c_str());
}

// ---- algorithms ------------------------------------------------------------------------------

void test_settings_algorithms_mask(void** state) {
  AlgMask mask = 0;
  SettingError e;
  assert_int_equal(parseAlgorithms({"RS256", "ES256", "EdDSA"}, &mask, &e), Status::Ok);
  assert_int_equal(mask, algBit(Alg::RS256) | algBit(Alg::ES256) | algBit(Alg::EdDSA));
}

void test_settings_algorithms_refuses_none_hs_unknown(void** state) {
  const std::string all = "(use RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA)";
  for (const char* bad : {"none", "HS256", "RS257", "rs256"}) {
    AlgMask mask = 7;
    SettingError e;
    assert_int_equal(parseAlgorithms({"RS256", bad}, &mask, &e), Status::ConfigInvalid);
    assert_int_equal(mask, 7);  // untouched
    assertMessage(e, "tasker_jwt_allowed_algorithms",
                  std::string("tasker_jwt_allowed_algorithms \"") + bad + "\" is not allowed " +
                      all);
  }
}

void test_settings_algorithms_refuses_empty_list(void** state) {
  AlgMask mask;
  SettingError e;
  assert_int_equal(parseAlgorithms({}, &mask, &e), Status::ConfigInvalid);
  assertMessage(e, "x", "x \"\" must name at least one algorithm");
}

// ---- verification method ---------------------------------------------------------------------

void test_settings_verification_method(void** state) {
  VerificationMethod m;
  SettingError e;
  assert_int_equal(parseVerificationMethod("jwks", &m, &e), Status::Ok);
  assert_true(m == VerificationMethod::Jwks);
  assert_int_equal(parseVerificationMethod("public_key", &m, &e), Status::Ok);
  assert_true(m == VerificationMethod::PublicKey);
  assert_int_equal(parseVerificationMethod("JWKS", &m, &e), Status::ConfigInvalid);
  assertMessage(e, "tasker_jwt_verification_method",
                "tasker_jwt_verification_method \"JWKS\" must be public_key or jwks");
  assert_string_equal(verificationMethodName(VerificationMethod::Jwks), "jwks");
}

// ---- JWKS URL --------------------------------------------------------------------------------

void test_settings_jwks_url(void** state) {
  std::string url;
  SettingError e;
  assert_int_equal(parseJwksUrl("https://idp.example/jwks.json", &url, &e), Status::Ok);
  assert_string_equal(url.c_str(), "https://idp.example/jwks.json");
  assert_int_equal(parseJwksUrl("file:///etc/passwd", &url, &e), Status::ConfigInvalid);
  assert_true(e.message("u").rfind("u \"file:///etc/passwd\" must be an http:// or https:// URL (",
                                   0) == 0);
  assert_int_equal(parseJwksUrl("http:///jwks.json", &url, &e), Status::ConfigInvalid);
  std::string longer = "http://h/" + std::string(600, 'a');
  assert_int_equal(parseJwksUrl(longer, &url, &e), Status::ConfigInvalid);
  assert_true(e.reason.find("longer than 511 bytes") != std::string::npos);
}

// ---- durations -------------------------------------------------------------------------------

void test_settings_durations(void** state) {
  SettingError e;
  assert_int_equal(checkDuration(0, "0", &e), Status::Ok);
  assert_int_equal(checkDuration(kMaxDurationSeconds, "10y", &e), Status::Ok);
  assert_int_equal(checkDuration(-1, "-1", &e), Status::ConfigInvalid);
  assertMessage(e, "d", "d \"-1\" must not be negative");
  // a bound, so that now + interval cannot overflow (it did: a refresh every timer tick)
  assert_int_equal(checkDuration(kMaxDurationSeconds + 1, "big", &e), Status::ConfigInvalid);
  assertMessage(e, "d", "d \"big\" must be at most 315360000s (10 years)");
  assert_int_equal(checkDuration(INT64_MAX, "max", &e), Status::ConfigInvalid);
  assert_int_equal(checkJwksRefreshInterval(INT64_MAX, "max", &e), Status::ConfigInvalid);
  assertMessage(e, "r", "r \"max\" must be at most 315360000s (10 years)");
}

// A max_stale that is not 0 must exceed the refresh interval.
void test_settings_jwks_max_stale_against_refresh(void** state) {
  SettingError e;
  assert_int_equal(checkJwksMaxStale(0, 3600, &e), Status::Ok);
  assert_int_equal(checkJwksMaxStale(3601, 3600, &e), Status::Ok);
  assert_int_equal(checkJwksMaxStale(3600, 3600, &e), Status::ConfigInvalid);
  assert_int_equal(checkJwksMaxStale(2, 3600, &e), Status::ConfigInvalid);
  assert_true(e.message("m").rfind("m \"2s\" must exceed the refresh interval (3600s), or be 0",
                                   0) == 0);
}

void test_settings_text_and_header_name(void** state) {
  SettingError e;
  assert_int_equal(checkText("tasker-core", &e), Status::Ok);
  assert_int_equal(checkText("", &e), Status::ConfigInvalid);
  assertMessage(e, "tasker_jwt_issuer", "tasker_jwt_issuer \"\" must not be empty");
  for (const char* ok : {"X-API-Key", "x_api_key", "X!#$%&'*+-.^_`|~1"}) {
    assert_int_equal(checkHeaderName(ok, &e), Status::Ok);
  }
  for (const char* bad : {"", "X API Key", "X-API-Key:", "X\"Key", "X(Key)", "X-\xc3\xa9"}) {
    assert_int_equal(checkHeaderName(bad, &e), Status::ConfigInvalid);
  }
  assert_int_equal(checkHeaderName("X\r\nKey", &e), Status::ConfigInvalid);
  assertMessage(e, "h",
                "h \"X??Key\" is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)");
  assert_int_equal(checkHeaderName(std::string(kMaxHeaderNameBytes, 'x'), &e), Status::Ok);
  assert_int_equal(checkHeaderName(std::string(kMaxHeaderNameBytes + 1, 'x'), &e),
                   Status::ConfigInvalid);

  // what nginx's own request parsers keep: letters, digits, '-', and '_' only when allowed
  assert_int_equal(headerNameByteNginxDrops("X-API-Key-09", false), '\0');
  assert_int_equal(headerNameByteNginxDrops("x_api_key", true), '\0');
  assert_int_equal(headerNameByteNginxDrops("X-Api_Key", false), '_');
  assert_int_equal(headerNameByteNginxDrops("X.Api_Key", true), '.');
  assert_int_equal(headerNameByteNginxDrops("X-Api-Key~", true), '~');
  for (char c : std::string_view("!#$%&'*+.^`|~")) {
    assert_int_equal(headerNameByteNginxDrops(std::string("X-") + c, true), c);
  }
}

void test_settings_jwks_refresh_floor(void** state) {
  SettingError e;
  assert_int_equal(checkJwksRefreshInterval(1, "1s", &e), Status::Ok);
  assert_int_equal(checkJwksRefreshInterval(3600, "1h", &e), Status::Ok);
  assert_int_equal(checkJwksRefreshInterval(0, "0s", &e), Status::ConfigInvalid);
  assertMessage(e, "tasker_jwks_refresh_interval",
                "tasker_jwks_refresh_interval \"0s\" must be at least 1s");
  assert_int_equal(checkJwksRefreshInterval(-5, "-5", &e), Status::ConfigInvalid);
}

// ---- permission rules ------------------------------------------------------------------------

void test_settings_permission_rule(void** state) {
  RuleSet rules;
  SettingError e;
  assert_int_equal(parsePermissionRule({"POST", "tasks:create"}, &rules, &e), Status::Ok);
  assert_int_equal(rules.rules().size(), 1);

  assert_int_equal(parsePermissionRule({"tasks:*"}, &rules, &e), Status::ConfigInvalid);
  assertMessage(e, "p",
                "p \"tasks:*\": a wildcard cannot be required, name one of the 17 permissions");
  assert_int_equal(parsePermissionRule({"FETCH", "tasks:read"}, &rules, &e),
                   Status::ConfigInvalid);
  assert_true(e.message("p").rfind("p \"FETCH\" is not an HTTP method (", 0) == 0);
  assert_int_equal(parsePermissionRule({"tasks:destroy"}, &rules, &e), Status::ConfigInvalid);
  assert_true(e.message("p").rfind("p \"tasks:destroy\" is not a known permission", 0) == 0);
  assert_int_equal(parsePermissionRule({"GET"}, &rules, &e), Status::ConfigInvalid);
  assert_true(e.reason == " names no permission");
  assert_int_equal(rules.rules().size(), 1);
}

// ---- API key entries -------------------------------------------------------------------------

void test_settings_api_key_entry(void** state) {
  ApiKeySpec spec;
  SettingError e;
  assert_int_equal(parseApiKeyEntry("k", {"tasks:read"}, "", "f:3", &spec, &e), Status::Ok);
  assert_string_equal(spec.description.c_str(), kDefaultApiKeyDescription);
  assert_string_equal(spec.source.c_str(), "f:3");
  assert_int_equal(parseApiKeyEntry("k", {"a", "tasks:read,dlq:update"}, "d", "f:4", &spec, &e),
                   Status::ConfigInvalid);
  assertMessage(e, "api key permission",
                "api key permission \"tasks:read,dlq:update\" contains a comma");

  // KEY PERMS swapped: the key argument is a permission list, and the real key, now in the
  // permissions, is never shown (it was, as an unknown permission)
  for (const char* key : {"tasks:read", "tasks:*, dlq:read", "*", "tasks:read,tasks:read"}) {
    assert_int_equal(parseApiKeyEntry(key, {"Zk3vQp9sLx2TqW8e", "a,b"}, "mon", "f:5", &spec, &e),
                     Status::ConfigInvalid);
    assertMessage(e, "tasker_api_key",
                  "tasker_api_key \"" + std::string(key) +
                      "\" is a permission list, not a key: the key and its permissions look "
                      "swapped (tasker_api_key KEY PERMS [DESCRIPTION])");
  }
  // a key that only resembles one is a key
  for (const char* key : {"tasks:reed", "tasks:read,x", "Tasks:read", ",", " ", "tasks:c*"}) {
    assert_int_equal(parseApiKeyEntry(key, {"tasks:read"}, "", "f:6", &spec, &e), Status::Ok);
  }
}

// ---- loadAuthSettings ------------------------------------------------------------------------

void test_settings_load_typed(void** state) {
  std::string path = writeFile("typed.toml", R"([auth]
enabled = true
jwt_public_key_path = "keys/pub.pem"
jwt_verification_method = "jwks"
jwks_url = "https://idp.example/jwks.json"
jwks_refresh_interval_seconds = 60
jwt_allowed_algorithms = "RS256 ES256"
jwks_max_stale_seconds = 300
[[auth.api_keys]]
key = "a"
permissions = ["tasks:read"]
)");
  Settings s;
  std::string error;
  assert_int_equal(loadAuthSettings(path, "", &s, nullptr, &error), Status::Ok);
  assert_true(*s.enabled);
  assert_string_equal(s.jwt_public_key_path->c_str(), (g_dir + "/keys/pub.pem").c_str());
  assert_string_equal(s.jwt_public_key_written->c_str(), "keys/pub.pem");
  // where the key was read, for the key's own errors (loaded later, by the adapter)
  assert_string_equal(s.from("jwt_public_key_path").c_str(),
                      ("tasker_auth_config " + path + ":3: jwt_public_key_path").c_str());
  assert_string_equal(s.from("jwt_public_key").c_str(),  // not set: no line
                      ("tasker_auth_config " + path + ": jwt_public_key").c_str());
  assert_true(*s.jwt_verification_method == VerificationMethod::Jwks);
  assert_int_equal(*s.jwks_refresh_interval, 60);
  assert_int_equal(*s.jwks_max_stale, 300);
  // named in the adapter's max-stale-against-refresh error, which it checks after the merge
  assert_string_equal(s.from("jwks_max_stale_seconds").c_str(),
                      ("tasker_auth_config " + path + ":8: jwks_max_stale_seconds").c_str());
  assert_int_equal(*s.jwt_allowed_algorithms, algBit(Alg::RS256) | algBit(Alg::ES256));
  assert_int_equal(s.api_keys->size(), 1);
  assert_string_equal((*s.api_keys)[0].description.c_str(), "api-key");
  assert_string_equal((*s.api_keys)[0].source.c_str(), (path + ":9").c_str());
}

// tasker's own files write the key values as "${VAR:-}": empty means no key, not a path to the
// file's directory (which failed nginx -t) or an inline PEM of nothing.
void test_settings_load_empty_key_values_set_nothing(void** state) {
  std::string path = writeFile("emptykeys.toml", R"([auth]
jwt_public_key = "${TASKER_UT_UNSET_VAR:-}"
jwt_public_key_path = ""
)");
  Settings s;
  std::string error;
  assert_int_equal(loadAuthSettings(path, "", &s, nullptr, &error), Status::Ok);
  assert_false(s.jwt_public_key.has_value());
  assert_false(s.jwt_public_key_path.has_value());
  assert_false(s.jwt_public_key_written.has_value());
}

// tasker's generated files write jwks_url = "" beside jwt_verification_method = "public_key"
// (config/tasker/generated/auth-test.toml); tasker starts no JWKS store for it. Before, nginx -t
// failed: jwks_url "" must be an http:// or https:// URL.
void test_settings_load_empty_jwks_url_sets_nothing(void** state) {
  std::string path = writeFile("emptyjwks.toml", R"([auth]
jwt_verification_method = "public_key"
jwks_url = ""
)");
  Settings s;
  std::string error;
  assert_int_equal(loadAuthSettings(path, "", &s, nullptr, &error), Status::Ok);
  assert_false(s.jwks_url.has_value());
  assert_true(*s.jwt_verification_method == VerificationMethod::PublicKey);
}

// tasker's jwks_url_allow_http: false takes only https://; true, or left out (the directive's
// rule), takes http:// too.
void test_settings_load_jwks_url_allow_http(void** state) {
  struct Case {
    const char* body;
    bool ok;
  };
  const Case cases[] = {
      {"jwks_url_allow_http = false\njwks_url = \"https://idp/jwks\"\n", true},
      {"jwks_url_allow_http = false\njwks_url = \"HTTPS://idp/jwks\"\n", true},
      {"jwks_url_allow_http = false\njwks_url = \"http://idp/jwks\"\n", false},
      {"jwks_url_allow_http = false\njwks_url = \"\"\n", true},
      {"jwks_url_allow_http = true\njwks_url = \"http://idp/jwks\"\n", true},
      {"jwks_url = \"http://idp/jwks\"\n", true},
  };
  int n = 0;
  for (const Case& c : cases) {
    std::string path = writeFile("allowhttp" + std::to_string(n++) + ".toml",
                                 std::string("[auth]\n") + c.body);
    Settings s;
    std::string error;
    std::vector<std::string> warnings;
    const Status st = loadAuthSettings(path, "", &s, &warnings, &error);
    assert_int_equal(st, c.ok ? Status::Ok : Status::ConfigInvalid);
    assert_true(warnings.empty());  // a known key, not an unknown one
  }
}

void test_settings_load_refuses_with_file_and_key(void** state) {
  struct Case {
    const char* body;
    const char* want;  // after "<path>"
  };
  const Case cases[] = {
      {"jwt_verification_method = \"carrier-pigeon\"\n",
       ":2: jwt_verification_method \"carrier-pigeon\" must be public_key or jwks"},
      {"jwt_allowed_algorithms = [\"none\"]\n", ":2: jwt_allowed_algorithms \"none\" is not allowed"},
      {"jwks_url = \"ftp://x/\"\n", ":2: jwks_url \"ftp://x/\" must be an http:// or https:// URL"},
      {"jwks_url = \"ftp://bob:secret@x/?token=q\"\n",
       ":2: jwks_url \"ftp://...@x/?...\" must be an http:// or https:// URL"},
      {"# the line of the key, not of the table\n\njwks_refresh_interval_seconds = 0\n",
       ":4: jwks_refresh_interval_seconds \"0\" must be at least 1s"},
      {"jwks_refresh_interval_seconds = 9223372036854775807\n",
       ":2: jwks_refresh_interval_seconds \"9223372036854775807\" must be at most 315360000s"},
      {"jwks_max_stale_seconds = -1\n", ":2: jwks_max_stale_seconds \"-1\" must not be negative"},
      {"jwt_leeway_seconds = -5\n", ":2: jwt_leeway_seconds \"-5\" must not be negative"},
      {"jwks_refresh_interval_seconds = -1\n",
       ":2: jwks_refresh_interval_seconds \"-1\" must be at least 1s"},
      {"jwt_verification_method = \"x\\u001b[2J\\n\"\n",
       ":2: jwt_verification_method \"x?[2J?\" must be public_key or jwks"},
      {"jwt_issuer = \"\"\n", ":2: jwt_issuer \"\" must not be empty"},
      {"jwt_audience = \"\"\n", ":2: jwt_audience \"\" must not be empty"},
      {"permissions_claim = \"\"\n", ":2: permissions_claim \"\" must not be empty"},
      {"api_key_header = \"X API Key\"\n",
       ":2: api_key_header \"X API Key\" is not an HTTP header name"},
      {"\n\n[[auth.api_keys]]\nkey = \"k\"\npermissions = [\"tasks:read,tasks:list\"]\n",
       ":4: api key permission \"tasks:read,tasks:list\" contains a comma"},
      {"\n\n[[auth.api_keys]]\nkey = \"tasks:read\"\npermissions = [\"Zk3vQp9sLx2TqW8e\"]\n",
       ":4: key \"tasks:read\" is a permission list, not a key: the key and its permissions look "
       "swapped (tasker_api_key KEY PERMS [DESCRIPTION])"},
      // tasker's jwks_url_allow_http = false refuses a plain-HTTP URL, shown redacted
      {"jwks_url_allow_http = false\njwks_url = \"HTTP://bob:pw@idp/jwks?k=v\"\n",
       ":3: jwks_url \"http://idp/jwks?...\" is not https:// while jwks_url_allow_http is "
       "false"},
  };
  int n = 0;
  for (const Case& c : cases) {
    std::string path = writeFile("bad" + std::to_string(n++) + ".toml", std::string("[auth]\n") +
                                                                          c.body);
    Settings s;
    std::string error;
    assert_int_equal(loadAuthSettings(path, "", &s, nullptr, &error), Status::ConfigInvalid);
    const std::string want = path + c.want;
    if (error.compare(0, want.size(), want) != 0) {
      fail_msg("got \"%s\", want prefix \"%s\"", error.c_str(), want.c_str());
    }
  }
}

void test_settings_load_passes_loader_errors(void** state) {
  Settings s;
  std::string error;
  assert_int_equal(loadAuthSettings(g_dir + "/missing.toml", "", &s, nullptr, &error),
                   Status::ConfigFileUnreadable);
  assert_int_equal(loadAuthSettings(g_dir + "/missing.toml", "", nullptr, nullptr, nullptr),
                   Status::Internal);
}

}  // namespace
}  // namespace tasker

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_settings_algorithms_mask),
      cmocka_unit_test(test_settings_algorithms_refuses_none_hs_unknown),
      cmocka_unit_test(test_settings_algorithms_refuses_empty_list),
      cmocka_unit_test(test_settings_verification_method),
      cmocka_unit_test(test_settings_jwks_url),
      cmocka_unit_test(test_settings_durations),
      cmocka_unit_test(test_settings_jwks_max_stale_against_refresh),
      cmocka_unit_test(test_settings_text_and_header_name),
      cmocka_unit_test(test_settings_jwks_refresh_floor),
      cmocka_unit_test(test_settings_permission_rule),
      cmocka_unit_test(test_settings_api_key_entry),
      cmocka_unit_test(test_settings_load_typed),
      cmocka_unit_test(test_settings_load_empty_key_values_set_nothing),
      cmocka_unit_test(test_settings_load_empty_jwks_url_sets_nothing),
      cmocka_unit_test(test_settings_load_jwks_url_allow_http),
      cmocka_unit_test(test_settings_load_refuses_with_file_and_key),
      cmocka_unit_test(test_settings_load_passes_loader_errors),
  };
  return cmocka_run_group_tests_name("settings", tests, groupSetup, scratchTeardown);
}
