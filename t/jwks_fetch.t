# JWKS (SPEC 2, 8; issue 4): key sets fetched off the request path by a timer. Static
# documents are served by the test nginx itself; documents that change or misbehave during a
# block come from t/lib/jwks_server.py (JwksServer.pm), whose request log lets --- init wait
# for the fetches a block needs instead of guessing. Stock nginx modules only. The faults
# themselves (refused, 500, garbage, too large, stalled) are in t/jwks_faults.t.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;
use JwksServer;

our %tok = tasker_tokens(
    rsa     => { header => { kid => 'kid-rsa' } },
    ec      => { key => 'ec256', header => { kid => 'kid-ec256' } },
    ed      => { key => 'ed25519', header => { kid => 'kid-ed25519' } },
    rsa2    => { key => 'rsa2', header => { kid => 'kid-rsa2' } },
    nokid   => {},
    wrongalg => { key => 'rsa', alg => 'PS256', header => { kid => 'kid-rsa' } },
);
our $jwks = tasker_slurp("$ENV{TEST_NGINX_KEYS}/jwks.json");
our $enc = '{"keys":[' . substr($jwks, index($jwks, '[') + 1, index($jwks, '}') - index($jwks, '[')) . ']}';
$enc =~ s/"use": "sig"/"use": "enc"/;
jwks_server_start();

# The switchable document /doc/jwks.json of the helper (initially jwks.json), refreshed every
# second.
our $doc_config = <<'NGX';
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_refresh_interval 1s;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_JWKS_PORT/doc/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
NGX

# For --- init: runs after nginx has started and before the block's requests.
sub pause { select(undef, undef, undef, $_[0]) }

# --- init of the keep-last-good blocks: the first fetch succeeds, then the document turns
# into TARGET (a data path of the helper, or with BODY that body); returns once a later fetch
# has started: one worker fetches at a time, so the failed fetch has been handled and logged.
sub good_then {
    my ($target, $body) = @_;
    jwks_wait(path => '/doc/jwks.json', status => 200);
    jwks_ctl(PUT => defined $body ? '/doc/jwks.json?status=200' : "/doc/jwks.json?to=$target",
             $body);
    jwks_wait(path => '/doc/jwks.json', count => 3, started => 1);
}

add_block_preprocessor(sub {
    my $block = shift;
    # a block that starts nginx starts from a fresh helper: documents reset, log emptied
    jwks_ctl(POST => '/reset') if defined $block->config;
    tasker_defaults($block);
});
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a token whose kid is in the fetched set is accepted
--- log_level: info
--- config
    location = /jwks.json { tasker_auth off; alias $TEST_NGINX_KEYS/jwks.json; }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(0.6);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 200
--- error_log eval
qr{tasker_auth: JWKS refreshed url=http://127\.0\.0\.1:\d+/jwks\.json keys=3 version=1}




=== TEST 2: EC P-256 key from the set
--- config
    location = /jwks.json { tasker_auth off; alias $TEST_NGINX_KEYS/jwks.json; }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks.json;
        tasker_jwt_allowed_algorithms RS256 ES256 EdDSA;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(0.6);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{ec}"
--- error_code: 200




=== TEST 3: Ed25519 key from the set
--- config
    location = /jwks.json { tasker_auth off; alias $TEST_NGINX_KEYS/jwks.json; }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks.json;
        tasker_jwt_allowed_algorithms RS256 ES256 EdDSA;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(0.6);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{ed}"
--- error_code: 200




=== TEST 4: a token without kid is rejected in JWKS mode
--- log_level: info
--- config
    location = /jwks.json { tasker_auth off; alias $TEST_NGINX_KEYS/jwks.json; }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(0.6);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{nokid}"
--- error_code: 401
--- error_log
status=token_kid_missing




=== TEST 5: the JWK's own alg must match the token's
--- log_level: info
--- config
    location = /jwks.json { tasker_auth off; alias $TEST_NGINX_KEYS/jwks.json; }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwt_allowed_algorithms RS256 PS256;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(0.6);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{wrongalg}"
--- error_code: 401
--- error_log
status=token_alg_key_mismatch




=== TEST 6: 503 with Retry-After before any set loads (endpoint answers 500)
--- log_level: info
--- config
    location = /broken.json { tasker_auth off; return 500; }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/broken.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(0.6);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- response_headers
Retry-After: 5
Content-Type: application/json
--- response_body
{"error":"service_unavailable","message":"Authentication keys unavailable"}
--- error_log eval
qr{\[error\] .*tasker_auth: JWKS fetch failed url=http://127\.0\.0\.1:\d+/broken\.json: HTTP 500; no key set loaded yet}




=== TEST 7: requests without a bearer token are not affected by missing keys
--- config
    location = /broken.json { tasker_auth off; return 500; }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/broken.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 401
--- response_body
{"error":"unauthorized","message":"Missing authentication credentials"}




=== TEST 8: invalid JSON before any set loads gives 503
--- log_level: info
--- config
    location = /garbage.json { tasker_auth off; return 200 "not json"; }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/garbage.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(0.6);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- error_log
jwks_bad_json; no key set loaded yet




=== TEST 9: an empty key set counts as a failed refresh
--- log_level: info
--- config
    location = /empty.json { tasker_auth off; return 200 '{"keys":[]}'; }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/empty.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(0.6);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- error_log
jwks_no_usable_keys; no key set loaded yet




=== TEST 10: a key with use "enc" is skipped
--- log_level: info
--- config eval
"    location = /jwks.json { tasker_auth off; return 200 '$::enc'; }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/jwks.json;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/_backend;
    }
"
--- init
::pause(0.6);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- error_log
skipped a key




=== TEST 11: invalid JSON keeps the last good keys
--- log_level: info
--- config eval
$::doc_config
--- init
::good_then('/garbage');
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 200
--- error_log eval
qr/jwks_bad_json; serving the key set loaded \d+ s ago/




=== TEST 11b: an empty set keeps the last good keys
--- log_level: info
--- config eval
$::doc_config
--- init
::good_then(undef, '{"keys":[]}');
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 200
--- error_log eval
qr/jwks_no_usable_keys; serving the key set loaded \d+ s ago/




=== TEST 11c: a non-2xx answer keeps the last good keys
--- log_level: info
--- config eval
$::doc_config
--- init
::good_then('/status/404');
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 200
--- error_log eval
qr/HTTP 404; serving the key set loaded \d+ s ago/




=== TEST 12: tasker_jwks_max_stale: once it has passed since the last success, 503
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_refresh_interval 1s;
        tasker_jwks_max_stale 2s;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_JWKS_PORT/doc/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::jwks_wait(path => '/doc/jwks.json', status => 200);
::jwks_ctl(PUT => '/doc/jwks.json?to=/status/404');
# max_stale counts whole seconds from the last success: 2 s plus a second of rounding, plus margin
::jwks_sleep_until(::jwks_log()->[0]{end} + 3.5);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503




=== TEST 13: a stalled endpoint does not delay requests, JWT ones included
--- config eval
"$::doc_config
    location = /static {
        tasker_auth on;
        tasker_jwt_public_key_path \$TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/_backend;
    }
"
--- init
::jwks_wait(path => '/doc/jwks.json', status => 200);
::jwks_ctl(PUT => '/doc/jwks.json?to=/stall/60/jwks.json');
::jwks_wait(path => '/doc/jwks.json', count => 2, started => 1);
--- request eval
["GET /t", "GET /static", "GET /t", "GET /static", "GET /t"]
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code eval
[200, 200, 200, 200, 200]
--- timeout: 1




=== TEST 14: rotation: an unknown kid triggers an early refresh (at most once per 30 s)
--- config
    location /ctl/ { tasker_auth off; proxy_pass http://127.0.0.1:$TEST_NGINX_JWKS_CTL_PORT/; }
    location = /sleep { tasker_auth off; proxy_pass http://127.0.0.1:$TEST_NGINX_JWKS_PORT/stall/1.3/jwks.json; }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_JWKS_PORT/doc/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::jwks_wait(path => '/doc/jwks.json', status => 200); ::pause(37);
--- request eval
["GET /t", "PUT /ctl/doc/jwks.json?to=/keys/jwks-rsa2.json", "GET /t", "GET /sleep", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::tok{rsa}", "", "Authorization: Bearer $::tok{rsa2}", "",
 "Authorization: Bearer $::tok{rsa2}", "Authorization: Bearer $::tok{rsa}"]
--- error_code eval
[200, 204, 401, 200, 200, 401]
--- timeout: 5




=== TEST 14b: an unknown kid sooner than 30 s after the last fetch defers the early refresh (SPEC 8)
# One request with the new kid, right after the first fetch: 401, and the refresh it asks for
# starts 30 s after that fetch, with no further request needed.
--- config
    location /ctl/ { tasker_auth off; proxy_pass http://127.0.0.1:$TEST_NGINX_JWKS_CTL_PORT/; }
    location = /sleep31 { tasker_auth off; proxy_pass http://127.0.0.1:$TEST_NGINX_JWKS_PORT/stall/31/jwks.json; }
    location = /sleep { tasker_auth off; proxy_pass http://127.0.0.1:$TEST_NGINX_JWKS_PORT/stall/1.3/jwks.json; }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_JWKS_PORT/doc/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::jwks_wait(path => '/doc/jwks.json', status => 200); ::pause(0.6);
::jwks_ctl(PUT => '/doc/jwks.json?to=/keys/jwks-rsa2.json');
--- request eval
["GET /t", "GET /sleep31", "GET /sleep", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::tok{rsa2}", "", "", "Authorization: Bearer $::tok{rsa2}"]
--- error_code eval
[401, 200, 200, 200]
--- timeout: 40




=== TEST 15: redirects are not followed by default (a 3xx is a failed refresh)
--- log_level: info
--- config
    location = /jwks.json { tasker_auth off; alias $TEST_NGINX_KEYS/jwks.json; }
    location = /moved.json { tasker_auth off; return 302 http://127.0.0.1:$server_port/jwks.json; }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/moved.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(1.2);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- error_log
HTTP 302 (redirects are not followed); no key set loaded yet



=== TEST 16: tasker_jwks_follow_redirects on follows them
--- http_config
    tasker_jwks_follow_redirects on;
--- config
    location = /jwks.json { tasker_auth off; alias $TEST_NGINX_KEYS/jwks.json; }
    location = /moved.json { tasker_auth off; return 302 http://127.0.0.1:$server_port/jwks.json; }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/moved.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(1.2);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 200
