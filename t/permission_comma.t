# A permission string containing a comma (issue 10, SPEC 5): it would read like two grants in the
# comma-joined $tasker_auth_permissions, so it is refused whatever tasker_strict_validation says:
# a token holding one gets 401 (reason invalid_claims), an API key holding one fails nginx -t.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

our %tok = tasker_tokens(
    comma_array  => { claims => { permissions => ['tasks:read,dlq:update'] } },
    comma_scope  => { claims => { permissions => 'tasks:read dlq:update,tasks:list' } },
    plain        => { claims => { permissions => ['tasks:read', 'dlq;update'] } },
);

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: strict off, a comma inside one array element: 401, never two grants upstream
--- log_level: info
--- config
    location = /t {
        tasker_auth on;
        tasker_strict_validation off;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_set_header X-Permissions $tasker_auth_permissions;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{comma_array}"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker", error="invalid_token"
--- error_log
reason=invalid_claims status=token_bad_permissions_claim



=== TEST 2: strict off, a comma in the space-separated form: 401
--- log_level: info
--- config
    location = /t {
        tasker_auth on;
        tasker_strict_validation off;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_set_header X-Permissions $tasker_auth_permissions;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{comma_scope}"
--- error_code: 401
--- error_log
status=token_bad_permissions_claim



=== TEST 3: strict on, the same token is refused too
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{comma_array}"
--- error_code: 401



=== TEST 4: strict off, other unknown strings are still kept (only the comma is refused)
--- config
    location = /t {
        tasker_auth on;
        tasker_strict_validation off;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_set_header X-Permissions $tasker_auth_permissions;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{plain}"
--- error_code: 200
--- response_body
backend GET subject= method= permissions=tasks:read,dlq;update



=== TEST 5: strict off, an API key from a TOML file with a comma in one permission fails nginx -t
--- user_files
>>> auth.toml
[auth]
enabled = true
strict_validation = false
api_keys_enabled = true

[[auth.api_keys]]
key = "ci-key-1234567890"
permissions = ["tasks:read,dlq:update"]
description = "ci"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/auth\.toml.*"tasks:read,dlq:update" contains a comma/
