# tasker_jwt_claim_set (SPEC 2, 5): a claim, by its exact name (upper-case letters kept) or a
# dotted path into nested objects, in a variable the operator names; configuration errors.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

our %tok = tasker_tokens(
    rich => { claims => {
        tenantId     => 'acme',
        tenantid     => 'lower-case twin',
        realm_access => { roles => ['admin', 'user'], level => 2,
                          deep => { flag => JSON::PP::true, list => ['a', 1] } },
        resource_access => { 'tasker-api' => { roles => ['tasks-reader'] } },
        groups       => ['ops', 'dev'],
        'https://tasker.example/tenant' => 'namespaced',
        note         => "a\r\nX-Evil: 1",
    } },
    plain => {},
);

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: an upper-case claim name is looked up exactly; the prefix variable lower-cases it (twice: the second is a verified-token cache hit)
--- http_config
    tasker_jwt_claim_set $tenant tenantId;
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_set_header X-Claims "$tenant|$tasker_jwt_claim_tenantId";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_claims;
    }
    location = /_claims {
        tasker_auth off;
        return 200 "$http_x_claims\n";
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
"Authorization: Bearer $::tok{rich}"
--- response_body eval
["acme|lower-case twin\n", "acme|lower-case twin\n"]



=== TEST 2: nested paths: arrays of strings comma-joined, numbers, booleans, mixed arrays as JSON
--- http_config
    tasker_jwt_claim_set $roles     realm_access.roles;
    tasker_jwt_claim_set $level     realm_access.level;
    tasker_jwt_claim_set $flag      realm_access.deep.flag;
    tasker_jwt_claim_set $mixed     realm_access.deep.list;
    tasker_jwt_claim_set $api_roles resource_access.tasker-api.roles;
    tasker_jwt_claim_set $deep      realm_access.deep;
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_set_header X-Claims "$roles|$level|$flag|$mixed|$api_roles|$deep";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_claims;
    }
    location = /_claims {
        tasker_auth off;
        return 200 "$http_x_claims\n";
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rich}"
--- response_body
admin,user|2|true|["a",1]|tasks-reader|{"flag":true,"list":["a",1]}



=== TEST 3: a top-level array, a namespaced claim with escaped dots, and the registered claims
--- http_config
    tasker_jwt_claim_set $groups groups;
    tasker_jwt_claim_set $ns     "https://tasker\.example/tenant";
    tasker_jwt_claim_set $Issuer iss;
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_set_header X-Claims "$groups|$ns|$issuer";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_claims;
    }
    location = /_claims {
        tasker_auth off;
        return 200 "$http_x_claims\n";
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rich}"
--- response_body
ops,dev|namespaced|tasker-core



=== TEST 4: absent claims, absent nested members and paths through non-objects are empty
--- http_config
    tasker_jwt_claim_set $a missing;
    tasker_jwt_claim_set $b realm_access.missing;
    tasker_jwt_claim_set $c tenantId.x;
    tasker_jwt_claim_set $d groups.0;
    tasker_jwt_claim_set $e TENANTID;
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_set_header X-Claims "[$a|$b|$c|$d|$e]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_claims;
    }
    location = /_claims {
        tasker_auth off;
        return 200 "$http_x_claims\n";
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::tok{rich}", "Authorization: Bearer $::tok{plain}"]
--- response_body eval
["[||||]\n", "[||||]\n"]



=== TEST 5: CR and LF in a claim cannot split an upstream header
--- http_config
    tasker_jwt_claim_set $note note;
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_set_header X-Claims "$note";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_claims;
    }
    location = /_claims {
        tasker_auth off;
        return 200 "$http_x_claims|$http_x_evil\n";
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rich}"
--- response_body
a??X-Evil: 1|



=== TEST 6: empty in a tasker_auth off location, without a token, and for an API key
--- http_config
    tasker_jwt_claim_set $tenant tenantId;
--- config
    location = /off {
        tasker_auth off;
        proxy_set_header X-Claims "[$tenant]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_claims;
    }
    location = /key {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        proxy_set_header X-Claims "[$tenant]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_claims;
    }
    location = /_claims {
        tasker_auth off;
        return 200 "$http_x_claims\n";
    }
--- request eval
["GET /off", "GET /key"]
--- more_headers eval
["Authorization: Bearer $::tok{rich}", "X-API-Key: ci-key-abcdefghijklmnop"]
--- response_body eval
["[]\n", "[]\n"]



=== TEST 7: usable in log formats and at server level, like any variable
--- http_config
    tasker_jwt_claim_set $tenant tenantId;
    log_format tenant "tenant=$tenant uri=$uri";
--- config
    access_log logs/access.log tenant;
    proxy_set_header X-Claims "$tenant";
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_claims;
    }
    location = /_claims {
        tasker_auth off;
        return 200 "$http_x_claims\n";
    }
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rich}"
--- response_body
acme
--- access_log
tenant=acme uri=/t



=== TEST 8: not allowed in server or location blocks
--- config
    tasker_jwt_claim_set $tenant tenantId;
--- must_die
--- error_log
"tasker_jwt_claim_set" directive is not allowed here



=== TEST 9: the variable needs a leading $
--- http_config
    tasker_jwt_claim_set tenant tenantId;
--- config
--- must_die
--- error_log
tasker_jwt_claim_set "tenant": the first argument must be a variable name starting with '$'



=== TEST 10: a variable name with characters nginx cannot reference
--- http_config
    tasker_jwt_claim_set $tenant-id tenantId;
--- config
--- must_die
--- error_log
tasker_jwt_claim_set "$tenant-id": a variable name has only letters, digits and '_'



=== TEST 11: the same variable twice
--- http_config
    tasker_jwt_claim_set $tenant tenantId;
    tasker_jwt_claim_set $Tenant tenant_id;
--- config
--- must_die
--- error_log
tasker_jwt_claim_set "$Tenant": duplicate variable, already set by tasker_jwt_claim_set



=== TEST 12: a variable that nginx or another directive already defines
--- http_config
    map $uri $tenant { default x; }
    tasker_jwt_claim_set $tenant tenantId;
--- config
--- must_die
--- error_log
tasker_jwt_claim_set "$tenant": the variable is already defined elsewhere (set, map, a module)



=== TEST 13: set cannot overwrite a claim variable
--- http_config
    tasker_jwt_claim_set $tenant tenantId;
--- config
    location = /t {
        set $tenant forged;
        return 200;
    }
--- must_die
--- error_log
the duplicate "tenant" variable



=== TEST 14: an empty member name in the path
--- http_config
    tasker_jwt_claim_set $roles realm_access..roles;
--- config
--- must_die
--- error_log
tasker_jwt_claim_set $roles "realm_access..roles": the claim path has an empty member name



=== TEST 15: a backslash that escapes nothing
--- http_config
    tasker_jwt_claim_set $x "a\b";
--- config
--- must_die
--- error_log
tasker_jwt_claim_set $x "a\b": the claim path has a backslash that escapes neither



=== TEST 16: a path deeper than 16 levels
--- http_config
    tasker_jwt_claim_set $x a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q;
--- config
--- must_die
--- error_log
the claim path has more than 16 levels



=== TEST 17: a name of the $tasker_jwt_claim_ family would shadow a claim variable
--- http_config
    tasker_jwt_claim_set $tasker_jwt_claim_tenantId tenantId;
--- config
--- must_die
--- error_log
tasker_jwt_claim_set "$tasker_jwt_claim_tenantId": names starting with $tasker_jwt_claim_ belong to the claim variables, choose another name
