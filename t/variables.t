# Variables (SPEC 5, 8): identity passed upstream with proxy_set_header.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

our %tok = tasker_tokens(
    full => { claims => { sub => 'svc-reporting', permissions => ['tasks:read', 'dlq:*', 'tasks:list'],
                          tenant => 'acme', level => 3, admin => JSON::PP::true, ratio => 0.5,
                          groups => ['a', 'b'], mixed => ['a', 1], obj => { k => 'v' } } },
    crlf => { claims => { sub => "eve\r\nX-Evil: 1", note => "a\r\nX-Evil: 2" } },
    empties => { claims => { sub => 'svc-reporting', permissions => ['', '', 'tasks:read', ''] } },
);

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: subject, method and permissions in credential order reach the upstream
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_set_header X-Subject $tasker_auth_subject;
        proxy_set_header X-Auth-Method $tasker_auth_method;
        proxy_set_header X-Permissions $tasker_auth_permissions;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- error_code: 200
--- response_body
backend GET subject=svc-reporting method=jwt permissions=tasks:read,dlq:*,tasks:list



=== TEST 2: claim variables render strings, numbers, booleans, arrays and objects
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_set_header X-Claims "$tasker_jwt_claim_tenant|$tasker_jwt_claim_level|$tasker_jwt_claim_admin|$tasker_jwt_claim_groups|$tasker_jwt_claim_mixed|$tasker_jwt_claim_obj|$tasker_jwt_claim_ratio|$tasker_jwt_claim_missing|$tasker_jwt_claim_iss";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_claims;
    }
    location = /_claims {
        tasker_auth off;
        return 200 "$http_x_claims\n";
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- error_code: 200
--- response_body
acme|3|true|a,b|["a",1]|{"k":"v"}|0.5||tasker-core



=== TEST 3: variables are empty in a tasker_auth off location
--- config
    location = /t {
        tasker_auth off;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_set_header X-Subject $tasker_auth_subject;
        proxy_set_header X-Auth-Method $tasker_auth_method;
        proxy_set_header X-Permissions $tasker_auth_permissions;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- error_code: 200
--- response_body
backend GET subject= method= permissions=



=== TEST 4: CR and LF in a claim cannot split an upstream header
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_set_header X-Claims "$tasker_auth_subject|$tasker_jwt_claim_note";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_claims;
    }
    location = /_claims {
        tasker_auth off;
        return 200 "$http_x_claims|$http_x_evil\n";
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{crlf}"
--- error_code: 200
--- response_body
eve??X-Evil: 1|a??X-Evil: 2|



=== TEST 5: with strict validation off, empty permission strings keep their place in $tasker_auth_permissions
--- config
    location = /t {
        tasker_auth on;
        tasker_strict_validation off;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_set_header X-Permissions $tasker_auth_permissions;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{empties}"
--- error_code: 200
--- response_body
backend GET subject= method= permissions=,,tasks:read,
