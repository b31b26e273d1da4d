# tasker_auth_config with malformed TOML (issue 10, SPEC 8 "Configuration files"): toml++ 3.3.0
# aborts (or reaches undefined behaviour) on some of these; every one must fail nginx -t with exit 1
# and a message naming the file and the line, never crash it (src/toml_guard.h).
# The reload half (the running configuration keeps serving) is t/system/test_toml_reload.py.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a '[' alone on a line (toml++ parse_key assertion) fails nginx -t naming the file and line
--- user_files
>>> auth.toml
[auth]
enabled = true
[
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:3: a table header needs a key after '\['/



=== TEST 2: '[ ' at the end of the file
--- user_files
>>> auth.toml
[auth]
enabled = true
[ 
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:3: a table header needs a key/



=== TEST 3: '[[[1]]]' as a table header
--- user_files
>>> auth.toml
[[[1]]]
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:1: a table header needs a key/



=== TEST 4: '[[=' as a table header
--- user_files
>>> auth.toml
[auth]
[[=
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:2: a table header needs a key/



=== TEST 5: a '}' where an array value should be (toml++ parse_value assertion)
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_allowed_algorithms = [}
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:3: unexpected '\}'/



=== TEST 6: a non-ASCII key (toml++ unreachable program point) fails
--- user_files
>>> auth.toml
[auth]
énabled = true
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:2: non-ASCII character outside a string or comment/



=== TEST 7: a date-time with a control character after 'T' (toml++ parse_time assertion) fails
--- user_files
>>> auth.toml
[auth]
enabled = 1979-05-27T:00:00
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:2: control character/



=== TEST 8: invalid UTF-8 fails
--- user_files
>>> auth.toml
[auth]
jwt_issuer = "�"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:2: invalid UTF-8/



=== TEST 9: a truncated file fails
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_issuer = "tasker-co
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:3: /



=== TEST 10: a backslash, blanks and a non-ASCII character in a multi-line string (toml++ unreachable program point) fails
--- user_files
>>> auth.toml
[auth]
jwt_issuer = """
tasker \ é"""
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:3: non-ASCII character after '\\' in a multi-line string/



=== TEST 11: an unquoted value that is not TOML fails before toml++'s value parsers
--- user_files
>>> auth.toml
[auth]
enabled = yes
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config "\.\.\/html\/auth\.toml": \S*auth\.toml:2: not a TOML value/
