# tasker_auth_config in the http block (SPEC 8: its values count as set in the block that
# contains it). nginx never merges the http block's own location conf, it is only a parent: the
# file's values must still reach every server and location (before: silently ignored, so
# `enabled = true` left everything open).
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

our %tok = tasker_tokens(
    reader => { claims => { permissions => ['tasks:read'] } },
);

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the http block's file enables JWT verification everywhere below it
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
--- http_config
    tasker_auth_config ../html/auth.toml;
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["", "Authorization: Bearer $::tok{reader}"]
--- error_code eval
[401, 200]



=== TEST 2: a directive in the http block still overrides the file of that block
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
--- http_config
    tasker_auth_config ../html/auth.toml;
    tasker_auth off;
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 200



=== TEST 3: a location's own directive overrides the inherited file value
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
--- http_config
    tasker_auth_config ../html/auth.toml;
--- config
    location = /t {
        tasker_auth off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 200
