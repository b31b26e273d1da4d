# API keys (SPEC 2, 3, 8; issue 3): registry, precedence, hashed keys, strict validation.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

our %tok = tasker_tokens(
    reader => { claims => { permissions => ['tasks:read'] } },
);
# sha256 of "monitoring-key-0123456789", for the hashed registry entries
our $hashed = 'sha256:' . do {
    require Digest::SHA;
    Digest::SHA::sha256_hex('monitoring-key-0123456789');
};

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a valid key with the required permission passes; description is the subject
--- log_level: info
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read,tasks:list" "ci-pipeline";
        tasker_permission tasks:list;
        proxy_set_header X-Subject $tasker_auth_subject;
        proxy_set_header X-Auth-Method $tasker_auth_method;
        proxy_set_header X-Permissions $tasker_auth_permissions;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: ci-key-abcdefghijklmnop
--- error_code: 200
--- response_body
backend GET subject=ci-pipeline method=api_key permissions=tasks:read,tasks:list
--- error_log
tasker_auth: authenticated subject="ci-pipeline" method=api_key
--- no_error_log
ci-key-abcdefghijklmnop



=== TEST 2: a valid key without the permission gets 403
--- log_level: info
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        tasker_permission tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: ci-key-abcdefghijklmnop
--- error_code: 403
--- response_body
{"error":"forbidden","message":"Missing required permission: tasks:create"}
--- error_log
permission denied subject="ci-pipeline" method=api_key required=tasks:create
--- no_error_log
ci-key-abcdefghijklmnop



=== TEST 3: an unknown key gets 401 "Invalid API key" and is never logged
--- log_level: info
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: ci-key-abcdefghijklmnoq
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker", error="invalid_token"
--- response_body
{"error":"unauthorized","message":"Invalid API key"}
--- error_log
authentication failed method=api_key reason=invalid_api_key
--- no_error_log
ci-key-abcdefghijklmnoq



=== TEST 4: an empty key header is an invalid key, not a missing one
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key:
--- error_code: 401
--- response_body
{"error":"unauthorized","message":"Invalid API key"}



=== TEST 5: a hashed registry entry matches the plain key
--- config eval
"    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key $::hashed \"tasks:read\" monitoring;
        tasker_permission tasks:read;
        proxy_set_header X-Subject \$tasker_auth_subject;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/_backend;
    }
"
--- request
GET /t
--- more_headers
X-API-Key: monitoring-key-0123456789
--- error_code: 200
--- response_body
backend GET subject=monitoring method= permissions=



=== TEST 6: the key header is configurable and case-insensitive
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key_header X-Tasker-Key;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
x-tasker-key: ci-key-abcdefghijklmnop
--- error_code: 200



=== TEST 7: a key header is ignored while API keys are disabled (counts as absent)
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: ci-key-abcdefghijklmnop
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker"
--- response_body
{"error":"unauthorized","message":"Missing authentication credentials"}



=== TEST 8: a bearer token wins; the key next to it is ignored
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_api_keys_enabled on;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read,tasks:list" "ci-pipeline";
        tasker_permission tasks:list;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}\nX-API-Key: ci-key-abcdefghijklmnop"
--- error_code: 403
--- response_body
{"error":"forbidden","message":"Missing required permission: tasks:list"}



=== TEST 9: an invalid bearer token is not rescued by a valid key
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_api_keys_enabled on;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
Authorization: Bearer not.a.token
X-API-Key: ci-key-abcdefghijklmnop
--- error_code: 401
--- response_body
{"error":"unauthorized","message":"Invalid or expired token"}



=== TEST 10: another Authorization scheme counts as absent, so the key is used
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_api_keys_enabled on;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
Authorization: Basic dXNlcjpwYXNz
X-API-Key: ci-key-abcdefghijklmnop
--- error_code: 200



=== TEST 11: a bearer token against a keys-only location is an invalid token
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 401
--- response_body
{"error":"unauthorized","message":"Invalid or expired token"}



=== TEST 12: strict off keeps an unknown permission, which grants nothing
--- log_level: warn
--- config
    location = /t {
        tasker_auth on;
        tasker_strict_validation off;
        tasker_api_keys_enabled on;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read,tasks:destroy" "ci-pipeline";
        tasker_permission tasks:read;
        proxy_set_header X-Permissions $tasker_auth_permissions;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: ci-key-abcdefghijklmnop
--- error_code: 200
--- response_body
backend GET subject= method= permissions=tasks:read,tasks:destroy



=== TEST 13: keys are inherited; a location's own key list replaces them
--- config
    tasker_api_keys_enabled on;
    tasker_api_key "server-key-1234567890" "tasks:read" "server";
    location = /t {
        tasker_auth on;
        tasker_api_key "location-key-1234567890" "tasks:read" "location";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: server-key-1234567890
--- error_code: 401



=== TEST 14: a wildcard in a key's permissions grants the resource
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key "ops-key-1234567890" "dlq:*" "ops";
        tasker_permission dlq:update dlq:stats;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: ops-key-1234567890
--- error_code: 200



=== TEST 15: a malformed sha256 value fails nginx -t
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key sha256:abc123 "tasks:read" "broken";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_api_key "broken" is not sha256:<64 hex digits> (6 characters follow "sha256:"; the value is not shown)



=== TEST 15b: a key pasted after sha256: or Sha256: is not echoed
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key Sha256:TopSecretPlainKey "tasks:read" "pasted";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_api_key "pasted" is not sha256:<64 hex digits> (the prefix is not "sha256:" in lower case; the value is not shown)
--- no_error_log
TopSecretPlainKey



=== TEST 16: a duplicate key fails nginx -t naming the first entry, never the key
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key "dup-key-1234567890" "tasks:read" "first";
        tasker_api_key "dup-key-1234567890" "tasks:list" "second";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_api_key "second" duplicates the key first defined in \S+nginx\.conf:\d+/
--- no_error_log
dup-key-1234567890



=== TEST 17: an unknown permission in a key fails nginx -t under strict validation
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read,tasks:destroy" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_api_key "ci-pipeline" holds unknown permission "tasks:destroy"



=== TEST 18: keys enabled but none configured and no JWT key fails nginx -t
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
"tasker_auth on" needs a JWT key



=== TEST 19: an empty key fails nginx -t and says why
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key "" "tasks:read" "blank";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_api_key "blank" is invalid \(empty key\) in \S+nginx\.conf:\d+/



=== TEST 20: the key header twice, in different case, is ambiguous: an invalid key, never the first one
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: ci-key-abcdefghijklmnop
x-api-KEY: ci-key-abcdefghijklmnop
--- error_code: 401
--- response_body
{"error":"unauthorized","message":"Invalid API key"}



=== TEST 21: a key header name of 19 bytes matches in any case
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key_header X-Tasker-Api-Key-01;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
x-TASKER-api-KEY-01: ci-key-abcdefghijklmnop
--- error_code: 200



=== TEST 22: a header name that differs only in its last byte is another header (the key counts as absent)
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key_header X-Tasker-Api-Key-01;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-Tasker-Api-Key-02: ci-key-abcdefghijklmnop
--- error_code: 401
--- response_body
{"error":"unauthorized","message":"Missing authentication credentials"}



=== TEST 23: a header name that differs only in its first byte is another header
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key_header X-Tasker-Api-Key-01;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
Y-Tasker-Api-Key-01: ci-key-abcdefghijklmnop
--- error_code: 401
--- response_body
{"error":"unauthorized","message":"Missing authentication credentials"}



=== TEST 24: a header name that differs only in its tenth byte (neither first nor last word) is another header
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key_header X-Tasker-Api-Key-01;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-Tasker-Bpi-Key-01: ci-key-abcdefghijklmnop
--- error_code: 401
--- response_body
{"error":"unauthorized","message":"Missing authentication credentials"}



=== TEST 25: a key header name of exactly 8 bytes matches in any case
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key_header X-ApiKey;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
x-APIKEY: ci-key-abcdefghijklmnop
--- error_code: 200



=== TEST 26: an 8-byte header name that differs only in its last byte is another header
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key_header X-ApiKey;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-ApiKez: ci-key-abcdefghijklmnop
--- error_code: 401
--- response_body
{"error":"unauthorized","message":"Missing authentication credentials"}



=== TEST 27: a key header name shorter than 8 bytes matches in any case
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key_header X-Key;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
x-kEY: ci-key-abcdefghijklmnop
--- error_code: 200



=== TEST 28: a short header name that differs only in its last byte is another header
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key_header X-Key;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-Kez: ci-key-abcdefghijklmnop
--- error_code: 401
--- response_body
{"error":"unauthorized","message":"Missing authentication credentials"}



=== TEST 29: a key header with "_" works where nginx keeps such headers (underscores_in_headers on)
--- config
    underscores_in_headers on;
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key_header X_Api_Key;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X_Api_Key: ci-key-abcdefghijklmnop
--- error_code: 200



=== TEST 30: a key header with "." works where nginx keeps invalid header names (ignore_invalid_headers off)
--- config
    ignore_invalid_headers off;
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key_header X.Api.Key;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
x.api.key: ci-key-abcdefghijklmnop
--- error_code: 200



=== TEST 31: the header name is not checked where API keys are off (no key can arrive anyway)
--- config
    tasker_api_key_header X_Api_Key;
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 200



=== TEST 32: a key of 64 hex digits (a digest without "sha256:") warns, and is taken as written
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key 47c82187340829b3531d7d5447c3646495aac8ce3a3303649cb92d0040b18bf8 "tasks:read" "monitoring";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: 47c82187340829b3531d7d5447c3646495aac8ce3a3303649cb92d0040b18bf8
--- error_code: 200
--- error_log
tasker_api_key "monitoring" is 64 hex digits, like a SHA-256 digest written without "sha256:": it is taken as the key itself, so the digest works as a key and the key it was made from does not; if it is a digest, write "sha256:<hex>"



=== TEST 33: ... so the key the digest was made from is refused
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key 47c82187340829b3531d7d5447c3646495aac8ce3a3303649cb92d0040b18bf8 "tasks:read" "monitoring";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: monitoring-key-0123456789
--- error_code: 401



=== TEST 34: a key that is not 64 hex digits draws no such warning
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key 47c82187340829b3531d7d5447c3646495aac8ce3a3303649cb92d0040b18bf80 "tasks:read" "monitoring";
        tasker_api_key sha256:47c82187340829b3531d7d5447c3646495aac8ce3a3303649cb92d0040b18bf8 "tasks:read" "hashed";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers
X-API-Key: monitoring-key-0123456789
--- error_code: 200
--- no_error_log
64 hex digits



=== TEST 35: swapped arguments (PERMS first) fail nginx -t without showing the key, also with strict validation off
# it warned 'holds unknown permission "<the key>"' and the header value "tasks:read" authenticated
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_strict_validation off;
        tasker_api_key "tasks:read" "Zk3vQp9sLx2TqW8e" "monitoring";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*tasker_auth: tasker_api_key "tasks:read" is a permission list, not a key: the key and its permissions look swapped \(tasker_api_key KEY PERMS \[DESCRIPTION\]\)/
--- no_error_log
Zk3vQp9sLx2TqW8e



=== TEST 35b: ... and with strict validation on, where the key was shown as an unknown permission
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key "tasks:*,dlq:read" "Zk3vQp9sLx2TqW8e";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*tasker_api_key "tasks:\*,dlq:read" is a permission list, not a key/
--- no_error_log
Zk3vQp9sLx2TqW8e
