# Bearer token verification (SPEC 3, 4, 8): every 401 cause, algorithms, bounds.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

my $now = time();
our %tok = tasker_tokens(
    valid        => { pyjwt => JSON::PP::true },
    expired      => { claims => { exp => $now - 120, iat => $now - 7200 } },
    in_leeway    => { claims => { exp => $now - 30 } },
    nbf_future   => { claims => { nbf => $now + 600 } },
    iat_future   => { claims => { iat => $now + 600 } },
    bad_iss      => { claims => { iss => 'someone-else' } },
    bad_aud      => { claims => { aud => 'other-api' } },
    aud_array    => { claims => { aud => ['x', 'tasker-api'] } },
    aud_mixed    => { claims => { aud => [1, 'tasker-api'] } },
    no_sub       => { drop => ['sub'] },
    no_exp       => { drop => ['exp'] },
    num_sub      => { claims => { sub => 42 } },
    tampered     => { tamper => JSON::PP::true },
    other_key    => { key => 'rsa2' },
    alg_none     => { alg => 'none' },
    hs256        => { alg => 'HS256' },
    ps256        => { alg => 'PS256' },
    es256        => { key => 'ec256' },
    eddsa        => { key => 'ed25519' },
    crit         => { header => { crit => ['exp'] } },
    jku          => { header => { jku => 'http://127.0.0.1:1/evil.json', kid => 'x' } },
    dup_claim    => { raw_claims => '{"sub":"a","sub":"b","iss":"tasker-core","aud":"tasker-api","iat":' . $now . ',"exp":' . ($now + 600) . '}' },
    dup_header   => { raw_header => '{"alg":"RS256","alg":"RS256"}' },
    deep         => { claims => { deep => [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]] } },
    perms_null   => { claims => { permissions => undef } },
    perms_number => { claims => { permissions => 7 } },
    perms_mixed  => { claims => { permissions => ['tasks:read', 1] } },
    unknown_perm => { claims => { permissions => ['tasks:read', 'tasks:destroy'] } },
    three_dots   => { segments => 'abc.def' },
    padded       => { segments => 'eyJhbGciOiJSUzI1NiJ9=.e30.AA' },
    big          => { claims => { filler => 'x' x 9000 } },
);

# Comments around the one key of a key file are common (OpenSSL's reader skips them) and stay
# accepted; only a second PEM block is refused (t/config_errors.t).
{
    my $keys = $ENV{TEST_NGINX_KEYS};
    open my $fh, '>', "$keys/rsa-public-commented.pem" or die "$keys: $!\n";
    print $fh "# tasker-core signing key, public half\n# rotated 2026-12-01\n\n",
              tasker_slurp("$keys/rsa-public.pem"), "\n# end of key\n";
    close $fh;
}

# Blocks without --- config get the plain protected location below: an RS256 public key and no
# permission rules, proxying to the /_backend echo.
our $protected = <<'NGX';
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
NGX

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $::protected) unless defined $block->config;
    tasker_defaults($block);
});
no_shuffle();
run_tests();

__DATA__

=== TEST 1: valid RS256 token from PyJWT reaches the backend
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{valid}"
--- error_code: 200
--- response_body
backend GET subject= method= permissions=



=== TEST 2: no credentials gives 401 with a bare challenge
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker"
Content-Type: application/json
--- response_body
{"error":"unauthorized","message":"Missing authentication credentials"}



=== TEST 3: Basic scheme counts as no bearer token
--- request
GET /t
--- more_headers
Authorization: Basic dXNlcjpwYXNz
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker"
--- response_body
{"error":"unauthorized","message":"Missing authentication credentials"}



=== TEST 4: Bearer without a space is another scheme, so absent
--- request
GET /t
--- more_headers eval
"Authorization: Bearer$::tok{valid}"
--- error_code: 401
--- response_body
{"error":"unauthorized","message":"Missing authentication credentials"}



=== TEST 5: Bearer with an empty token is an invalid token
--- request
GET /t
--- more_headers
Authorization: Bearer 
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker", error="invalid_token"
--- response_body
{"error":"unauthorized","message":"Invalid or expired token"}



=== TEST 6: the scheme is case-insensitive
--- request
GET /t
--- more_headers eval
"Authorization: bEaReR $::tok{valid}"
--- error_code: 200



=== TEST 7: expired token is rejected and the reason logged, not the token
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{expired}"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker", error="invalid_token"
--- response_body
{"error":"unauthorized","message":"Invalid or expired token"}
--- error_log
tasker_auth: authentication failed method=jwt reason=expired status=token_expired
--- no_error_log eval
[substr($::tok{expired}, -40), qr/eyJ/]



=== TEST 8: expiry within the leeway is accepted
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{in_leeway}"
--- error_code: 200



=== TEST 9: expiry within the leeway is rejected when the leeway is smaller
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_leeway 10s;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{in_leeway}"
--- error_code: 401



=== TEST 10: nbf in the future is rejected
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{nbf_future}"
--- error_code: 401
--- error_log
reason=not_yet_valid



=== TEST 11: iat in the future is rejected
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{iat_future}"
--- error_code: 401



=== TEST 12: wrong issuer is rejected
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{bad_iss}"
--- error_code: 401
--- error_log
reason=invalid_claims status=token_bad_issuer



=== TEST 13: a configured issuer is required
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_issuer someone-else;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{bad_iss}"
--- error_code: 200



=== TEST 14: wrong audience is rejected
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{bad_aud}"
--- error_code: 401
--- error_log
status=token_bad_audience



=== TEST 15: an audience array containing ours is accepted
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{aud_array}"
--- error_code: 200



=== TEST 16: missing sub is rejected
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{no_sub}"
--- error_code: 401
--- error_log
reason=invalid_claims status=token_missing_claim



=== TEST 17: missing exp is rejected
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{no_exp}"
--- error_code: 401



=== TEST 18: a numeric sub is a wrongly typed claim
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{num_sub}"
--- error_code: 401
--- error_log
status=token_bad_claim_type



=== TEST 19: a tampered signature is rejected
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{tampered}"
--- error_code: 401
--- error_log
reason=invalid_signature status=token_bad_signature



=== TEST 20: a token signed by another key is rejected
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{other_key}"
--- error_code: 401



=== TEST 21: alg none never verifies
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{alg_none}"
--- error_code: 401
--- error_log
status=token_alg_not_allowed



=== TEST 22: HS256 never verifies (no key confusion with the public key)
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{hs256}"
--- error_code: 401
--- error_log
status=token_alg_not_allowed



=== TEST 23: PS256 is refused by default
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{ps256}"
--- error_code: 401



=== TEST 23b: PS256 is accepted when allowed
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_allowed_algorithms RS256 PS256;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{ps256}"
--- error_code: 200



=== TEST 24: ES256 with an EC P-256 key
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
"Authorization: Bearer $::tok{es256}"
--- error_code: 200



=== TEST 25: EdDSA with an Ed25519 key
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_allowed_algorithms EdDSA;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/ed25519-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{eddsa}"
--- error_code: 200



=== TEST 26: PKCS#1 RSA public key file
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-pkcs1-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{valid}"
--- error_code: 200



=== TEST 27: a crit header is rejected
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{crit}"
--- error_code: 401
--- error_log
status=token_crit_unsupported



=== TEST 28: jku and kid in the header are ignored in public-key mode
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{jku}"
--- error_code: 200



=== TEST 29: duplicate claims are rejected
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{dup_claim}"
--- error_code: 401
--- error_log
status=token_duplicate_member



=== TEST 30: duplicate header members are rejected
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{dup_header}"
--- error_code: 401



=== TEST 31: JSON nested deeper than 16 is rejected
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{deep}"
--- error_code: 401
--- error_log
reason=malformed



=== TEST 32: permissions null is rejected
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{perms_null}"
--- error_code: 401
--- error_log
status=token_bad_permissions_claim



=== TEST 33: permissions as a number is rejected
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{perms_number}"
--- error_code: 401



=== TEST 34: a permissions array holding a non-string is rejected
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{perms_mixed}"
--- error_code: 401



=== TEST 35: strict validation rejects an unknown permission and logs it
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{unknown_perm}"
--- error_code: 401
--- error_log
tasker_auth: unknown permissions subject="alice@example.com" permissions="tasks:destroy"
reason=unknown_permissions



=== TEST 36: strict validation off keeps the unknown string, which grants nothing
--- config
    location = /t {
        tasker_auth on;
        tasker_strict_validation off;
        tasker_permission tasks:read;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{unknown_perm}"
--- error_code: 200



=== TEST 37: two segments are malformed
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{three_dots}"
--- error_code: 401
--- error_log
reason=malformed



=== TEST 38: padded base64url is rejected
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{padded}"
--- error_code: 401



=== TEST 39: a token over 8 KiB is rejected by the module
--- log_level: info
--- http_config
    large_client_header_buffers 4 32k;
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{big}"
--- error_code: 401
--- error_log
status=token_too_large



=== TEST 40: success is logged at info with subject and method, without the token
--- log_level: info
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{valid}"
--- error_code: 200
--- error_log
tasker_auth: authenticated subject="alice@example.com" method=jwt
--- no_error_log eval
[substr($::tok{valid}, -40), qr/eyJ/]



=== TEST 41: success lines can be silenced with tasker_auth_success_log_level off
--- log_level: info
--- config
    location = /t {
        tasker_auth on;
        tasker_auth_success_log_level off;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{valid}"
--- error_code: 200
--- no_error_log
tasker_auth: authenticated



=== TEST 42: comments around the one key of a key file are ignored
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public-commented.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{valid}"
--- error_code: 200
--- response_body
backend GET subject= method= permissions=



=== TEST 43: an aud array holding a non-string is a wrongly typed claim, even beside a match
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{aud_mixed}"
--- error_code: 401
--- error_log
status=token_bad_claim_type
