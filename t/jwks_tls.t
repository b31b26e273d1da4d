# JWKS over https (issue 4): certificate verification is always on; tasker_jwks_ca_file names
# the CA bundle. A self-signed certificate for 127.0.0.1 is generated at test time.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

our %tok = tasker_tokens(rsa => { header => { kid => 'kid-rsa' } });
my $keys = $ENV{TEST_NGINX_KEYS};
# tls-cert.pem: the endpoint's certificate (its own CA); tls-other-cert.pem: a CA that did not
# sign it; tls-bundle.pem: both, the endpoint's last.
sub self_signed {
    my ($name, $subject) = @_;
    return if -f "$keys/$name-cert.pem";
    open my $stderr, '>&', \*STDERR;
    open STDERR, '>', '/dev/null';
    my $ok = system('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650',
           '-subj', $subject, '-addext', 'subjectAltName=IP:127.0.0.1',
           '-keyout', "$keys/$name-key.pem", '-out', "$keys/$name-cert.pem")
        == 0;
    open STDERR, '>&', $stderr;
    $ok or die "openssl req failed\n";
    chmod 0644, "$keys/$name-key.pem";  # nginx workers run as an unprivileged user
}
self_signed('tls', '/CN=127.0.0.1');
self_signed('tls-other', '/CN=tasker other CA');
{
    local $/;
    open my $a, '<', "$keys/tls-other-cert.pem" or die;
    open my $b, '<', "$keys/tls-cert.pem" or die;
    open my $out, '>', "$keys/tls-bundle.pem" or die;
    print {$out} scalar(<$a>), scalar(<$b>);
    close $out or die;
}
$ENV{TEST_NGINX_TLS_PORT} ||= ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 1;

sub pause { select(undef, undef, undef, $_[0]) }

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a certificate the system CAs do not know fails the fetch (503, logged)
--- log_level: info
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        ssl_certificate $TEST_NGINX_KEYS/tls-cert.pem;
        ssl_certificate_key $TEST_NGINX_KEYS/tls-key.pem;
        location = /jwks.json { alias $TEST_NGINX_KEYS/jwks.json; }
    }
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url https://127.0.0.1:$TEST_NGINX_TLS_PORT/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(1.0);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- error_log eval
qr/tasker_auth: JWKS fetch failed url=https:\/\/127\.0\.0\.1:\d+\/jwks\.json: .*(certificate|SSL)/
--- no_error_log
stale global SSL error



=== TEST 2: tasker_jwks_ca_file trusts the operator's CA
--- log_level: info
--- http_config
    tasker_jwks_ca_file $TEST_NGINX_KEYS/tls-cert.pem;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        ssl_certificate $TEST_NGINX_KEYS/tls-cert.pem;
        ssl_certificate_key $TEST_NGINX_KEYS/tls-key.pem;
        location = /jwks.json { alias $TEST_NGINX_KEYS/jwks.json; }
    }
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url https://127.0.0.1:$TEST_NGINX_TLS_PORT/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(1.0);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 200
--- error_log eval
qr/tasker_auth: JWKS refreshed url=https:\/\/127\.0\.0\.1:\d+\/jwks\.json keys=3/
--- no_error_log
stale global SSL error



=== TEST 3: a tasker_jwks_ca_file without the endpoint's CA fails the fetch (503, logged)
--- log_level: info
--- http_config
    tasker_jwks_ca_file $TEST_NGINX_KEYS/tls-other-cert.pem;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        ssl_certificate $TEST_NGINX_KEYS/tls-cert.pem;
        ssl_certificate_key $TEST_NGINX_KEYS/tls-key.pem;
        location = /jwks.json { alias $TEST_NGINX_KEYS/jwks.json; }
    }
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url https://127.0.0.1:$TEST_NGINX_TLS_PORT/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(1.0);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- error_log eval
qr/tasker_auth: JWKS fetch failed url=https:\/\/127\.0\.0\.1:\d+\/jwks\.json: SSL certificate problem/
--- no_error_log
stale global SSL error



=== TEST 4: every certificate of a bundle is trusted, not only the first
--- log_level: info
--- http_config
    tasker_jwks_ca_file $TEST_NGINX_KEYS/tls-bundle.pem;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        ssl_certificate $TEST_NGINX_KEYS/tls-cert.pem;
        ssl_certificate_key $TEST_NGINX_KEYS/tls-key.pem;
        location = /jwks.json { alias $TEST_NGINX_KEYS/jwks.json; }
    }
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url https://127.0.0.1:$TEST_NGINX_TLS_PORT/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(1.0);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 200
--- error_log eval
qr/tasker_auth: JWKS refreshed url=https:\/\/127\.0\.0\.1:\d+\/jwks\.json keys=3/
--- no_error_log
stale global SSL error



=== TEST 5: tasker_jwks_ca_file twice fails nginx -t
--- http_config
    tasker_jwks_ca_file $TEST_NGINX_KEYS/tls-cert.pem;
    tasker_jwks_ca_file $TEST_NGINX_KEYS/tls-bundle.pem;
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url https://127.0.0.1:$TEST_NGINX_TLS_PORT/jwks.json;
        return 204;
    }
--- must_die
--- error_log eval
qr/"tasker_jwks_ca_file" directive is duplicate/



=== TEST 6: an http URL redirected to https is verified against tasker_jwks_ca_file
--- log_level: info
--- http_config
    tasker_jwks_follow_redirects on;
    tasker_jwks_ca_file $TEST_NGINX_KEYS/tls-bundle.pem;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        ssl_certificate $TEST_NGINX_KEYS/tls-cert.pem;
        ssl_certificate_key $TEST_NGINX_KEYS/tls-key.pem;
        location = /jwks.json { alias $TEST_NGINX_KEYS/jwks.json; }
    }
--- config
    location = /moved.json {
        tasker_auth off;
        return 302 https://127.0.0.1:$TEST_NGINX_TLS_PORT/jwks.json;
    }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/moved.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(1.0);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 200
--- error_log eval
qr/tasker_auth: JWKS refreshed url=http:\/\/127\.0\.0\.1:\d+\/moved\.json keys=3/
--- no_error_log
stale global SSL error



=== TEST 7: ... and without it against the system CAs, which do not know this endpoint
--- log_level: info
--- http_config
    tasker_jwks_follow_redirects on;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        ssl_certificate $TEST_NGINX_KEYS/tls-cert.pem;
        ssl_certificate_key $TEST_NGINX_KEYS/tls-key.pem;
        location = /jwks.json { alias $TEST_NGINX_KEYS/jwks.json; }
    }
--- config
    location = /moved.json {
        tasker_auth off;
        return 302 https://127.0.0.1:$TEST_NGINX_TLS_PORT/jwks.json;
    }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/moved.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(1.0);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- error_log eval
qr/tasker_auth: JWKS fetch failed url=http:\/\/127\.0\.0\.1:\d+\/moved\.json: SSL certificate problem/
--- no_error_log
stale global SSL error



=== TEST 8: an http URL redirected to https and then back to http is refused (never https to http)
--- log_level: info
--- http_config
    tasker_jwks_follow_redirects on;
    tasker_jwks_ca_file $TEST_NGINX_KEYS/tls-bundle.pem;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        ssl_certificate $TEST_NGINX_KEYS/tls-cert.pem;
        ssl_certificate_key $TEST_NGINX_KEYS/tls-key.pem;
        location = /back.json { return 302 http://127.0.0.1:$TEST_NGINX_SERVER_PORT/plain.json; }
    }
--- config
    location = /moved.json {
        tasker_auth off;
        return 302 https://127.0.0.1:$TEST_NGINX_TLS_PORT/back.json;
    }
    location = /plain.json {
        tasker_auth off;
        alias $TEST_NGINX_KEYS/jwks.json;
    }
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/moved.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- init
::pause(1.0);
--- request
GET /t
--- more_headers eval
"Authorization: Bearer $::tok{rsa}"
--- error_code: 503
--- error_log eval
qr/tasker_auth: JWKS fetch failed url=http:\/\/127\.0\.0\.1:\d+\/moved\.json: a redirect from https to http was refused/
--- no_error_log
JWKS refreshed
