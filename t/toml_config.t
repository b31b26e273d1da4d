# tasker_auth_config (SPEC 2, 8; issue 3): tasker's own TOML auth settings.
# user_files are written to the html/ directory of the server root; the directive resolves a
# relative path against the directory of nginx.conf (conf/), hence ../html/.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

our %tok = tasker_tokens(
    reader => { claims => { permissions => ['tasks:read'] } },
    other  => { claims => { iss => 'custom-issuer', permissions => ['tasks:read'] } },
);

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: [auth] enables JWT verification with the key path from the environment
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
jwt_issuer = "tasker-core"
jwt_audience = "tasker-api"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["", "Authorization: Bearer $::tok{reader}"]
--- error_code eval
[401, 200]



=== TEST 2: the orchestration.web.auth table is found without naming it
--- user_files
>>> orchestration.toml
[orchestration.web]
bind = "0.0.0.0:8080"

[orchestration.web.auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
jwt_issuer = "custom-issuer"
--- config
    location = /t {
        tasker_auth_config ../html/orchestration.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::tok{reader}", "Authorization: Bearer $::tok{other}"]
--- error_code eval
[401, 200]



=== TEST 2b: an [auth] that exists only through a sub-table does not hide [orchestration.web.auth]
# [auth._docs.enabled] alone makes an [auth]: it was taken as the default table, nothing was read,
# and the location was public without a word
--- user_files
>>> orchestration.toml
[auth._docs.enabled]
description = "Enable authentication"

[orchestration.web.auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
--- config
    location = /t {
        tasker_auth_config ../html/orchestration.toml;
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["", "Authorization: Bearer $::tok{reader}"]
--- error_code eval
[401, 200]



=== TEST 2c: ... and when no default table holds a setting, nginx -t fails
--- user_files
>>> orchestration.toml
[auth._docs.enabled]
description = "Enable authentication"
--- config
    location = /t {
        tasker_auth_config ../html/orchestration.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*orchestration\.toml: none of the tables \[auth\], \[orchestration\.web\.auth\], \[worker\.web\.auth\] holds an auth setting the module reads \(\[auth\] holds only unknown keys, keys it ignores, or sub-tables\)/



=== TEST 3: a directive in the same block overrides the file
--- user_files
>>> orchestration.toml
[orchestration.web.auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
jwt_issuer = "custom-issuer"
--- config
    location = /t {
        tasker_jwt_issuer tasker-core;
        tasker_auth_config ../html/orchestration.toml orchestration.web.auth;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::tok{reader}", "Authorization: Bearer $::tok{other}"]
--- error_code eval
[200, 401]



=== TEST 4: file values override values inherited from the server
--- user_files
>>> worker.toml
[worker.web.auth]
enabled = false
--- config
    tasker_auth on;
    tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
    location = /t {
        tasker_auth_config ../html/worker.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 200



=== TEST 5: API keys from [[auth.api_keys]], with both permission forms and ${VAR:-default}
--- user_files
>>> auth.toml
[auth]
enabled = true
api_keys_enabled = true
api_key_header = "X-Tasker-Key"

[[auth.api_keys]]
key = "${TASKER_TEST_UNSET_VAR:-monitoring-key-1234567890}"
permissions = ["tasks:read", "dlq:stats"]
description = "monitoring"

[[auth.api_keys]]
key = "ci-key-1234567890"
permissions = "tasks:create,tasks:read"
description = "ci"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        tasker_permission dlq:stats;
        proxy_set_header X-Subject $tasker_auth_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["X-Tasker-Key: monitoring-key-1234567890", "X-Tasker-Key: ci-key-1234567890"]
--- error_code eval
[200, 403]
--- response_body eval
["backend GET subject=monitoring method= permissions=\n",
 qq({"error":"forbidden","message":"Missing required permission: dlq:stats"}\n)]



=== TEST 6: a missing file fails nginx -t naming the directive and the file
--- config
    location = /t {
        tasker_auth_config ../html/nope.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/nope\.toml": .*nope\.toml/



=== TEST 7: a wrongly typed value fails naming the file, the line and the key
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_leeway_seconds = "soon"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:3: .*jwt_leeway_seconds/



=== TEST 8: a missing table fails nginx -t
--- user_files
>>> auth.toml
[database]
url = "postgres://"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": .*auth/



=== TEST 9: an unknown permission in a TOML API key fails, naming file and line
--- user_files
>>> auth.toml
[auth]
enabled = true
api_keys_enabled = true

[[auth.api_keys]]
key = "ci-key-1234567890"
permissions = ["tasks:read", "tasks:fly"]
description = "ci"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_api_key "ci" holds unknown permission "tasks:fly" .*in \S*auth\.toml:5/



=== TEST 10: a TOML syntax error fails nginx -t
--- user_files
>>> auth.toml
[auth
enabled = true
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": .*auth\.toml:1/



=== TEST 11: a permission array element with a comma fails instead of becoming two strings
--- user_files
>>> auth.toml
[auth]
enabled = true
api_keys_enabled = true

[[auth.api_keys]]
key = "ci-key-1234567890"
permissions = ["tasks:read,tasks:list"]
description = "ci"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/auth\.toml:5: api key permission "tasks:read,tasks:list" contains a comma/



=== TEST 12: tasker's own base file, whose key values are "${VAR:-}" (empty), passes nginx -t
# config/tasker/base/orchestration.toml ships jwt_public_key = "${TASKER_JWT_PUBLIC_KEY:-}" and
# jwt_public_key_path = "${TASKER_JWT_PUBLIC_KEY_PATH:-}": empty means "no key" there. Before,
# the empty path resolved to the file's directory and nginx -t failed ("is not a regular file").
--- user_files
>>> orchestration.toml
[orchestration.web.auth]
enabled = false
jwt_issuer = "tasker-core"
jwt_audience = "tasker-api"
jwt_token_expiry_hours = 24
jwt_private_key = ""
jwt_public_key = "${TASKER_TEST_UNSET_VAR:-}"
jwt_public_key_path = "${TASKER_TEST_UNSET_VAR:-}"
api_key = ""
api_key_header = "X-API-Key"
--- config
    location = /t {
        tasker_auth_config ../html/orchestration.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 200



=== TEST 13: an empty key value in the file sets nothing: the key is inherited
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key = ""
jwt_public_key_path = ""
--- config
    tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["", "Authorization: Bearer $::tok{reader}"]
--- error_code eval
[401, 200]



=== TEST 14: a malformed inline jwt_public_key fails nginx -t even though the file's path wins
# as with the two directives in one block, both of which are read and checked
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
jwt_public_key = "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config \S+\/auth\.toml:4: jwt_public_key "<inline PEM>" is not a PEM public key/



=== TEST 15: a negative seconds value fails naming the key and the value, in the directive's words
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_leeway_seconds = -5
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/auth\.toml:3: jwt_leeway_seconds "-5" must not be negative/



=== TEST 16: a wrongly typed value is named in the message
--- user_files
>>> auth.toml
[auth]
enabled = "yes"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/auth\.toml:2: "enabled" must be a boolean, not "yes" in /



=== TEST 17: a wrongly typed API key is described by its type only, never shown
--- user_files
>>> auth.toml
[auth]
enabled = true
[[auth.api_keys]]
key = 8675309123456789
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/auth\.toml:4: "key" must be a string, not an integer in /



=== TEST 18: an unknown key's control characters do not reach the log
--- user_files
>>> auth.toml
[auth]
enabled = false
"a\nb\u001b[31m" = 1
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 200
--- error_log eval
qr/auth\.toml:3: unknown key "a\?b\?\[31m" in \[auth\]/



=== TEST 19: a refused value's control characters do not reach the log
--- user_files
>>> auth.toml
[auth]
jwt_verification_method = "x\u001b[2Jy\nz"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/auth\.toml:2: jwt_verification_method "x\?\[2Jy\?z" must be public_key or jwks/



=== TEST 20: a file of unknown keys logs the first 16 warnings and a count, not one line per key
# a 1 MiB file holds over 100,000 of them: that was as many log lines at every reload
--- user_files
>>> auth.toml
[auth]
enabled = false
unknown_00 = 0
unknown_01 = 1
unknown_02 = 2
unknown_03 = 3
unknown_04 = 4
unknown_05 = 5
unknown_06 = 6
unknown_07 = 7
unknown_08 = 8
unknown_09 = 9
unknown_10 = 10
unknown_11 = 11
unknown_12 = 12
unknown_13 = 13
unknown_14 = 14
unknown_15 = 15
unknown_16 = 16
unknown_17 = 17
unknown_18 = 18
unknown_19 = 19
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 200
--- error_log eval
[qr/auth\.toml:18: unknown key "unknown_15" in \[auth\]/,
 qr/tasker_auth_config: \S*auth\.toml: 4 more unknown keys not shown/]
--- no_error_log
unknown key "unknown_16"



=== TEST 21: tasker's generated auth file loads as it is: jwks_url = "", an empty permissions array, tasker-only keys, _docs tables
# config/tasker/generated/auth-test.toml (tasker-core) failed nginx -t on jwks_url = "", and its
# issuing-side keys and _docs tables were warned about at every nginx -t and reload.
--- user_files
>>> orchestration.toml
[orchestration.web.auth]
enabled = true
jwt_issuer = "tasker-core-test"
jwt_audience = "tasker-api-test"
jwt_verification_method = "public_key"
jwt_public_key = ""
jwt_public_key_path = "${TASKER_TEST_UNSET_VAR:-}"
jwt_private_key = ""
jwt_token_expiry_hours = 1
api_key = ""
api_key_header = "X-API-Key"
api_keys_enabled = true
strict_validation = false
log_unknown_permissions = true
permissions_claim = "permissions"
jwks_url = ""
jwks_refresh_interval_seconds = 3600

[orchestration.web.auth._docs.jwt_audience]
description = "Expected 'aud' claim in JWT tokens"
type = "String"

[[orchestration.web.auth.api_keys]]
key = "test-api-key-tasks-only"
permissions = ["tasks:*"]
description = "Tasks-only test API key"

[[orchestration.web.auth.api_keys]]
key = "test-api-key-no-permissions"
permissions = []
description = "No permissions test API key"
--- config
    location = /t {
        tasker_auth_config ../html/orchestration.toml;
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["X-API-Key: test-api-key-tasks-only", "X-API-Key: test-api-key-no-permissions", ""]
--- error_code eval
[200, 403, 401]
--- no_error_log
unknown key



=== TEST 22: tasker's legacy single api_key is not used, and the warning never shows it
# tasker grants that key every permission; at the gateway a key is declared with its permissions
--- user_files
>>> auth.toml
[auth]
enabled = true
api_keys_enabled = true
api_key = "legacy-secret-9f2c"

[[auth.api_keys]]
key = "declared-key-5e1a"
permissions = ["tasks:read"]
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: legacy-secret-9f2c
--- error_code: 401
--- error_log eval
qr/auth\.toml:4: "api_key" \(tasker's legacy single key, granted every permission by tasker\) is not used: declare the key in \[\[auth\.api_keys\]\] with the permissions it needs/
--- no_error_log eval
qr/"api_key".*legacy-secret-9f2c/



=== TEST 23: an API key's description and unknown permission reach messages without control characters
--- user_files
>>> auth.toml
[auth]
enabled = true
api_keys_enabled = true
strict_validation = false
log_unknown_permissions = true

[[auth.api_keys]]
key = "ctl-key-51d7"
permissions = ["tasks:read", "x\u001b[2Jy"]
description = "svc\nforged line"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: ctl-key-51d7
--- error_code: 200
--- error_log eval
qr/tasker_api_key "svc\?forged line" holds unknown permission "x\?\[2Jy", which grants nothing/



=== TEST 24: ... and so do nginx -t's key errors (strict_validation on)
--- user_files
>>> auth.toml
[auth]
enabled = true
api_keys_enabled = true

[[auth.api_keys]]
key = "ctl-key-51d8"
permissions = ["x\u001b[2Jy"]
description = "svc\rforged"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_api_key "svc\?forged" holds unknown permission "x\?\[2Jy" \(tasker_strict_validation is on\)/



=== TEST 25: a jwks_max_stale_seconds from the file that the refresh interval outlasts is named by its file, line and key
# tasker's own files write 300 (tasker counts it past the refresh interval; here, as
# tasker_jwks_max_stale, from the last success): the message must point at the file, not at a
# directive the configuration does not hold. Set at server level, inherited by the location.
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_verification_method = "jwks"
jwks_refresh_interval_seconds = 3600
jwks_max_stale_seconds = 300
--- http_config
    tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks;
--- config
    tasker_auth_config ../html/auth.toml;
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config \S+\/auth\.toml:5: jwks_max_stale_seconds "300s" must exceed the refresh interval \(3600s\), or be 0/



=== TEST 26: ... while a tasker_jwks_max_stale directive that overrides the file is named as the directive
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_verification_method = "jwks"
jwks_max_stale_seconds = 7200
--- http_config
    tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks;
--- config
    tasker_auth_config ../html/auth.toml;
    location = /t {
        tasker_jwks_max_stale 2s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_jwks_max_stale "2s" must exceed the refresh interval (3600s), or be 0



=== TEST 27: a directive's name or a duration without _seconds fails naming the key it means
# it warned, and the setting it meant kept its default (here a 60 s leeway instead of 30 s)
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
jwt_leeway = 30
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:4: unknown key "jwt_leeway" in \[auth\] \(did you mean "jwt_leeway_seconds"\?\)/



=== TEST 27b: a misspelled "enabled" fails nginx -t: it warned, tasker_auth stayed off and the location was public
--- user_files
>>> auth.toml
[auth]
enable = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.toml:2: unknown key "enable" in \[auth\] \(did you mean "enabled"\?\)/



=== TEST 27c: ... and so does a directive's name (tasker_jwt_issuer)
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
tasker_jwt_issuer = "custom-issuer"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.toml:4: unknown key "tasker_jwt_issuer" in \[auth\] \(did you mean "jwt_issuer"\?\)/



=== TEST 27d: an unknown key that resembles no known key only warns (a newer tasker's key), and the file applies
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
session_cookie_name = "tasker"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 401
--- error_log eval
qr/\[warn\].*auth\.toml:4: unknown key "session_cookie_name" in \[auth\]/
--- no_error_log
did you mean



=== TEST 27e: a TABLE argument naming a table without any auth setting fails nginx -t (it loaded nothing, and the location was public)
--- user_files
>>> orchestration.toml
[orchestration.web]
bind = "0.0.0.0:8080"

[orchestration.web.auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
--- config
    location = /t {
        tasker_auth_config ../html/orchestration.toml orchestration.web;
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*orchestration\.toml: \[orchestration\.web\] holds no auth setting the module reads \(only unknown keys, keys it ignores, or sub-tables\): name the table that holds them/



=== TEST 28: tasker's jwks_url_allow_http = false refuses the file's http:// jwks_url, as tasker does
# tasker's documented auth file (docs/auth/configuration.md) writes jwks_url_allow_http = false
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_verification_method = "jwks"
jwks_url_allow_http = false
jwks_url = "http://127.0.0.1:1/jwks"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/auth\.toml:5: jwks_url "http:\/\/127\.0\.0\.1:1\/jwks" is not https:\/\/ while jwks_url_allow_http is false/



=== TEST 29: ... and with jwks_url_allow_http = true the same file loads, without an unknown-key warning
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_verification_method = "jwks"
jwks_url_allow_http = true
jwks_url = "http://127.0.0.1:1/jwks"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 401
--- no_error_log
unknown key



=== TEST 30: API keys in a file that turns them off: the warning names the file's keys, not directives the configuration does not hold
# tasker's documented auth file writes api_keys_enabled = false beside its [[auth.api_keys]]
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
api_keys_enabled = false

[[auth.api_keys]]
key = "monitoring-key-1234567890"
permissions = ["tasks:read"]
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: monitoring-key-1234567890
--- error_code: 401
--- error_log eval
qr/tasker_auth: tasker_auth_config \S*auth\.toml:6: api_keys is configured but tasker_auth_config \S*auth\.toml:4: api_keys_enabled is off, so the keys are not accepted/



=== TEST 31: ... and a tasker_api_keys_enabled directive left at its default is named as the directive
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"

[[auth.api_keys]]
key = "monitoring-key-1234567890"
permissions = ["tasks:read"]
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 401
--- error_log eval
qr/tasker_auth: tasker_auth_config \S*auth\.toml:5: api_keys is configured but tasker_api_keys_enabled is off, so the keys are not accepted/



=== TEST 32: an API key header from a file that nginx would drop fails, naming the file's key
--- user_files
>>> auth.toml
[auth]
enabled = true
api_keys_enabled = true
api_key_header = "X_Api_Key"

[[auth.api_keys]]
key = "monitoring-key-1234567890"
permissions = ["tasks:read"]
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        return 204;
    }
--- must_die
--- error_log eval
qr/tasker_auth: tasker_auth_config \S*auth\.toml:4: api_key_header "X_Api_Key" holds "_", and nginx drops a request header so named/



=== TEST 33: a file's API key of 64 hex digits (a digest without "sha256:") warns with its line
--- user_files
>>> auth.toml
[auth]
enabled = true
api_keys_enabled = true

[[auth.api_keys]]
key = "47c82187340829b3531d7d5447c3646495aac8ce3a3303649cb92d0040b18bf8"
permissions = ["tasks:read"]
description = "monitoring"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: monitoring-key-0123456789
--- error_code: 401
--- error_log eval
qr/tasker_auth_config: \S*auth\.toml:5: api_keys entry "monitoring" is 64 hex digits, like a SHA-256 digest written without "sha256:"/



=== TEST 34: a file's public key under the file's jwks method fails, each named by its file key
# the conflict check saw directives only: the key was loaded and silently ignored
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_verification_method = "jwks"
jwks_url = "http://127.0.0.1:1/jwks"
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*tasker_auth: tasker_auth_config \S*auth\.toml:5: jwt_public_key_path is set in this block, but tasker_auth_config \S*auth\.toml:3: jwt_verification_method is jwks, so the key would be ignored: remove it, or use jwt_verification_method = "public_key"/



=== TEST 35: ... and a file's jwks_url beside a public key under public_key (the default) fails too
--- user_files
>>> auth.toml
[auth]
enabled = true
jwks_url = "http://127.0.0.1:1/jwks"
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*tasker_auth: tasker_auth_config \S*auth\.toml:3: jwks_url is set in this block, but tasker_jwt_verification_method is public_key, so the URL would be ignored/



=== TEST 36: ... while a location that switches the method leaves the server's file key unused, as with directives
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
--- config
    tasker_auth_config ../html/auth.toml;
    location = /t {
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:1/jwks;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /k {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request eval
["GET /t", "GET /k"]
--- more_headers eval
["", "Authorization: Bearer $::tok{reader}"]
--- error_code eval
[401, 200]



=== TEST 37: an API key written as a bare number fails nginx -t without the number (toml++ quoted it in its message)
--- user_files
>>> auth.toml
[auth]
enabled = true
api_keys_enabled = true

[[auth.api_keys]]
key = 123456789012345678901234567890
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.toml:6: Error while parsing decimal integer: '\.\.\.' is not representable in 64 bits/
--- no_error_log
1234567890



=== TEST 38: ... nor as a hexadecimal integer
--- user_files
>>> auth.toml
[auth]
enabled = true
api_keys_enabled = true

[[auth.api_keys]]
key = 0xC0FFEE0123456789ABCDEF
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.toml:6: Error while parsing hexadecimal integer: '\.\.\.' is not representable in 64 bits/
--- no_error_log
C0FFEE0123



=== TEST 39: a file's API key that is a permission list (key and permissions swapped) fails without showing the permissions
--- user_files
>>> auth.toml
[auth]
enabled = true
api_keys_enabled = true
strict_validation = false

[[auth.api_keys]]
key = "tasks:read"
permissions = ["Zk3vQp9sLx2TqW8e"]
description = "monitoring"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.toml:6: key "tasks:read" is a permission list, not a key: the key and its permissions look swapped/
--- no_error_log
Zk3vQp9sLx2TqW8e



=== TEST 40: a file's "enabled = true" without any credential source fails naming the file's key, not "tasker_auth on"
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_issuer = "tasker-core"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*tasker_auth: tasker_auth_config \S*auth\.toml:2: enabled is true, but there is no JWT key \(jwt_public_key_path, jwt_public_key, or jwks_url with jwt_verification_method = "jwks"\) or API key/
--- no_error_log
"tasker_auth on"



=== TEST 41: a file's jwt_verification_method = "jwks" without a URL is named by its file key
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_verification_method = "jwks"
jwks_url = ""
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*tasker_auth: tasker_auth_config \S*auth\.toml:3: jwt_verification_method is jwks, but there is no JWKS URL: set jwks_url in the file \(an empty one sets none\) or tasker_jwks_url/



=== TEST 42: a file's jwks_url under the file's public_key method, with no key, names both file keys
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_verification_method = "public_key"
jwks_url = "http://127.0.0.1:1/jwks"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*tasker_auth: tasker_auth_config \S*auth\.toml:4: jwks_url is set, but tasker_auth_config \S*auth\.toml:3: jwt_verification_method is public_key and there is no public key: set jwt_verification_method = "jwks"/



=== TEST 43: a NUL (\u0000) in a file's key path fails nginx -t naming the key, where the path was silently cut at it
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem\u0000.bak"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.toml:3: "jwt_public_key_path" holds a NUL character \(\\u0000\), which no setting can use/



=== TEST 44: ... and in an API key, without showing the key
--- user_files
>>> auth.toml
[auth]
enabled = true
api_keys_enabled = true

[[auth.api_keys]]
key = "Zk3vQp9sLx2TqW8e\u0000"
permissions = ["tasks:read"]
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*auth\.toml:6: "key" holds a NUL character \(\\u0000\), which no setting can use/
--- no_error_log
Zk3vQp9sLx2TqW8e
