# SPEC 2: without tasker_jwt_public_key_path or tasker_jwt_public_key, the key comes from the
# environment of the nginx master at configuration load (TASKER_JWT_PUBLIC_KEY_PATH, then
# TASKER_JWT_PUBLIC_KEY).
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

our %tok = tasker_tokens(valid => {}, ec => { key => 'ec256' });
$ENV{TASKER_JWT_PUBLIC_KEY_PATH} = "$ENV{TEST_NGINX_KEYS}/rsa-public.pem";

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the key path comes from TASKER_JWT_PUBLIC_KEY_PATH
--- config
    location = /t {
        tasker_auth on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{valid}"
--- error_code: 200



=== TEST 2: a directive wins over the environment
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_allowed_algorithms ES256;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/ec256-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{ec}"
--- error_code: 200
