# JWKS URL labels on the metrics page (issue 10): the redacted form (no user:password@, no query
# string) as in the logs, and a URL that a reload removed is no longer exported. The reload is a
# HUP sent by --- init of the second block after it rewrote nginx.conf.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

master_on();
workers(1);

sub reload_with {
    my ($from, $to) = @_;
    my $conf = $Test::Nginx::Util::ConfFile;
    open my $in, '<', $conf or die "$conf: $!\n";
    local $/;
    my $text = <$in>;
    close $in;
    $text =~ s/\Q$from\E/$to/g or die "reload_with: $from not in $conf\n";
    open my $out, '>', $conf or die "$conf: $!\n";
    print $out $text;
    close $out;
    open my $fh, '<', $Test::Nginx::Util::PidFile or die "pid file: $!\n";
    my $pid = <$fh>;
    close $fh;
    chomp $pid;
    kill 'HUP', $pid or die "HUP $pid: $!\n";
    select(undef, undef, undef, 1.5);
}

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: labels are the redacted URLs: no userinfo, no query secrets
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
    location = /metrics {
        tasker_auth off;
        tasker_auth_metrics;
    }
--- request
GET /metrics
--- error_code: 200
--- response_body_like eval
qr{\A(?!.*(?:secret|scott))(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/a\.json\?\.\.\."\} 0$)(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/b\.json"\} 0$)}sm



=== TEST 2: after a reload that replaced b.json by c.json, b.json is no longer exported
--- init
::reload_with('/b.json;', '/c.json;');
--- request
GET /metrics
--- error_code: 200
--- response_body_like eval
qr{\A(?!.*b\.json)(?=.*^tasker_auth_jwks_keys\{url="http://127\.0\.0\.1:\d+/c\.json"\} 0$)}sm
