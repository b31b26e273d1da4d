# Subrequests (SPEC 4): nginx skips the access phase for subrequests (auth_request, SSI,
# mirror), as for auth_basic. And the module as the authorizer behind auth_request: a
# second server where the check runs as a main request answers 204 or 401/403, and exports
# the identity as response headers for auth_request_set.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

our %tok = tasker_tokens(
    reader  => { claims => { permissions => ['tasks:read'] } },
    creator => { claims => { sub => 'svc-writer', permissions => ['tasks:read', 'tasks:create'] } },
);

# The authorizer: its own server, so that the check runs in a main request's access phase.
# try_files ... =204 answers in the precontent phase, after the check (a `return 204` would
# answer in the rewrite phase, before it).
our $authorizer = <<'NGX';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        add_header X-Tasker-Subject     $tasker_auth_subject;
        add_header X-Tasker-Auth-Method $tasker_auth_method;
        add_header X-Tasker-Permissions $tasker_auth_permissions;

        location /api/tasks {
            tasker_permission GET  tasks:read;
            tasker_permission POST tasks:create;
            try_files /.tasker-authorized =204;
        }
        location / {
            try_files /.tasker-authorized =204;
        }
    }
NGX

# The protected API, in the test server: every request asks the authorizer first.
our $api = <<'NGX';
    location /api/ {
        auth_request /_tasker_auth;
        auth_request_set $tasker_subject     $upstream_http_x_tasker_subject;
        auth_request_set $tasker_method      $upstream_http_x_tasker_auth_method;
        auth_request_set $tasker_permissions $upstream_http_x_tasker_permissions;
        proxy_set_header X-Subject     $tasker_subject;
        proxy_set_header X-Auth-Method $tasker_method;
        proxy_set_header X-Permissions $tasker_permissions;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /_tasker_auth {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1$request_uri;
        proxy_method $request_method;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }
NGX

# "--- config" AUTHORIZER stands for both (preprocessors run last-added first, so the
# tasker_defaults /_backend location is already appended here).
add_block_preprocessor(sub {
    my $block = shift;
    my $config = $block->config;
    if (defined $config && $config =~ s/^\s*AUTHORIZER\s*$/$::api/m) {
        $block->set_value('http_config', $::authorizer);
        $block->set_value('config', $config);
    }
});
add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: auth_request: a subrequest to a tasker_auth location is not checked, as for auth_basic
--- config
    location = /t {
        auth_request /_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /_sub {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 200
--- no_error_log
tasker_auth:



=== TEST 2: SSI: an included tasker_auth location is not checked (protect the including page)
--- config
    location = /page.html {
        tasker_auth off;
        ssi on;
        root html;
    }
    location = /secret {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- user_files
>>> page.html
[<!--# include virtual="/secret" -->]
--- request
GET /page.html
--- error_code: 200
--- response_body
[backend GET subject= method= permissions=
]



=== TEST 3: behind auth_request: no credentials give 401 with the challenge
--- config
AUTHORIZER
--- request
GET /api/tasks
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker"



=== TEST 4: behind auth_request: an invalid token gives 401 with error="invalid_token"
--- config
AUTHORIZER
--- request
GET /api/tasks
--- more_headers
Authorization: Bearer not.a.token
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="tasker", error="invalid_token"



=== TEST 5: behind auth_request: a missing permission gives 403, using the original method
--- config
AUTHORIZER
--- request
POST /api/tasks
{"name":"x"}
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 403



=== TEST 6: behind auth_request: granted; the upstream sees the identity exported by the authorizer
--- config
AUTHORIZER
--- request eval
["GET /api/tasks", "POST /api/tasks\n{\"name\":\"x\"}"]
--- more_headers eval
["Authorization: Bearer $::tok{reader}", "Authorization: Bearer $::tok{creator}"]
--- error_code eval
[200, 200]
--- response_body eval
["backend GET subject=alice\@example.com method=jwt permissions=tasks:read\n",
 "backend POST subject=svc-writer method=jwt permissions=tasks:read,tasks:create\n"]



=== TEST 7: behind auth_request: identity headers sent by the client do not reach the upstream
--- config
AUTHORIZER
--- request
GET /api/other
--- more_headers eval
"Authorization: Bearer $::tok{reader}\nX-Subject: forged\nX-Tasker-Subject: forged"
--- error_code: 200
--- response_body
backend GET subject=alice@example.com method=jwt permissions=tasks:read



=== TEST 8: behind auth_request: a gRPC content type does not turn the authorizer's 401 into a 200
The authorizer is reached over HTTP/1.x with the client's Content-Type. A gRPC rejection is an
HTTP 200 with grpc-status, which auth_request would read as "allow": it is sent over HTTP/2 only.
--- config
AUTHORIZER
--- request eval
["GET /api/tasks", "GET /api/tasks", "GET /api/tasks"]
--- more_headers eval
["Content-Type: application/grpc", "Content-Type: Application/GRPC+proto\nAuthorization: Bearer x.y.z",
 "Content-Type: application/grpc-web"]
--- error_code eval
[401, 401, 401]



=== TEST 9: behind auth_request: a gRPC content type does not turn the authorizer's 403 into a 200
--- config
AUTHORIZER
--- request
POST /api/tasks
{"name":"x"}
--- more_headers eval
"Content-Type: application/grpc\nAuthorization: Bearer $::tok{reader}"
--- error_code: 403
--- response_body_unlike: backend



=== TEST 10: mirror: the mirror subrequest to a tasker_auth location is not checked either
--- config
    location = /t {
        tasker_auth off;
        mirror /_mirror;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /_mirror {
        internal;
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_http_version 1.0;  # the default became 1.1 in nginx 1.29; the log line names it
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_mirrored;
    }
    location = /_mirrored {
        tasker_auth off;
        return 200 "mirrored\n";
    }
--- request
GET /t
--- error_code: 200
--- wait: 0.2
--- access_log
"GET /_mirrored HTTP/1.0" 200
--- no_error_log
tasker_auth:
