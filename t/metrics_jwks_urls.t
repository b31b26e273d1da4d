# JWKS URL labels on the metrics page (issue 10): the redacted form (no user:password@, no query
# string) as in the logs, and a URL that a reload removed is no longer exported. The reload is a
# HUP sent by --- init of the second block after it rewrote nginx.conf. A reload that nginx
# rejects after the shared zones were set up (a listen port in use) changes nothing on the page.
# URLs that show the same way keep their own series when a reload reorders them (TEST 6-8): the
# test nginx serves a 3-key set for ?tenant=B and a 1-key set for ?tenant=A.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;
use PromCheck;
use IO::Socket::INET;

master_on();
workers(1);
tasker_keys();  # TEST 6-8 serve its jwks.json (3 keys) and jwks-rsa2.json (1 key)

# Replaces $from by $to in nginx.conf (and applies $edit to the text, when given), sends the
# master HUP and returns the text as it was.
sub rewrite_and_hup {
    my ($from, $to, $edit) = @_;
    my $conf = $Test::Nginx::Util::ConfFile;
    open my $in, '<', $conf or die "$conf: $!\n";
    my $text = do { local $/; <$in> };
    close $in;
    my $orig = $text;
    if (defined $from) {
        $text =~ s/\Q$from\E/$to/g or die "rewrite_and_hup: $from not in $conf\n";
    }
    $text = $edit->($text) if $edit;
    open my $out, '>', $conf or die "$conf: $!\n";
    print $out $text;
    close $out;
    open my $fh, '<', $Test::Nginx::Util::PidFile or die "pid file: $!\n";
    my $pid = <$fh>;
    close $fh;
    chomp $pid;
    kill 'HUP', $pid or die "HUP $pid: $!\n";
    return $orig;
}

sub reload_with {
    my ($from, $to) = @_;
    rewrite_and_hup($from, $to);
    select(undef, undef, undef, 1.5);
}

# Like reload_with, but the new configuration also listens on a port another socket holds (one
# the kernel picked), so nginx rejects it after the shared zones were initialised and keeps the
# running configuration. The socket is held until nginx gave up binding (5 tries, 500 ms apart),
# and nginx.conf then says again what is running.
sub failed_reload_with {
    my ($from, $to) = @_;
    my $holder = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                       Listen => 1, Proto => 'tcp')
        or die "failed_reload_with: listen: $!\n";
    my $port = $holder->sockport;
    my $orig = rewrite_and_hup($from, $to, sub {
        my $text = shift;
        $text =~ s/(location = \/metrics \{)/listen 127.0.0.1:$port;\n    $1/ or die "no /metrics\n";
        return $text;
    });
    select(undef, undef, undef, 4);
    close $holder;
    open my $out, '>', $Test::Nginx::Util::ConfFile or die "nginx.conf: $!\n";
    print $out $orig;
    close $out;
}

# A location block of nginx.conf, from "location = /NAME {" to its closing brace.
sub location_re { my $name = shift; qr{\n[ \t]*location = /\Q$name\E \{.*?\n[ \t]*\}}s }

# Reloads with a copy of location /b, named /a and asking for tenant A, put before /b: A's URL
# then shows as B's did, and takes its label; B's becomes "#2".
sub reload_adding_a_before_b {
    my $re = location_re('b');
    rewrite_and_hup(undef, undef, sub {
        my $text = shift;
        $text =~ m/($re)/ or die "no location \/b\n";
        my $b = $1;
        (my $a = $b) =~ s!location = /b !location = /a ! or die "no /b\n";
        $a =~ s!tenant=B!tenant=A! or die "no tenant=B\n";
        $text =~ s/\Q$b\E/$a$b/;
        return $text;
    });
    select(undef, undef, undef, 1.5);
}

# Reloads without location /a: B's URL takes the bare label back.
sub reload_removing_a {
    my $re = location_re('a');
    rewrite_and_hup(undef, undef, sub {
        my $text = shift;
        $text =~ s{$re}{} or die "no location /a\n";
        return $text;
    });
    select(undef, undef, undef, 1.5);
}

sub pause { select(undef, undef, undef, $_[0]) }

add_block_preprocessor(\&tasker_defaults);
add_response_body_check(\&prom_check);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: labels are the redacted URLs: no userinfo, no query secrets; " and \ escaped
--- config
    location = /a {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url "http://scott:tiger-secret@127.0.0.1:$TEST_NGINX_SERVER_PORT/a.json?access_token=query-secret";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /b {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/b.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /q {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url 'http://127.0.0.1:$TEST_NGINX_SERVER_PORT/q"b\\c.json';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /metrics {
        tasker_auth off;
        tasker_auth_metrics;
    }
--- request
GET /metrics
--- error_code: 200
--- response_body_like eval
qr{\A(?!.*(?:secret|scott))(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/a\.json\?\.\.\."\} 0$)(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/b\.json"\} 0$)(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/q\\"b\\\\c\.json"\} 0$)}sm



=== TEST 2: after a reload that replaced b.json by c.json, b.json is no longer exported
--- init
::reload_with('/b.json;', '/c.json;');
--- request
GET /metrics
--- error_code: 200
--- response_body_like eval
qr{\A(?!.*b\.json)(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/c\.json"\} 0$)}sm



=== TEST 3: a reload nginx rejects (port in use) neither drops c.json nor exports d.json
--- init
::failed_reload_with('/c.json;', '/d.json;');
--- request
GET /metrics
--- error_code: 200
--- response_body_like eval
qr{\A(?!.*d\.json)(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/c\.json"\} 0$)(?=.*^tasker_auth_jwks_refresh_total\{url="http://127\.0\.0\.1:\d+/c\.json",result="failure"\} [1-9])}sm



=== TEST 4: URLs that differ only in their query or userinfo get distinct labels (#2, #3)
--- config
    location = /one {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/k.json?tenant=one;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /two {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/k.json?tenant=two;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /three {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://user:pw@127.0.0.1:$TEST_NGINX_SERVER_PORT/k.json?tenant=one;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /metrics {
        tasker_auth off;
        tasker_auth_metrics;
    }
--- request
GET /metrics
--- wait: 1
--- error_code: 200
--- response_body_like eval
qr{\A(?!.*(?:tenant|user|pw@))(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/k\.json\?\.\.\."\} 0$)(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/k\.json\?\.\.\.#2"\} 0$)(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/k\.json\?\.\.\.#3"\} 0$)}sm
--- error_log eval
qr{JWKS fetch failed url=http://127\.0\.0\.1:\d+/k\.json\?\.\.\.#3: }



=== TEST 5: a password holding an unescaped "/" or "?" (read as the end of the host) never shows
--- config
    location = /a {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url "http://scott:12/tiger-secret@127.0.0.1:$TEST_NGINX_SERVER_PORT/a.json";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /b {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url "http://scott:1?tiger-secret@127.0.0.1:$TEST_NGINX_SERVER_PORT/b.json";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /metrics {
        tasker_auth off;
        tasker_auth_metrics;
    }
--- request
GET /metrics
--- error_code: 200
--- response_body_like eval
qr{\A(?!.*(?:secret|scott))(?=.*^tasker_auth_jwks_keys\{url="http://\.\.\.\@127\.0\.0\.1:\d+/a\.json"\} 0$)(?=.*^tasker_auth_jwks_keys\{url="http://\.\.\.\@127\.0\.0\.1:\d+/b\.json"\} 0$)}sm



=== TEST 6: one URL with a query: its label, its keys and its first refresh
--- http_config
    map $arg_tenant $tenant_doc {
        A        /jwks-rsa2.json;
        default  /jwks.json;
    }
--- config
    location = /k.json { tasker_auth off; rewrite ^ $tenant_doc last; }
    location = /jwks.json { tasker_auth off; alias $TEST_NGINX_KEYS/jwks.json; }
    location = /jwks-rsa2.json { tasker_auth off; alias $TEST_NGINX_KEYS/jwks-rsa2.json; }
    location = /b {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/k.json?tenant=B;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /metrics {
        tasker_auth off;
        tasker_auth_metrics;
    }
--- init
::pause(1);
--- request
GET /metrics
--- error_code: 200
--- response_body_like eval
qr{\A(?!.*#2)(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/k\.json\?\.\.\."\} 3$)(?=.*^tasker_auth_jwks_refresh_total\{url="http://127\.0\.0\.1:\d+/k\.json\?\.\.\.",result="success"\} 1$)}sm



=== TEST 7: a reload puts tenant A (1 key) before B: the bare label counts for A from 0, and B's "#2" shows B's 3 kept keys at once
--- init
::reload_adding_a_before_b();
--- request
GET /metrics
--- error_code: 200
--- response_body_like eval
qr{\A(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/k\.json\?\.\.\."\} 1$)(?=.*^tasker_auth_jwks_refresh_total\{url="http://127\.0\.0\.1:\d+/k\.json\?\.\.\.",result="success"\} 1$)(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/k\.json\?\.\.\.#2"\} 3$)(?=.*^tasker_auth_jwks_refresh_total\{url="http://127\.0\.0\.1:\d+/k\.json\?\.\.\.#2",result="success"\} 0$)}sm



=== TEST 8: a reload removes A: the bare label is B's again, with B's keys and none of A's counts
--- init
::reload_removing_a();
--- request
GET /metrics
--- error_code: 200
--- response_body_like eval
qr{\A(?!.*#2)(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/k\.json\?\.\.\."\} 3$)(?=.*^tasker_auth_jwks_refresh_total\{url="http://127\.0\.0\.1:\d+/k\.json\?\.\.\.",result="success"\} 0$)}sm
