# Metrics (SPEC 6, 8; issue 5): a known mix of traffic, then exact counter values.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;
use PromCheck;

my $now = time();
our %tok = tasker_tokens(
    reader   => { claims => { permissions => ['tasks:read'] } },
    lister   => { claims => { permissions => ['tasks:list'] } },
    expired  => { claims => { exp => $now - 600 } },
    tampered => { tamper => JSON::PP::true },
    unknown  => { claims => { permissions => ['tasks:read', 'tasks:fly'] } },
    bad_iss  => { claims => { iss => 'elsewhere' } },
    nbf      => { claims => { nbf => $now + 900 } },
    analyst  => { claims => { permissions => ['system:analytics_read'] } },
    with_kid => { header => { kid => 'kid-1' } },
    strict   => { claims => { permissions => ['tasks:read', 'tasks:bogus'] } },
);
$tok{garbage} = 'abc';

# /as/NAME locations send the request to /t with that credential, so one block can replay a
# whole mix of traffic against one nginx instance.
our $as = '';
for my $name (sort keys %tok) {
    $as .= "    location = /as/$name {\n        tasker_auth off;\n"
         . "        proxy_set_header Authorization \"Bearer $tok{$name}\";\n"
         . "        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/t;\n    }\n";
}
for my $k (['key_ok', 'metrics-key-1234567890'], ['key_bad', 'metrics-key-1234567891']) {
    $as .= "    location = /as/$k->[0] {\n        tasker_auth off;\n"
         . "        proxy_set_header X-API-Key \"$k->[1]\";\n"
         . "        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/t;\n    }\n";
}

sub series { my ($line) = @_; my $q = quotemeta $line; return "(?=.*^$q\$)" }

add_block_preprocessor(\&tasker_defaults);
add_response_body_check(\&prom_check);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: counters after a known mix of successes, failures and denials
--- config eval
$::as . '
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_api_keys_enabled on;
        tasker_api_key "metrics-key-1234567890" "tasks:read" "metrics-client";
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /metrics {
        tasker_auth off;
        tasker_auth_metrics;
    }
'
--- request eval
["GET /as/reader", "GET /as/lister", "GET /t", "GET /as/expired", "GET /as/tampered",
 "GET /as/garbage", "GET /as/unknown", "GET /as/key_ok", "GET /as/key_bad", "GET /as/bad_iss",
 "GET /as/nbf", "GET /metrics"]
--- error_code eval
[200, 403, 401, 401, 401, 401, 401, 200, 401, 401, 401, 200]
--- response_headers eval
["", "", "", "", "", "", "", "", "", "", "", "Content-Type: text/plain; version=0.0.4; charset=utf-8"]
--- response_body_like eval
[qr/backend/, qr/forbidden/, qr/Missing/, qr/Invalid/, qr/Invalid/, qr/Invalid/, qr/Invalid/,
 qr/backend/, qr/Invalid API key/, qr/Invalid/, qr/Invalid/,
 qr/(?sm)^${\ join '', map { ::series($_) } (
    'tasker_auth_requests_total{method="jwt",result="success"} 2',
    'tasker_auth_requests_total{method="jwt",result="failure"} 6',
    'tasker_auth_requests_total{method="api_key",result="success"} 1',
    'tasker_auth_requests_total{method="api_key",result="failure"} 1',
    'tasker_auth_failures_total{reason="missing"} 1',
    'tasker_auth_failures_total{reason="malformed"} 1',
    'tasker_auth_failures_total{reason="expired"} 1',
    'tasker_auth_failures_total{reason="not_yet_valid"} 1',
    'tasker_auth_failures_total{reason="invalid_signature"} 1',
    'tasker_auth_failures_total{reason="invalid_claims"} 1',
    'tasker_auth_failures_total{reason="unknown_key"} 0',
    'tasker_auth_failures_total{reason="unknown_permissions"} 1',
    'tasker_auth_failures_total{reason="invalid_api_key"} 1',
    'tasker_auth_failures_total{reason="keys_unavailable"} 0',
    'tasker_permission_denials_total{permission="tasks:read"} 1',
    'tasker_permission_denials_total{permission="tasks:create"} 0',
    'tasker_auth_jwt_verification_duration_milliseconds_count{result="success"} 2',
    'tasker_auth_jwt_verification_duration_milliseconds_count{result="failure"} 6',
    'tasker_auth_jwt_verification_duration_milliseconds_bucket{result="success",le="+Inf"} 2',
    '# TYPE tasker_auth_jwt_verification_duration_milliseconds histogram',
    '# TYPE tasker_auth_requests_total counter',
 ) }/]



=== TEST 2: the metrics location can itself be protected
--- config eval
$::as . '
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission system:analytics_read;
        tasker_auth_metrics;
    }
'
--- request eval
["GET /t", "GET /as/reader", "GET /as/analyst"]
--- error_code eval
[401, 403, 200]
--- response_body_like eval
[qr/Missing authentication credentials/, qr/system:analytics_read/,
 qr/^tasker_permission_denials_total\{permission="system:analytics_read"\} 1$/m]



=== TEST 3: only GET and HEAD are served
--- config
    location = /metrics {
        tasker_auth_metrics;
    }
--- request
POST /metrics
x
--- error_code: 405



=== TEST 4: a 403 for a method no rule covers counts as a denial (method_not_covered); a token at a JWKS location without keys is observed in the histogram
--- config eval
$::as . '
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission POST tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /nokeys {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/no-such-jwks;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /as/nokeys {
        tasker_auth off;
        proxy_set_header Authorization "Bearer ' . $::tok{with_kid} . '";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/nokeys;
    }
    location = /metrics {
        tasker_auth off;
        tasker_auth_metrics;
    }
'
--- request eval
["GET /as/reader", "GET /as/nokeys", "GET /metrics"]
--- error_code eval
[403, 503, 200]
--- response_body_like eval
[qr/No permission rule allows method GET/, qr/Authentication keys unavailable/,
 qr/(?sm)^${\ join '', map { ::series($_) } (
    'tasker_auth_requests_total{method="jwt",result="success"} 1',
    'tasker_auth_requests_total{method="jwt",result="failure"} 1',
    'tasker_permission_denials_total{permission="method_not_covered"} 1',
    'tasker_auth_failures_total{reason="keys_unavailable"} 1',
    'tasker_auth_jwt_verification_duration_milliseconds_count{result="success"} 1',
    'tasker_auth_jwt_verification_duration_milliseconds_count{result="failure"} 1',
    'tasker_auth_jwt_verification_duration_milliseconds_bucket{result="failure",le="0.005"} 1',
 ) }/]



=== TEST 5: a request counts once in each series however many checks its internal redirects run; a denial after a redirect still counts
--- config eval
'
    location = /idx {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:read;
        try_files /no-such-file @idx;
    }
    location @idx {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:read;
        rewrite ^ /_backend break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
    location = /a {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        try_files /no-such-file @create;
    }
    location @create {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:create;
        rewrite ^ /_backend break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
    location = /e {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        error_page 401 /err401;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /err401 {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /as-idx {
        tasker_auth off;
        proxy_set_header Authorization "Bearer ' . $::tok{reader} . '";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/idx;
    }
    location = /as-a {
        tasker_auth off;
        proxy_set_header Authorization "Bearer ' . $::tok{reader} . '";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/a;
    }
    location = /metrics {
        tasker_auth off;
        tasker_auth_metrics;
    }
'
--- request eval
["GET /as-idx", "GET /as-a", "GET /e", "GET /metrics"]
--- error_code eval
[200, 403, 401, 200]
--- raw_response_headers_unlike eval
[(qr/WWW-Authenticate.*WWW-Authenticate/is) x 4]
--- response_body_like eval
[qr/backend/, qr/Missing required permission: tasks:create/, qr/Missing authentication credentials/,
 qr/(?sm)^${\ join '', map { ::series($_) } (
    'tasker_auth_requests_total{method="jwt",result="success"} 2',
    'tasker_auth_requests_total{method="jwt",result="failure"} 0',
    'tasker_auth_failures_total{reason="missing"} 1',
    'tasker_permission_denials_total{permission="tasks:create"} 1',
    'tasker_auth_jwt_verification_duration_milliseconds_count{result="success"} 2',
    'tasker_auth_jwt_verification_duration_milliseconds_count{result="failure"} 0',
 ) }/]



=== TEST 6: a request that one location accepts and a later one rejects counts once as each
--- config eval
'
    location = /lax {
        tasker_auth on;
        tasker_strict_validation off;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        try_files /no-such-file @strict;
    }
    location @strict {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        rewrite ^ /_backend break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
    location = /as-lax {
        tasker_auth off;
        proxy_set_header Authorization "Bearer ' . $::tok{strict} . '";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/lax;
    }
    location = /metrics {
        tasker_auth off;
        tasker_auth_metrics;
    }
'
--- request eval
["GET /as-lax", "GET /metrics"]
--- error_code eval
[401, 200]
--- response_body_like eval
[qr/Invalid or expired token/,
 qr/(?sm)^${\ join '', map { ::series($_) } (
    'tasker_auth_requests_total{method="jwt",result="success"} 1',
    'tasker_auth_requests_total{method="jwt",result="failure"} 1',
    'tasker_auth_failures_total{reason="unknown_permissions"} 1',
    'tasker_auth_jwt_verification_duration_milliseconds_count{result="success"} 1',
    'tasker_auth_jwt_verification_duration_milliseconds_count{result="failure"} 1',
 ) }/]
