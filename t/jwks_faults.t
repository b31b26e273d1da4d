# JWKS endpoint faults (issue 10): the endpoint refuses connections, answers 500, answers
# garbage, answers 300 KiB (over the 256 KiB cap), or stalls for longer than the refresh
# interval. Exact expectations for each: before any key set, 503 and the logged cause; after
# one, the last good set is kept (logged) until tasker_jwks_max_stale has passed since the
# last success, then 503. While a fetch hangs, requests keep their latency: the helper
# (t/lib/jwks_server.py, /probe) times each request itself and counts those slower than 1 s,
# a bound far above a loopback request's milliseconds and far below the 15 s a request would
# take if it waited for the fetch.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;
use JwksServer;

our %tok = tasker_tokens(rsa => { header => { kid => 'kid-rsa' } }, nokid => {});
jwks_server_start();
our $max_stale = 5;

# a protected /t that uses the JWKS at helper path $_[0] (refresh 1 s), a public /probe that
# the helper uses to time requests to /t, and /static, protected by a static public key
sub jwks_config {
    my ($path, $port_var, $max) = @_;
    $port_var //= 'TEST_NGINX_JWKS_PORT';
    my $stale = defined $max ? "        tasker_jwks_max_stale ${max}s;\n" : '';
    return <<"NGX";
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_refresh_interval 1s;
$stale        tasker_jwks_url http://127.0.0.1:\$$port_var$path;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /static {
        tasker_auth on;
        tasker_jwt_public_key_path \$TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /probe {
        tasker_auth off;
        proxy_set_header X-Probe-Port \$server_port;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_JWKS_CTL_PORT;
    }
NGX
}

sub pause { select(undef, undef, undef, $_[0]) }

# --- init: once the first fetch of /doc/jwks.json has succeeded, the document turns into
# TARGET (a helper data path; "refuse": the helper stops listening). Returns once a fetch after
# the faulty one has started (one worker fetches at a time, so the faulty one has been handled
# and logged), or for "refuse", where the helper sees no request, after two refresh periods.
sub good_then {
    my ($target) = @_;
    jwks_wait(path => '/doc/jwks.json', status => 200);
    if ($target eq 'refuse') {
        jwks_ctl(POST => '/refuse');
        pause(2.2);
        return;
    }
    jwks_ctl(PUT => "/doc/jwks.json?to=$target");
    jwks_wait(path => '/doc/jwks.json', count => 3, started => 1);
}

# --- init of the blocks after good_then's: sleeps until max_stale (whole seconds, compared
# with ">") has certainly passed since the last successful fetch
sub past_max_stale {
    my @ok = grep { ($_->{status} // 0) == 200 } @{ jwks_log() };
    jwks_sleep_until($ok[-1]{end} + $max_stale + 1.5);
}

add_block_preprocessor(sub {
    my $block = shift;
    jwks_ctl(POST => '/reset') if defined $block->config;
    tasker_defaults($block);
});
no_shuffle();
run_tests();

__DATA__

=== TEST 1: refused before any key set: 503 with Retry-After, cause logged
--- log_level: info
--- config eval
::jwks_config('/jwks.json', 'TEST_NGINX_JWKS_REFUSE_PORT')
--- init
::pause(1.2);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- response_headers
Retry-After: 5
--- response_body
{"error":"service_unavailable","message":"Authentication keys unavailable"}
--- error_log eval
qr{\[error\] .*tasker_auth: JWKS fetch failed url=http://127\.0\.0\.1:\d+/jwks\.json: Failed to connect to 127\.0\.0\.1 port \d+ after \d+ ms: (Connection refused|Couldn't connect to server); no key set loaded yet, JWT requests get 503 \(failure \d+\)}




=== TEST 1b: before any key set, a malformed token is still 401 (only a token a key could verify gets 503)
--- config eval
::jwks_config('/jwks.json', 'TEST_NGINX_JWKS_REFUSE_PORT')
--- request
GET /t
--- more_headers
Authorization: Bearer not-a-jwt
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker", error="invalid_token"
--- response_body
{"error":"unauthorized","message":"Invalid or expired token"}



=== TEST 1c: ... and so is a token without the kid JWKS mode needs
--- config eval
::jwks_config('/jwks.json', 'TEST_NGINX_JWKS_REFUSE_PORT')
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{nokid}"
--- error_code: 401
--- response_body
{"error":"unauthorized","message":"Invalid or expired token"}



=== TEST 2: HTTP 500 before any key set: 503, cause logged
--- log_level: info
--- config eval
::jwks_config('/status/500')
--- init
::jwks_wait(path => '/status/500', count => 2, started => 1);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- response_body
{"error":"service_unavailable","message":"Authentication keys unavailable"}
--- error_log eval
qr{\[error\] .*tasker_auth: JWKS fetch failed url=http://127\.0\.0\.1:\d+/status/500: HTTP 500; no key set loaded yet, JWT requests get 503 \(failure 1\)}




=== TEST 3: garbage before any key set: 503, cause logged
--- log_level: info
--- config eval
::jwks_config('/garbage')
--- init
::jwks_wait(path => '/garbage', count => 2, started => 1);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- error_log eval
qr{\[error\] .*tasker_auth: JWKS fetch failed url=http://127\.0\.0\.1:\d+/garbage: jwks_bad_json; no key set loaded yet, JWT requests get 503 \(failure 1\)}




=== TEST 4: 300 KiB before any key set: the transfer stops at the 256 KiB cap, 503
--- log_level: info
--- config eval
::jwks_config('/bytes/307200/jwks.json')
--- init
::jwks_wait(path => '/bytes/307200/jwks.json', count => 2, started => 1);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- error_log eval
qr{\[error\] .*tasker_auth: JWKS fetch failed url=http://127\.0\.0\.1:\d+/bytes/307200/jwks\.json: body exceeds 262144 bytes; no key set loaded yet, JWT requests get 503 \(failure 1\)}




=== TEST 5: a document just under the cap (250 KiB, padded) loads
--- log_level: info
--- config eval
::jwks_config('/bytes/256000/jwks.json')
--- init
::jwks_wait(path => '/bytes/256000/jwks.json', count => 2, started => 1);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 200
--- error_log eval
qr{tasker_auth: JWKS refreshed url=http://127\.0\.0\.1:\d+/bytes/256000/jwks\.json keys=3 version=1\b}




=== TEST 6: refused after a good fetch: the last good set is kept
--- log_level: info
--- config eval
::jwks_config('/doc/jwks.json', undef, $::max_stale)
--- init
::good_then('refuse');
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 200
--- error_log eval
qr{\[error\] .*tasker_auth: JWKS fetch failed url=http://127\.0\.0\.1:\d+/doc/jwks\.json: Failed to connect to .*; serving the key set loaded [0-4] s ago \(failure 1\)}




=== TEST 7: ... until max_stale has passed since the last success: 503
--- init
::past_max_stale();
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- response_headers
Retry-After: 5
--- response_body
{"error":"service_unavailable","message":"Authentication keys unavailable"}




=== TEST 8: HTTP 500 after a good fetch: the last good set is kept
--- log_level: info
--- config eval
::jwks_config('/doc/jwks.json', undef, $::max_stale)
--- init
::good_then('/status/500');
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 200
--- error_log eval
qr{\[error\] .*tasker_auth: JWKS fetch failed url=http://127\.0\.0\.1:\d+/doc/jwks\.json: HTTP 500; serving the key set loaded [0-4] s ago \(failure 1\)}




=== TEST 9: ... until max_stale: 503
--- init
::past_max_stale();
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503




=== TEST 10: garbage after a good fetch: the last good set is kept
--- log_level: info
--- config eval
::jwks_config('/doc/jwks.json', undef, $::max_stale)
--- init
::good_then('/garbage');
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 200
--- error_log eval
qr{\[error\] .*tasker_auth: JWKS fetch failed url=http://127\.0\.0\.1:\d+/doc/jwks\.json: jwks_bad_json; serving the key set loaded [0-4] s ago \(failure 1\)}




=== TEST 11: ... until max_stale: 503
--- init
::past_max_stale();
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503




=== TEST 12: 300 KiB after a good fetch: the last good set is kept
--- log_level: info
--- config eval
::jwks_config('/doc/jwks.json', undef, $::max_stale)
--- init
::good_then('/bytes/307200/jwks.json');
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 200
--- error_log eval
qr{\[error\] .*tasker_auth: JWKS fetch failed url=http://127\.0\.0\.1:\d+/doc/jwks\.json: body exceeds 262144 bytes; serving the key set loaded [0-4] s ago \(failure 1\)}




=== TEST 13: ... until max_stale: 503
--- init
::past_max_stale();
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503




=== TEST 14: a fetch that hangs (20 s, refresh 1 s): no request slower than 1 s, keys kept
--- config eval
::jwks_config('/doc/jwks.json', undef, 10)
--- init
::jwks_wait(path => '/doc/jwks.json', status => 200);
::jwks_ctl(PUT => '/doc/jwks.json?to=/stall/20/jwks.json');
::jwks_wait(path => '/doc/jwks.json', count => 2, started => 1);
--- request
GET /probe?path=/t&n=20&interval=0.2&limit=1
--- more_headers eval
"X-Probe-Authorization: Bearer $::tok{rsa}"
--- response_body: {"fetch_in_progress_throughout":true,"requests":20,"slower_than_limit":0,"statuses":{"200":20}}
--- timeout: 30




=== TEST 15: ... still hanging, past max_stale (10 s): 503s, just as fast; static keys unaffected
--- init
my @ok = grep { ($_->{status} // 0) == 200 } @{ ::jwks_log() };
::jwks_sleep_until($ok[-1]{end} + 11.5);
--- request eval
["GET /probe?path=/t&n=5&interval=0.2&limit=1", "GET /probe?path=/static&n=5&interval=0.2&limit=1"]
--- more_headers eval
"X-Probe-Authorization: Bearer $::tok{rsa}"
--- response_body eval
['{"fetch_in_progress_throughout":true,"requests":5,"slower_than_limit":0,"statuses":{"503":5}}',
 '{"fetch_in_progress_throughout":true,"requests":5,"slower_than_limit":0,"statuses":{"200":5}}']
--- error_code eval
[200, 200]
--- timeout: 30




=== TEST 16: nginx gives up on the hung fetch after 15 s (the fetch timeout) and logs it
--- init
::jwks_wait(path => '/doc/jwks.json', count => 2, timeout => 20);
my @log = @{ ::jwks_log() };
Test::More::is($log[1]{outcome}, 'client_closed', 'TEST 16: the hung fetch was closed by nginx');
my $took = ($log[1]{end} // 0) - $log[1]{start};
Test::More::ok($took > 14 && $took < 17, "TEST 16: nginx gave up after 15 s (took $took s)");
::jwks_wait(path => '/doc/jwks.json', count => 3, started => 1);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- error_log eval
qr{\[error\] .*tasker_auth: JWKS fetch failed url=http://127\.0\.0\.1:\d+/doc/jwks\.json: timeout: .*; the key set loaded 1\d s ago is past tasker_jwks_max_stale \(\d+ s\), JWT requests get 503 \(failure 1\)}




=== TEST 17: past max_stale, a failed refresh does not claim to serve the stale set
--- log_level: info
--- config eval
::jwks_config('/doc/jwks.json', undef, 2)
--- init
::good_then('/status/500');
my @ok = grep { ($_->{status} // 0) == 200 } @{ ::jwks_log() };
# past max_stale (2 s: the set is unused from 3 s on), with a failed refresh logged after that
::jwks_sleep_until($ok[-1]{end} + 5.5);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- no_error_log eval
qr/HTTP 500; serving the key set loaded (?:[3-9]|\d\d+) s ago/
--- error_log eval
qr/HTTP 500; the key set loaded \d+ s ago is past tasker_jwks_max_stale \(2 s\), JWT requests get 503/
