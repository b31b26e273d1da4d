# Inheritance http -> server -> location, public locations, disabled mode (SPEC 2, 8).
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

our %tok = tasker_tokens(
    reader => { claims => { permissions => ['tasks:read'] } },
    lister => { claims => { permissions => ['tasks:list'] } },
    other  => { claims => { iss => 'other-issuer', permissions => ['tasks:read'] } },
);

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: security is off by default
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 200



=== TEST 2: server-level settings are inherited by locations
--- config
    tasker_auth on;
    tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
    location = /t {
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 200



=== TEST 3: server-level auth protects locations without their own setting
--- config
    tasker_auth on;
    tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 401



=== TEST 4: off in location overrides server
--- config
    tasker_auth on;
    tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
    location = /health {
        tasker_auth off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /health
--- error_code: 200



=== TEST 5: public location with return works since nothing is checked there
--- config
    tasker_auth on;
    tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
    location = /health/detailed {
        tasker_auth off;
        return 200 "healthy\n";
    }
--- request
GET /health/detailed
--- error_code: 200
--- response_body
healthy



=== TEST 6: http-level settings reach servers and locations
--- http_config
    tasker_auth on;
    tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
    tasker_jwt_issuer other-issuer;
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /_backend {
        tasker_auth off;
        return 200 "ok\n";
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{other}"
--- error_code: 200



=== TEST 7: a location overrides an inherited issuer
--- config
    tasker_auth on;
    tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
    tasker_jwt_issuer other-issuer;
    location = /t {
        tasker_jwt_issuer tasker-core;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{other}"
--- error_code: 401



=== TEST 8: server rules are inherited by a location without rules
--- config
    tasker_auth on;
    tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
    tasker_permission tasks:list;
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 403
--- response_body
{"error":"forbidden","message":"Missing required permission: tasks:list"}



=== TEST 9: location rules replace the server's rules, they do not extend them
--- config
    tasker_auth on;
    tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
    tasker_permission tasks:list;
    location = /t {
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 200



=== TEST 10: nested location inherits from its parent location
--- config
    tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
    location /v1/ {
        tasker_auth on;
        tasker_permission tasks:list;
        location /v1/tasks {
            proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
        }
    }
--- request
GET /v1/tasks
--- more_headers eval
"Authorization: Bearer $::tok{lister}"
--- error_code: 200



=== TEST 11: the key can be replaced per location
--- config
    tasker_auth on;
    tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa2-public.pem;
    location = /t {
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 200



=== TEST 12: a location may switch an inherited JWKS setup to a public key (the URL is unused)
--- config
    tasker_auth on;
    tasker_jwt_verification_method jwks;
    tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks-unused;
    location = /t {
        tasker_jwt_verification_method public_key;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{reader}"
--- error_code: 200
