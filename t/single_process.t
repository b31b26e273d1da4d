# "master_process off" (issue 10): a reload builds a new cycle in the same process but nginx does
# not run init_process again, so the JWKS timer and key sets would stay on the old cycle. Such a
# reload is refused while JWKS is used; the running configuration keeps serving.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;

master_off();

sub hup {
    open my $fh, '<', $Test::Nginx::Util::PidFile or die "pid file: $!\n";
    my $pid = <$fh>;
    close $fh;
    chomp $pid;
    kill 'HUP', $pid or die "HUP $pid: $!\n";
    select(undef, undef, undef, 1);
}

add_block_preprocessor(\&tasker_defaults);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: JWKS configured, single process: serving
--- config
    location = /t {
        tasker_auth on;
        tasker_jwt_verification_method jwks;
        tasker_jwks_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/no-such-jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
--- request
GET /t
--- error_code: 401



=== TEST 2: a reload is refused with a clear message, the old configuration keeps serving
--- init
::hup();
--- request
GET /t
--- error_code: 401
--- error_log
a reload with "master_process off" cannot replace the JWKS key sets (tasker_jwks_url); restart nginx instead
