# The JWKS refresh timer runs in worker processes only (issue 10): nginx also calls init_process
# in the cache manager and cache loader processes that any proxy_cache_path starts, and those
# must not claim JWKS fetches.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

master_on();
workers(1);

our %tok = tasker_tokens(kid => { header => { kid => 'kid-rsa' } });

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: with proxy_cache_path, one timer starts: the worker's, not the cache processes'
--- log_level: info
--- http_config
    proxy_cache_path cache keys_zone=tasker_test_cache:1m;
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/no-such-jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
select(undef, undef, undef, 0.5);
--- request
GET /t
--- error_code: 401
--- grep_error_log eval
qr/tasker_auth: JWKS refresh timer started for \d+ URL\(s\)/
--- grep_error_log_out
tasker_auth: JWKS refresh timer started for 1 URL(s)
