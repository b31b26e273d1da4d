# error_page (SPEC 4, issue 12 section 2): like auth_basic, the module hands 401, 403 and 503
# back to nginx when the location has an error_page for the status, so that page answers and a
# 401 keeps its challenge. Without one, the SPEC's JSON body is the default. gRPC requests keep
# their Trailers-Only answers.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

our %tok = tasker_tokens(
    reader => { claims => { permissions => ['tasks:read'] } },
    kid    => { claims => { permissions => ['tasks:read'] }, header => { kid => 'kid-rsa' } },
);

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: error_page 401 to a URI answers with that page, status 401 and the bare challenge
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        error_page 401 /denied.html;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /denied.html {
        root html;
    }
--- user_files
>>> denied.html
please log in
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker"
--- response_body
please log in



=== TEST 2: error_page 401 with a rejected token keeps error="invalid_token"
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        error_page 401 /denied.html;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /denied.html {
        root html;
    }
--- user_files
>>> denied.html
please log in
--- request
GET /t
--- more_headers
Authorization: Bearer not.a.token
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker", error="invalid_token"
--- response_body
please log in



=== TEST 3: error_page 403 answers a missing permission with its page
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:create;
        error_page 403 /forbidden.html;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /forbidden.html {
        root html;
    }
--- user_files
>>> forbidden.html
not for you
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 403
--- response_headers
!WWW-Authenticate
--- response_body
not for you
--- error_log
permission denied subject="alice@example.com" method=jwt required=tasks:create



=== TEST 4: error_page 401 403 = @login: the named location answers, the challenge stays
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        error_page 401 403 = @login;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location @login {
        return 200 "login page\n";
    }
--- request
GET /t
--- error_code: 200
--- response_headers
WWW-Authenticate: Bearer realm="tasker"
--- response_body
login page



=== TEST 5: the named location also answers a 403
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:create;
        error_page 401 403 = @login;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location @login {
        return 200 "login page\n";
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 200
--- response_body
login page



=== TEST 6: an error_page inherited from the server block applies
--- config
    error_page 401 /denied.html;
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /denied.html {
        root html;
    }
--- user_files
>>> denied.html
please log in
--- request
GET /t
--- error_code: 401
--- response_body
please log in



=== TEST 7: an error_page for another status leaves the JSON 401
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        error_page 404 403 /denied.html;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker"
Content-Type: application/json
--- response_body
{"error":"unauthorized","message":"Missing authentication credentials"}



=== TEST 8: without error_page a 403 is the JSON body
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 403
--- response_body
{"error":"forbidden","message":"Missing required permission: tasks:create"}



=== TEST 9: error_page 503 answers "keys unavailable" with its page and Retry-After
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/no-such-jwks.json;
        error_page 503 /busy.html;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /busy.html {
        root html;
    }
--- user_files
>>> busy.html
try again later
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{kid}"
--- error_code: 503
--- response_headers
Retry-After: 5
--- response_body
try again later



=== TEST 10: without error_page "keys unavailable" is the JSON 503
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/no-such-jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{kid}"
--- error_code: 503
--- response_headers
Retry-After: 5
--- response_body
{"error":"service_unavailable","message":"Authentication keys unavailable"}



=== TEST 11: over HTTP/1.1 a gRPC content type is an ordinary request: error_page 401 answers
gRPC's Trailers-Only rejection (HTTP 200), which error_page leaves alone, is for HTTP/2 calls
only (t/grpc/test_grpc.py checks it there).
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        error_page 401 403 = @login;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location @login {
        return 200 "login page\n";
    }
--- request
POST /t
--- more_headers
Content-Type: application/grpc
--- error_code: 200
--- raw_response_headers_unlike: grpc-status
--- response_body
login page



=== TEST 12: over HTTP/1.1 a gRPC content type gets the JSON 403, not a grpc-status
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
POST /t
--- more_headers eval
"Content-Type: application/grpc+proto\nAuthorization: Bearer $::tok{reader}"
--- error_code: 403
--- raw_response_headers_unlike: grpc-status
--- response_body
{"error":"forbidden","message":"Missing required permission: tasks:create"}
