# Configuration checks of the adapter (issues 10 and 14): the 1 s JWKS refresh floor holds for
# every location and for the TOML key; key file errors name the path as written and the path
# nginx opened, give errno only when the file could not be read, and recognise a private key.
# Each block must not start.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

tasker_keys();
add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a second location sharing a JWKS URL cannot lower the refresh interval below 1s
--- config
    location = /a {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /b {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks.json;
        tasker_jwks_refresh_interval 0s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_jwks_refresh_interval "0s" must be at least 1s



=== TEST 2: the floor also holds where the interval is inherited from the server block
--- config
    tasker_jwks_refresh_interval 0;
    location = /a {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_jwks_refresh_interval "0" must be at least 1s



=== TEST 3: jwks_refresh_interval_seconds = 0 in a TOML file fails, naming file and key
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_verification_method = "jwks"
jwks_url = "http://127.0.0.1:1984/jwks.json"
jwks_refresh_interval_seconds = 0
--- config
    location = /a {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /b {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:5: jwks_refresh_interval_seconds "0" must be at least 1s/



=== TEST 4: an unreadable key names the path as written and the path nginx opened, with errno
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path keys/nope.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr{tasker_jwt_public_key_path "keys/nope\.pem" cannot be read: open\(\) "/\S+/conf/keys/nope\.pem" failed \(2: No such file or directory\)}



=== TEST 5: a file that is not a key: the resolved path, and no errno
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/garbage.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr{tasker_jwt_public_key_path "[^"]*garbage\.pem" is not a PEM public key \(SPKI, PKCS#1 RSA, EC or Ed25519\) \(\w+\), read from "/\S+/garbage\.pem" in }
--- no_error_log
No such file or directory



=== TEST 6: a private key is recognised as such
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-private.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr{tasker_jwt_public_key_path "[^"]*rsa-private\.pem" is not a PEM public key: this is a private key; the gateway needs the public key \(jwt-public-key\.pem\) \(\w+\), read from "/\S+/rsa-private\.pem" in }
--- no_error_log
No such file or directory



=== TEST 7: a private key named in a TOML file: the path as written and the one opened
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key_path = "../html/private.pem"
>>> private.pem
-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
-----END PRIVATE KEY-----
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr{tasker_auth_config \S+/auth\.toml:3: jwt_public_key_path "\.\./html/private\.pem" is not a PEM public key: this is a private key; .*read from "/\S+/html/\.\./html/private\.pem"}



=== TEST 8: a TOML value fails with the same words as the directive (verification method)
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_verification_method = "magic"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:3: jwt_verification_method "magic" must be public_key or jwks/



=== TEST 9: an empty algorithm list in a TOML file fails (it would reject every token)
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_allowed_algorithms = []
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:3: jwt_allowed_algorithms "" must name at least one algorithm/
