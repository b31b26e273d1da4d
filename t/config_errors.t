# Configuration mistakes fail at `nginx -t` with a message naming the directive and the value
# (SPEC 2, 8). Each block must not start.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

my $keys = tasker_keys();

# A FIFO where a key or CA file is expected: opening it for reading would wait for a writer, so
# nginx -t must refuse it at once instead of hanging.
use POSIX ();
unlink "$keys/fifo.pem";
POSIX::mkfifo("$keys/fifo.pem", 0600) or die "mkfifo $keys/fifo.pem: $!\n";

# A "key" over the 1 MiB cap: refused by its size, not read and parsed.
open my $huge, '>', "$keys/huge.pem" or die "$keys/huge.pem: $!\n";
print $huge "-----BEGIN PUBLIC KEY-----\n", ("A" x 64 . "\n") x 17000, "-----END PUBLIC KEY-----\n";
close $huge;

# More than one PEM block where one public key belongs: only one key could ever be used, and a
# private key does not belong on the gateway. Written here from the generated keys.
sub write_pem {
    my ($name, $mode, @parts) = @_;
    open my $fh, '>', "$keys/$name" or die "$keys/$name: $!\n";
    print $fh map { tasker_slurp("$keys/$_") } @parts;
    close $fh;
    chmod $mode, "$keys/$name";
}
write_pem('rsa-ec256-public.pem', 0644, 'rsa-public.pem', 'ec256-public.pem');
write_pem('rsa-public-private.pem', 0600, 'rsa-public.pem', 'rsa-private.pem');
unless (-f "$keys/rsa-cert.pem") {
    system('openssl', 'req', '-x509', '-new', '-key', "$keys/rsa-private.pem", '-days', '3650',
           '-subj', '/CN=tasker-test', '-out', "$keys/rsa-cert.pem") == 0
        or die "openssl req failed\n";
}
write_pem('rsa-public-cert.pem', 0644, 'rsa-public.pem', 'rsa-cert.pem');
$ENV{TEST_NGINX_TWO_PUBLIC_KEYS} = tasker_slurp("$keys/rsa-ec256-public.pem");

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: unknown permission
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:destroy;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_permission "tasks:destroy" is not a known permission



=== TEST 2: a wildcard cannot be required
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:*;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_permission "tasks:*": a wildcard cannot be required



=== TEST 3: an unknown method name
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission FETCH tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_permission "FETCH" is not an HTTP method



=== TEST 4: unreadable key file
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/does-not-exist.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwt_public_key_path "[^"]*does-not-exist\.pem" cannot be read/



=== TEST 5: garbage PEM
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/garbage.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwt_public_key_path "[^"]*garbage\.pem" is not a PEM public key/



=== TEST 6: a private key where a public key belongs
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-private.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwt_public_key_path "[^"]*rsa-private\.pem" is not a PEM public key/



=== TEST 7: an RSA key under 2048 bits
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa1024-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwt_public_key_path "[^"]*rsa1024-public\.pem" is an RSA key under 2048 bits/



=== TEST 8: an unsupported curve
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/ec224-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwt_public_key_path "[^"]*ec224-public\.pem" is of an unsupported key type/



=== TEST 9: garbage inline PEM
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_jwt_public_key "<inline PEM>" is not a PEM public key



=== TEST 10: a bad algorithm name
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_allowed_algorithms RS256 RS257;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_jwt_allowed_algorithms "RS257" is not allowed



=== TEST 11: none is never allowed
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_allowed_algorithms none;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_jwt_allowed_algorithms "none" is not allowed



=== TEST 12: HS256 is never allowed
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_allowed_algorithms RS256 HS256;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_jwt_allowed_algorithms "HS256" is not allowed



=== TEST 13: an algorithm that does not fit the key: the default, named as such, and what fits
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/ec256-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwt_allowed_algorithms "RS256" \(the default\) does not fit the EC P-256 public key "[^"]*ec256-public\.pem": allow ES256 \("tasker_jwt_allowed_algorithms ES256;"\)/



=== TEST 14: ES384 does not fit a P-256 key
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_allowed_algorithms ES256 ES384;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/ec256-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwt_allowed_algorithms "ES384" does not fit the EC P-256 public key "[^"]*ec256-public\.pem": allow ES256/



=== TEST 15: tasker_auth on with no credential source
--- config
    location = /t {
        tasker_auth on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
"tasker_auth on" needs a JWT key



=== TEST 16: jwks mode without a URL
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
"tasker_jwt_verification_method jwks" needs tasker_jwks_url



=== TEST 17: a JWKS URL that is not http or https
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url file:///etc/passwd;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_jwks_url "file:///etc/passwd" must be an http:// or https:// URL



=== TEST 18: a bad verification method
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method magic;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_jwt_verification_method "magic" must be public_key or jwks



=== TEST 19: a bad success log level
--- config
    location = /t {
        tasker_auth on;
        tasker_auth_success_log_level loud;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_auth_success_log_level "loud" must be off, notice, info or debug



=== TEST 20: a bad leeway
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_leeway soon;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_jwt_leeway "soon" is not a time



=== TEST 21: a JWKS URL without a host
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http:///jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwks_url "http:\/\/\/jwks\.json" must be an http:\/\/ or https:\/\/ URL \(.+\) in \S+nginx\.conf:\d+/



=== TEST 22: a key path naming a FIFO fails at once, without waiting for a writer
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/fifo.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwt_public_key_path "[^"]*fifo\.pem" cannot be read: "[^"]*fifo\.pem" is not a regular file/



=== TEST 23: a key path naming a directory
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwt_public_key_path "[^"]*" cannot be read: "[^"]*" is not a regular file/



=== TEST 24: tasker_jwks_ca_file naming no file fails nginx -t, not the first fetch
--- http_config
    tasker_jwks_ca_file $TEST_NGINX_KEYS/no-such-ca.pem;
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url https://127.0.0.1:1/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwks_ca_file "[^"]*no-such-ca\.pem" cannot be read: No such file or directory/



=== TEST 25: tasker_jwks_ca_file naming a FIFO fails at once
--- http_config
    tasker_jwks_ca_file $TEST_NGINX_KEYS/fifo.pem;
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url https://127.0.0.1:1/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwks_ca_file "[^"]*fifo\.pem" is not a regular file/



=== TEST 26: tasker_jwks_ca_file naming a public key, not a certificate
--- http_config
    tasker_jwks_ca_file $TEST_NGINX_KEYS/rsa-public.pem;
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url https://127.0.0.1:1/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwks_ca_file "[^"]*rsa-public\.pem" holds no PEM certificate/



=== TEST 27: a key file over 1 MiB is refused by its size
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/huge.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwt_public_key_path "[^"]*huge\.pem" is not a key: "[^"]*huge\.pem" is larger than 1048576 bytes/



=== TEST 28: a key file holding two public keys
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_allowed_algorithms RS256 ES256;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-ec256-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwt_public_key_path "[^"]*rsa-ec256-public\.pem" holds 2 PEM blocks; give exactly one public key \(key_multiple_pem_blocks\), read from "[^"]*rsa-ec256-public\.pem"/



=== TEST 29: a key file holding a public key and then a private key
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public-private.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwt_public_key_path "[^"]*rsa-public-private\.pem" holds 2 PEM blocks, among them a private key, which does not belong on the gateway; give exactly one public key \(key_multiple_pem_blocks\)/
--- no_error_log
PRIVATE KEY-----



=== TEST 30: a key file holding a public key and then a certificate
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public-cert.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwt_public_key_path "[^"]*rsa-public-cert\.pem" holds 2 PEM blocks; give exactly one public key/



=== TEST 31: inline PEM holding two public keys
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_allowed_algorithms RS256 ES256;
        tasker_jwt_public_key "$TEST_NGINX_TWO_PUBLIC_KEYS";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_jwt_public_key "<inline PEM>" holds 2 PEM blocks; give exactly one public key (key_multiple_pem_blocks)



=== TEST 32: tasker_auth_config jwt_public_key_path naming a file with two public keys
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_public_key_path = "${TEST_NGINX_KEYS}/rsa-ec256-public.pem"
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config \S+\/auth\.toml:3: jwt_public_key_path "[^"]*rsa-ec256-public\.pem" holds 2 PEM blocks; give exactly one public key/



=== TEST 33: a malformed JWKS URL is shown without its userinfo and query
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url "http://user:S3CRETPW@idp.example:99999/jwks?api_token=QSECRET";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_jwks_url "http://...@idp.example:99999/jwks?..." must be an http:// or https:// URL (malformed URL
--- no_error_log
S3CRETPW
QSECRET



=== TEST 34: the 17th distinct JWKS URL fails, its userinfo and query not shown
--- config eval
join "", map { <<"NGX" } 1 .. 17;
    location = /t$_ {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url "http://user:S3CRETPW\@idp$_.example/jwks?api_token=QSECRET";
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/_backend;
    }
NGX
--- must_die
--- error_log
tasker_jwks_url "http://idp17.example/jwks?...": at most 16 distinct JWKS URLs are supported
--- no_error_log
S3CRETPW
QSECRET



=== TEST 35: a JWKS refresh interval beyond ten years fails (now + interval would overflow)
--- config
    location = /t {
        tasker_jwks_refresh_interval 9223372036854775807;
        return 204;
    }
--- must_die
--- error_log
tasker_jwks_refresh_interval "9223372036854775807" must be at most 315360000s (10 years)



=== TEST 36: tasker_jwks_max_stale not above the refresh interval fails (a healthy set would expire)
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks;
        tasker_jwks_refresh_interval 1h;
        tasker_jwks_max_stale 2s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_jwks_max_stale "2s" must exceed the refresh interval (3600s), or be 0



=== TEST 37: an empty tasker_jwt_issuer fails (no token could match it)
--- config
    location = /t {
        tasker_jwt_issuer "";
        return 204;
    }
--- must_die
--- error_log
tasker_jwt_issuer "" must not be empty



=== TEST 38: tasker_api_key_header must be an HTTP header name
--- config
    location = /t {
        tasker_api_key_header "X API Key";
        return 204;
    }
--- must_die
--- error_log
tasker_api_key_header "X API Key" is not an HTTP header name



=== TEST 39: an empty permissions claim in a tasker_auth_config file fails, with its line
--- user_files
>>> auth.toml
[auth]
enabled = true

permissions_claim = ""
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        return 204;
    }
--- must_die
--- error_log eval
qr/auth\.toml:4: permissions_claim "" must not be empty/



=== TEST 40: an API key with a blank around it fails (no header value can carry it), unshown
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key " s3cretKEYvalue" "tasks:read" "ops";
        return 204;
    }
--- must_die
--- error_log
tasker_api_key "ops" is invalid (key starts or ends with a space or tab, which no header value can)
--- no_error_log
s3cretKEYvalue



=== TEST 41: an error found while merging names the line where its location opens
nginx merges after the whole http block is read; without care the message names the line that
closes http{}, here in nginx.conf, not the included file that holds the location.
--- user_files
>>> bad-location.conf
# a location without any key
location = /t {
    tasker_auth on;
    return 204;
}
--- config
    include ../html/bad-location.conf;
--- must_die
--- error_log eval
qr/"tasker_auth on" needs a JWT key .* in \S*bad-location\.conf:2\b/



=== TEST 42: tasker_jwks_url without tasker_jwt_verification_method jwks says what is missing
--- config
    location = /t {
        tasker_auth on;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks;
        return 204;
    }
--- must_die
--- error_log
tasker_jwks_url is set, but tasker_jwt_verification_method is public_key (the default) and there is no public key: add "tasker_jwt_verification_method jwks;"



=== TEST 43: tasker_jwks_url beside a public key in one block, method public_key: a conflict
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks;
        return 204;
    }
--- must_die
--- error_log
tasker_jwks_url is set in this block, but tasker_jwt_verification_method is public_key, so the URL would be ignored



=== TEST 44: a public key beside tasker_jwt_verification_method jwks in one block: a conflict
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/jwks;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        return 204;
    }
--- must_die
--- error_log
tasker_jwt_public_key_path is set in this block, but tasker_jwt_verification_method is jwks, so the key would be ignored



=== TEST 45: tasker_auth_metrics after proxy_pass in one location: two content handlers
--- config
    location = /metrics {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
        tasker_auth_metrics;
    }
--- must_die
--- error_log
tasker_auth_metrics is set in location "/metrics", which has another content handler too



=== TEST 46: proxy_pass after tasker_auth_metrics in one location: two content handlers
--- config
    location = /metrics {
        tasker_auth_metrics;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log
tasker_auth_metrics is set in location "/metrics", which has another content handler too



=== TEST 47: tasker_auth_metrics twice in one location
--- config
    location = /metrics {
        tasker_auth_metrics;
        tasker_auth_metrics;
    }
--- must_die
--- error_log
"tasker_auth_metrics" directive is duplicate



=== TEST 48: an API key header with "_" fails while nginx would drop it (underscores_in_headers off)
--- config
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key_header X_Api_Key;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        return 204;
    }
--- must_die
--- error_log
tasker_api_key_header "X_Api_Key" holds "_", and nginx drops a request header so named before any module sees it, so no API key would arrive: set "underscores_in_headers on;" in the server, or use "-"



=== TEST 49: an API key header with "." fails while nginx would drop it (ignore_invalid_headers on)
--- config
    underscores_in_headers on;
    location = /t {
        tasker_auth on;
        tasker_api_keys_enabled on;
        tasker_api_key_header X.Api_Key;
        tasker_api_key "ci-key-abcdefghijklmnop" "tasks:read" "ci-pipeline";
        return 204;
    }
--- must_die
--- error_log
tasker_api_key_header "X.Api_Key" holds ".", and nginx drops a request header so named before any module sees it, so no API key would arrive: use letters, digits and "-" only, or set "ignore_invalid_headers off;" in the server



=== TEST 50: an algorithm set in the server that does not fit a location's key is not "the default"
--- config
    tasker_jwt_allowed_algorithms RS256;
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/ed25519-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_jwt_allowed_algorithms "RS256" does not fit the Ed25519 public key "[^"]*ed25519-public\.pem": allow EdDSA \("tasker_jwt_allowed_algorithms EdDSA;"\)/



=== TEST 51: ... and one from a tasker file is named by the file's key
--- user_files
>>> auth.toml
[auth]
enabled = true
jwt_allowed_algorithms = ["RS256"]
--- config
    location = /t {
        tasker_auth_config ../html/auth.toml;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/ec384-public.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- must_die
--- error_log eval
qr/tasker_auth_config \S*auth\.toml:3: jwt_allowed_algorithms "RS256" does not fit the EC P-384 public key "[^"]*ec384-public\.pem": allow ES384/
