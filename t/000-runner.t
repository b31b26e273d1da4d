# Self-test of the Test::Nginx::Socket-compatible runner in t/lib, using stock
# nginx features only.  Run: TEST_NGINX_BINARY=/usr/sbin/nginx prove -It/lib t/000-runner.t
use Test::Nginx::Socket;

# A test-file global, read by the "--- more_headers eval" section of TEST 5.
our $token = 'tok-123';

repeat_each(2);

# Every block has a status-code test (or one must_die test) plus at least one
# more; the 18 extra tests are listed in the block titles as "(+N)".
plan tests => repeat_each() * (2 * blocks() + 18);

# Blocks without a "--- request" section get this one.
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(request => "GET /t\n") unless defined $block->request;
});

# TEST 20 (--- http2) under the real runner: it writes "http2 on;" for nginx 1.19.9 and later,
# a directive nginx has only since 1.25.1, so there it is skipped on 1.19.9 to 1.25.0.
sub h2_unavailable {
    no warnings 'once';
    my $v = $Test::Nginx::Util::NginxVersion // 0;
    return !$Test::Nginx::Util::TLibRunner && $v >= 1.019009 && $v < 1.025001;
}

no_shuffle();    # TEST 2 reuses the nginx started by TEST 1
run_tests();

__DATA__

=== TEST 1: return, response_body and no_error_log (+1)
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello
--- no_error_log
[error]



=== TEST 2: a block without --- config keeps the previous nginx running
--- request
GET /t
--- response_body_like: ^hello$



=== TEST 3: error_code, add_header, repeated and absent headers (+3)
--- config
    location = /h {
        add_header X-Foo bar;
        add_header X-Dup one;
        add_header X-Dup two;
        return 204;
    }
--- request
GET /h
--- error_code: 204
--- response_headers
X-Foo: bar
X-Dup: one, two
!X-Absent
--- response_body



=== TEST 4: response_headers_like and raw_response_headers_like (+2)
--- config
    location = /l {
        add_header X-Time "t-$msec";
        return 302 /elsewhere;
    }
--- request
GET /l
--- error_code: 302
--- response_headers_like
X-Time: t-\d+\.\d+
Location: http://localhost:\d+/elsewhere
--- raw_response_headers_like: ^HTTP/1\.1 302 Moved Temporarily\r\n



=== TEST 5: proxy_pass to a second location; more_headers eval with a $::var
--- config
    location = /front {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/back;
    }
    location = /back {
        return 200 "back on $server_port: token=$http_x_token other=$http_x_other\n";
    }
--- request
GET /front
--- more_headers eval
"X-Token: $::token
X-Other: plain"
--- response_body
back on $ServerPort: token=tok-123 other=plain



=== TEST 6: HEAD request: headers but no body (+1)
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
HEAD /t
--- response_headers
Content-Length: 6
--- response_body



=== TEST 7: POST body: Content-Length is added and the body trimmed
--- config
    location = /p {
        proxy_set_header X-Body $request_body;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "$request_method len=$http_content_length body=$http_x_body\n";
    }
--- request
POST /p
hello=world

--- response_body
POST len=11 body=hello=world



=== TEST 8: chunked response body (+1)
--- config
    location = /c {
        sub_filter_types text/plain;
        sub_filter_once off;
        sub_filter 'a' 'b';
        return 200 "aaa\n";
    }
--- request
GET /c
--- response_headers
Transfer-Encoding: chunked
--- response_body
bbb



=== TEST 9: user_files are served by the default root location
--- config
--- user_files
>>> sub/hello.txt
hello file
--- request
GET /sub/hello.txt
--- response_body
hello file



=== TEST 10: main_config, and $TEST_NGINX_ variables in http_config
--- main_config
worker_shutdown_timeout 1s;
--- http_config
    map $uri $seen_port {
        default "$TEST_NGINX_SERVER_PORT";
    }
--- config
    location = /m {
        return 200 "port=$seen_port\n";
    }
--- request
GET /m
--- response_body
port=$ServerPort



=== TEST 11: error_log eval with a regex and a string; no_error_log lines (+3)
--- config
--- request
GET /missing.html
--- error_code: 404
--- error_log eval
[qr/open\(\) "[^"]+\/missing\.html" failed/, "No such file or directory"]
--- no_error_log
[alert]
[crit]



=== TEST 12: --- log_level filters what reaches error.log
--- log_level: crit
--- config
--- request
GET /missing.html
--- error_code: 404
--- no_error_log
No such file or directory



=== TEST 13: must_die: invalid directive, checked in the startup output
--- config
    location = /t {
        no_such_directive on;
    }
--- must_die
--- error_log
unknown directive "no_such_directive"



=== TEST 14: must_die with the expected exit code
--- http_config
    upstream nothing_inside {
    }
--- config
--- must_die: 1
--- no_error_log
[alert]



=== TEST 15: comment lines in request and more_headers; response_body eval
--- config
    location = /echo {
        return 200 "$request_method $request_uri $server_protocol $http_x_a|$http_x_b|$http_host\n";
    }
--- request
# a comment before the request line
GET /echo?a=1
--- more_headers
X-A: 1
# X-C: not sent
X-B: 2
--- response_body eval
"GET /echo?a=1 HTTP/1.1 1|2|localhost\n"



=== TEST 16: several requests in one block; per-request expectations (+4)
--- config
    location = /a {
        return 200 "a\n";
    }
    location = /b {
        return 201 "b\n";
    }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 201]
--- response_body eval
["a\n", "b\n"]
--- no_error_log
[error]



=== TEST 17: SKIP blocks are neither run nor counted by blocks()
--- SKIP
--- config
    this is not valid nginx configuration;
--- response_body
never



=== TEST 18: skip_eval skips the given number of tests
--- config
    location = /t {
        return 500;
    }
--- skip_eval: 2: 1
--- response_body
never



=== TEST 19: timeout and wait sections
--- config
    location = /t {
        return 200 "ok\n";
    }
--- timeout: 500ms
--- wait: 0.1
--- response_body
ok



=== TEST 20: --- http2: curl over cleartext HTTP/2, with headers and a body (+1)
--- http2
--- skip_eval: 3: main::h2_unavailable()
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / {
            return 200 "$request_method $http_x_a $content_length\n";
        }
    }
--- config
    location = /h2 {
        add_header X-Proto $server_protocol;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
    }
--- request
POST /h2
hello
--- more_headers
X-A: 1
--- response_headers
X-Proto: HTTP/2.0
--- response_body
POST 1 5



=== TEST 21: --- pipelined_requests: one keep-alive connection, per-response expectations (+2)
--- config
    location = /p {
        return 200 "$request_method $connection_requests\n";
    }
--- pipelined_requests eval
["POST /p\n" . ("x" x 5000), "GET /p"]
--- error_code eval
[200, 200]
--- response_body eval
["POST 1\n", "GET 2\n"]
