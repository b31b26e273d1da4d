# tasker_permission (SPEC 2, 8): required permissions, wildcards, method rules, HEAD, fail closed.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

our %tok = tasker_tokens(
    creator  => { claims => { permissions => ['tasks:create', 'tasks:read'] } },
    reader   => { claims => { permissions => ['tasks:read'] } },
    tasks_wc => { claims => { permissions => ['tasks:*'] } },
    super    => { claims => { permissions => ['*'] } },
    steps_wc => { claims => { permissions => ['steps:*'] } },
    fake_wc  => { claims => { permissions => ['tasks:c*', '*:read', 'Tasks:read'] } },
    none     => { drop => ['permissions'] },
    scope    => { claims => { scope => 'tasks:read tasks:list' }, drop => ['permissions'] },
);

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: missing permission gives 403 with the exact body, logged with the subject
--- log_level: info
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
--- response_headers
Content-Type: application/json
!WWW-Authenticate
--- response_body
{"error":"forbidden","message":"Missing required permission: tasks:create"}
--- error_log
tasker_auth: permission denied subject="alice@example.com" method=jwt required=tasks:create



=== TEST 2: the granted permission passes
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
"Authorization: Bearer $::tok{creator}"
--- error_code: 200



=== TEST 3: all permissions of a rule are required; the first missing one is named
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:read dlq:read steps:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{creator}"
--- error_code: 403
--- response_body
{"error":"forbidden","message":"Missing required permission: dlq:read"}



=== TEST 4: every applicable rule must be satisfied, in rule order
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:read;
        tasker_permission tasks:list;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{creator}"
--- error_code: 403
--- response_body
{"error":"forbidden","message":"Missing required permission: tasks:list"}



=== TEST 5: a resource wildcard grants that resource
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:cancel tasks:context_read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{tasks_wc}"
--- error_code: 200



=== TEST 6: a resource wildcard grants nothing of another resource
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission dlq:stats;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{steps_wc}"
--- error_code: 403
--- response_body
{"error":"forbidden","message":"Missing required permission: dlq:stats"}



=== TEST 7: the superuser wildcard grants everything
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission system:config_read worker:templates_read dlq:update;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{super}"
--- error_code: 200



=== TEST 8: partial wildcards and wrong case grant nothing (strict off)
--- config
    location = /t {
        tasker_auth on;
        tasker_strict_validation off;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{fake_wc}"
--- error_code: 403



=== TEST 9: partial wildcards are unknown strings under strict validation
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{fake_wc}"
--- error_code: 401



=== TEST 10: method rules: POST needs tasks:create
--- config
    location = /v1/tasks {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission POST tasks:create;
        tasker_permission GET tasks:list;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
POST /v1/tasks
{"name":"x"}
--- more_headers eval
"Authorization: Bearer $::tok{creator}"
--- error_code: 200
--- response_body
backend POST subject= method= permissions=



=== TEST 11: method rules: GET needs tasks:list
--- config
    location = /v1/tasks {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission POST tasks:create;
        tasker_permission GET tasks:list;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /v1/tasks
--- more_headers eval
"Authorization: Bearer $::tok{creator}"
--- error_code: 403
--- response_body
{"error":"forbidden","message":"Missing required permission: tasks:list"}



=== TEST 12: a method no rule covers is denied (fail closed)
--- log_level: info
--- config
    location = /v1/tasks {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission POST tasks:create;
        tasker_permission GET tasks:list;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
PUT /v1/tasks
{}
--- more_headers eval
"Authorization: Bearer $::tok{super}"
--- error_code: 403
--- response_body
{"error":"forbidden","message":"No permission rule allows method PUT"}
--- error_log
no permission rule allows method PUT



=== TEST 13: HEAD follows the GET rules
--- config
    location = /v1/tasks {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission POST tasks:create;
        tasker_permission GET tasks:list;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
HEAD /v1/tasks
--- more_headers eval
"Authorization: Bearer $::tok{creator}"
--- error_code: 403



=== TEST 14: HEAD uses only the HEAD rules when one names HEAD
--- config
    location = /v1/tasks {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission GET tasks:list;
        tasker_permission HEAD tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
HEAD /v1/tasks
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 200



=== TEST 15: a method-less rule applies to every method
--- config
    location = /v1/tasks {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:read;
        tasker_permission POST tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
DELETE /v1/tasks
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 200



=== TEST 16: several methods in one rule
--- config
    location = /v1/tasks {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission PUT PATCH tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
PATCH /v1/tasks
{}
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 403
--- response_body
{"error":"forbidden","message":"Missing required permission: tasks:create"}



=== TEST 17: no rules: any authenticated credential passes
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{none}"
--- error_code: 200



=== TEST 18: an absent permissions claim is an empty list
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{none}"
--- error_code: 403



=== TEST 19: tasker_permissions_claim reads an OAuth-style scope string
--- config
    location = /t {
        tasker_auth on;
        tasker_permissions_claim scope;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:read tasks:list;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{scope}"
--- error_code: 200



=== TEST 20: CORS preflight passes without credentials
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission POST tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
OPTIONS /t
--- more_headers
Origin: https://ui.example.com
Access-Control-Request-Method: POST
--- error_code: 200
--- response_body
backend OPTIONS subject= method= permissions=



=== TEST 21: OPTIONS without the preflight headers is not a preflight
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
OPTIONS /t
--- more_headers
Origin: https://ui.example.com
--- error_code: 401



=== TEST 21b: an OPTIONS request with a body is not a preflight (a browser's never has one)
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission POST tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
OPTIONS /t
{"name":"x"}
--- more_headers
Origin: https://ui.example.com
Access-Control-Request-Method: POST
--- error_code: 401
--- response_body
{"error":"unauthorized","message":"Missing authentication credentials"}



=== TEST 21c: nor is one with a Content-Type (a gRPC call sent as OPTIONS would reach tonic)
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission POST tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
OPTIONS /t
--- more_headers
Origin: https://ui.example.com
Access-Control-Request-Method: POST
Content-Type: application/grpc
--- error_code: 401
--- response_body
{"error":"unauthorized","message":"Missing authentication credentials"}



=== TEST 22: a WebDAV method rule: PROPFIND needs its own permission
--- config
    location = /v1/tasks {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission GET tasks:read;
        tasker_permission PROPFIND MKCOL tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
PROPFIND /v1/tasks
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 403
--- response_body
{"error":"forbidden","message":"Missing required permission: tasks:create"}



=== TEST 23: a WebDAV method rule passes the credential that holds it
--- config
    location = /v1/tasks {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission GET tasks:read;
        tasker_permission PROPFIND MKCOL tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
MKCOL /v1/tasks
--- more_headers eval
"Authorization: Bearer $::tok{creator}"
--- error_code: 200
--- response_body
backend MKCOL subject= method= permissions=



=== TEST 24: a WebDAV method no rule names is not covered
--- config
    location = /v1/tasks {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission GET tasks:read;
        tasker_permission PROPFIND MKCOL tasks:create;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
PROPPATCH /v1/tasks
--- more_headers eval
"Authorization: Bearer $::tok{super}"
--- error_code: 403
--- response_body
{"error":"forbidden","message":"No permission rule allows method PROPPATCH"}



=== TEST 25: rules in a location where tasker_auth is off (forgotten) warn: the location is public
--- config
    tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
    location = /v1/tasks {
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /v1/tasks
--- error_code: 200
--- error_log
tasker_permission is set in location "/v1/tasks", but tasker_auth is off there, so its rules are not enforced and every request passes: add "tasker_auth on;"



=== TEST 26: ... named as a file's key when a tasker file turns it off (tasker's own default)
--- user_files
>>> auth.toml
[auth]
enabled = false
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-public.pem"
--- config
    location = /v1/tasks {
        tasker_auth_config ../html/auth.toml;
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /v1/tasks
--- error_code: 200
--- error_log eval
qr/tasker_permission is set in location "\/v1\/tasks", but tasker_auth_config \S*auth\.toml:2: enabled is false, so its rules are not enforced and every request passes/



=== TEST 27: no warning for rules a server declares for its locations, nor for inherited ones
--- config
    tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
    tasker_permission tasks:read;
    location = /health {
        return 204;
    }
    location /v1/ {
        tasker_permission tasks:list;
        location /v1/tasks {
            tasker_auth on;
            proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
        }
    }
--- request
GET /health
--- error_code: 204
--- no_error_log
are not enforced
