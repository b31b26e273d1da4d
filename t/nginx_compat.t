# Behaving like nginx's own access modules (SPEC 4, issue 12 section 2): satisfy with
# allow/deny, internal redirects into protected locations, HEAD, HTTP/2, and a keep-alive
# connection that stays usable after a rejected request body.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

our %tok = tasker_tokens(
    reader => { claims => { permissions => ['tasks:read'] } },
);

# 64 KiB: larger than client_body_buffer_size and than any header buffer
our $big = 'x' x 65536;

# The real Test::Nginx (0.33) configures "--- http2" blocks with "http2 on;" for every nginx
# from 1.19.9, but nginx has that directive only since 1.25.1. Under it, on 1.19.9 to 1.25.0
# (Debian 12's 1.22, Ubuntu 24.04's 1.24), the HTTP/2 blocks are skipped; t/lib runs them.
sub h2_unavailable {
    no warnings 'once';
    my $v = $Test::Nginx::Util::NginxVersion // 0;
    return !$Test::Nginx::Util::TLibRunner && $v >= 1.019009 && $v < 1.025001;
}

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: satisfy any: an allowed address passes without a credential
--- config
    location = /t {
        satisfy any;
        allow 127.0.0.1;
        deny all;
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 200
--- response_body
backend GET subject= method= permissions=



=== TEST 2: satisfy any: a valid credential passes from a denied address
--- config
    location = /t {
        satisfy any;
        deny all;
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_set_header X-Subject $tasker_auth_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 200
--- response_body
backend GET subject=alice@example.com method= permissions=



=== TEST 3: satisfy any: neither the address nor a credential gives 401 with the challenge
--- config
    location = /t {
        satisfy any;
        deny all;
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker"



=== TEST 4: satisfy all (the default): deny all gives 403 even with a valid token
--- config
    location = /t {
        deny all;
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 403
--- error_log
access forbidden by rule



=== TEST 5: satisfy all: an allowed address still needs a credential
--- config
    location = /t {
        allow 127.0.0.1;
        deny all;
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["", "Authorization: Bearer $::tok{reader}"]
--- error_code eval
[401, 200]



=== TEST 6: rewrite ... last from a public location into a protected one is checked
--- config
    location /public/ {
        tasker_auth off;
        rewrite ^/public/(.*)$ /private/$1 last;
    }
    location /private/ {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:read;
        proxy_set_header X-Subject $tasker_auth_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request eval
["GET /public/x", "GET /public/x"]
--- more_headers eval
["", "Authorization: Bearer $::tok{reader}"]
--- error_code eval
[401, 200]
--- response_body eval
[qq({"error":"unauthorized","message":"Missing authentication credentials"}\n),
 "backend GET subject=alice\@example.com method= permissions=\n"]



=== TEST 7: try_files falling back to a protected named location is checked
--- config
    location /files/ {
        tasker_auth off;
        root html;
        try_files $uri @protected;
    }
    location @protected {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        rewrite ^ /_backend break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
--- user_files
>>> files/public.txt
public
--- request eval
["GET /files/public.txt", "GET /files/missing", "GET /files/missing"]
--- more_headers eval
["", "", "Authorization: Bearer $::tok{reader}"]
--- error_code eval
[200, 401, 200]



=== TEST 8: error_page internal redirect into a protected location is checked
--- config
    location /old/ {
        tasker_auth off;
        root html;
        error_page 404 = /private/moved;
    }
    location /private/ {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request eval
["GET /old/gone", "GET /old/gone"]
--- more_headers eval
["", "Authorization: Bearer $::tok{reader}"]
--- error_code eval
[401, 200]



=== TEST 9: X-Accel-Redirect from an upstream into an internal protected location is checked
--- config
    location = /download {
        tasker_auth off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_accel;
    }
    location = /_accel {
        tasker_auth off;
        add_header X-Accel-Redirect /protected/file;
        return 200;
    }
    location /protected/ {
        internal;
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request eval
["GET /download", "GET /download"]
--- more_headers eval
["", "Authorization: Bearer $::tok{reader}"]
--- error_code eval
[401, 200]



=== TEST 10: HEAD: 401 and 403 keep their headers and send no body; a granted HEAD passes
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission GET tasks:read;
        tasker_permission POST tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request eval
["HEAD /t", "HEAD /t", "HEAD /t"]
--- more_headers eval
["", "Authorization: Bearer $::tok{reader}", "Authorization: Bearer invalid"]
--- error_code eval
[401, 200, 401]
--- response_headers eval
["WWW-Authenticate: Bearer realm=\"tasker\"\nContent-Type: application/json",
 "!WWW-Authenticate",
 "WWW-Authenticate: Bearer realm=\"tasker\", error=\"invalid_token\""]
--- response_body eval
["", "", ""]



=== TEST 11: HEAD with a permission missing gives 403 without a body
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
HEAD /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 403
--- response_headers
Content-Type: application/json
--- response_body



=== TEST 12: HTTP/2: 401 with the challenge and the JSON body
--- http2
--- skip_eval: 4: main::h2_unavailable()
--- config
    location /h2/ {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:read;
        root html;
    }
--- user_files
>>> h2/data.txt
secret
--- request
GET /h2/data.txt
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker"
Content-Type: application/json
--- response_body
{"error":"unauthorized","message":"Missing authentication credentials"}



=== TEST 13: HTTP/2: a granted token reads the file, a missing permission gives 403
--- http2
--- skip_eval: 4: main::h2_unavailable()
--- config
    location /h2/ {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission GET tasks:read;
        tasker_permission POST tasks:create;
        root html;
    }
--- user_files
>>> h2/data.txt
secret
--- request eval
["GET /h2/data.txt", "POST /h2/data.txt"]
--- more_headers eval
["Authorization: Bearer $::tok{reader}", "Authorization: Bearer $::tok{reader}"]
--- error_code eval
[200, 403]
--- response_body eval
["secret\n", qq({"error":"forbidden","message":"Missing required permission: tasks:create"}\n)]



=== TEST 14: HTTP/2 HEAD gets the 401 headers without a body
--- http2
--- skip_eval: 3: main::h2_unavailable()
--- config
    location /h2/ {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        root html;
    }
--- request
HEAD /h2/data.txt
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker"
--- response_body



=== TEST 15: keep-alive: after a 401 to a POST with a 64 KiB body, the connection serves the next request
--- config
    client_body_buffer_size 1k;
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /next {
        tasker_auth off;
        return 200 "$request_method request $connection_requests on this connection\n";
    }
--- pipelined_requests eval
["POST /t\n$::big", "GET /next"]
--- error_code eval
[401, 200]
--- response_body eval
[qq({"error":"unauthorized","message":"Missing authentication credentials"}\n),
 "GET request 2 on this connection\n"]
--- no_error_log
[error]



=== TEST 16: keep-alive: after a 403 to a POST with a 64 KiB body, the connection serves the next request
--- config
    client_body_buffer_size 1k;
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission POST tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /next {
        tasker_auth off;
        return 200 "$request_method request $connection_requests on this connection\n";
    }
--- pipelined_requests eval
["POST /t\n$::big", "GET /next"]
--- more_headers eval
["Authorization: Bearer $::tok{reader}", ""]
--- error_code eval
[403, 200]
--- response_body eval
[qq({"error":"forbidden","message":"Missing required permission: tasks:create"}\n),
 "GET request 2 on this connection\n"]
--- no_error_log
[error]



=== TEST 17: keep-alive: a 401 to a chunked POST body leaves the connection usable
--- config
    client_body_buffer_size 1k;
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /next {
        tasker_auth off;
        return 200 "$request_method request $connection_requests on this connection\n";
    }
--- pipelined_requests eval
["POST /t\n" . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $::big, $::big), "GET /next"]
--- more_headers eval
["Transfer-Encoding: chunked", ""]
--- error_code eval
[401, 200]
--- response_body eval
[qq({"error":"unauthorized","message":"Missing authentication credentials"}\n),
 "GET request 2 on this connection\n"]



=== TEST 18: satisfy any: an auth_request that allows lets a request without a credential through
nginx's satisfy any passes a request when any access module allows it. The module used to answer
its 401 itself, so auth_request (which runs after it) was never asked.
--- config
    location = /t {
        satisfy any;
        auth_request /_yes;
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /_yes {
        internal;
        return 204;
    }
--- request
GET /t
--- error_code: 200
--- response_headers
!WWW-Authenticate
--- response_body
backend GET subject= method= permissions=



=== TEST 19: satisfy any: a valid auth_basic user passes without a bearer token, and without one it gets the module's 401, with both challenges
--- config
    location = /t {
        satisfy any;
        auth_basic "tasker";
        auth_basic_user_file ../html/htpasswd;
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- user_files
>>> htpasswd
ops:{PLAIN}s3cret
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Authorization: Basic b3BzOnMzY3JldA==", "Authorization: Basic b3BzOndyb25n"]
--- error_code eval
[200, 401]
--- raw_response_headers_like eval
[qr/^/, qr/WWW-Authenticate: Basic realm="tasker"\r\n.*WWW-Authenticate: Bearer realm="tasker"\r\n/s]
--- response_body eval
["backend GET subject= method= permissions=\n",
 qq({"error":"unauthorized","message":"Missing authentication credentials"}\n)]



=== TEST 20: satisfy any: when auth_request refuses too, the module's 403 answers, and a valid token passes
--- config
    location = /t {
        satisfy any;
        auth_request /_no;
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:create;
        proxy_set_header X-Subject $tasker_auth_subject;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /_no {
        internal;
        return 403;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 403
--- response_body
{"error":"forbidden","message":"Missing required permission: tasks:create"}



=== TEST 21: satisfy any: an error_page for the module's 401 still answers when no access module allows
--- config
    location = /t {
        satisfy any;
        auth_request /_no;
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        error_page 401 = @login;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /_no {
        internal;
        return 403;
    }
    location @login {
        tasker_auth off;
        return 200 "login page\n";
    }
--- request
GET /t
--- error_code: 200
--- response_body
login page
