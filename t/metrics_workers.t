# Metrics with two workers (issue 5): a known mix of traffic on separate connections (spread over
# both workers), then `nginx -s reload` (HUP, sent by --- init of the second block, which keeps the
# first block's nginx since it has no --- config), then exact counters summed over all workers.
# Each worker counts in a lane of its own (issue 11); the last blocks kill every worker with
# SIGKILL, so no lane is released, and check that nothing counted is lost.
use Test::Nginx::Socket 'no_plan';
use TaskerTest;
use PromCheck;

master_on();
workers(2);

my $now = time();
our %tok = tasker_tokens(
    reader  => { claims => { permissions => ['tasks:read'] } },
    lister  => { claims => { permissions => ['tasks:list'] } },
    expired => { claims => { exp => $now - 600 } },
);

our $as = '';
for my $name (sort keys %tok) {
    $as .= "    location = /as/$name {\n        tasker_auth off;\n"
         . "        proxy_set_header Authorization \"Bearer $tok{$name}\";\n"
         . "        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/t;\n    }\n";
}

sub reload {
    open my $fh, '<', $Test::Nginx::Util::PidFile or die "pid file: $!\n";
    my $pid = <$fh>;
    close $fh;
    chomp $pid;
    kill 'HUP', $pid or die "HUP $pid: $!\n";
    select(undef, undef, undef, 1.5);
}

# SIGKILL to every worker: the master starts new ones, as after a crash.
sub kill_workers {
    open my $fh, '<', $Test::Nginx::Util::PidFile or die "pid file: $!\n";
    my $master = <$fh>;
    close $fh;
    chomp $master;
    my @workers;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $sf, '<', $stat or next;
        my $line = <$sf>;
        close $sf;
        next unless defined $line && $line =~ /^(\d+) \(.*\) \S+ (\d+) /;
        push @workers, $1 if $2 == $master;
    }
    die "no worker of $master\n" unless @workers;
    kill 'KILL', @workers;
    select(undef, undef, undef, 1.5);
}

sub series { my ($line) = @_; my $q = quotemeta $line; return "(?=.*^$q\$)" }

add_block_preprocessor(\&tasker_defaults);
add_response_body_check(\&prom_check);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: traffic over both workers: 4 successes, 2 denials, 2 expired, 1 missing
--- config eval
$::as . '
    location = /t {
        tasker_auth on;
        tasker_jwt_public_key_path $TEST_NGINX_KEYS/rsa-public.pem;
        tasker_permission tasks:read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_backend;
    }
    location = /metrics {
        tasker_auth off;
        tasker_auth_metrics;
    }
'
--- request eval
["GET /as/reader", "GET /as/reader", "GET /as/lister", "GET /as/expired", "GET /t",
 "GET /as/reader", "GET /as/lister", "GET /as/expired", "GET /as/reader"]
--- error_code eval
[200, 200, 403, 401, 401, 200, 403, 401, 200]



=== TEST 2: after a reload the counters are intact, summed over the workers
--- init
::reload();
--- request
GET /metrics
--- error_code: 200
--- response_body_like eval
qr/(?sm)^${\ join '', map { ::series($_) } (
    'tasker_auth_requests_total{method="jwt",result="success"} 6',
    'tasker_auth_requests_total{method="jwt",result="failure"} 2',
    'tasker_auth_failures_total{reason="missing"} 1',
    'tasker_auth_failures_total{reason="expired"} 2',
    'tasker_permission_denials_total{permission="tasks:read"} 2',
    'tasker_auth_jwt_verification_duration_milliseconds_count{result="success"} 6',
    'tasker_auth_jwt_verification_duration_milliseconds_bucket{result="success",le="+Inf"} 6',
    'tasker_auth_jwt_verification_duration_milliseconds_count{result="failure"} 2',
    'tasker_auth_jwt_verification_duration_milliseconds_bucket{result="failure",le="+Inf"} 2',
 ) }(?=.*^tasker_auth_jwt_verification_duration_milliseconds_sum\{result="success"\} (?!0$)[0-9.]+$)/



=== TEST 3: every worker killed (a crash): their replacements serve
--- init
::kill_workers();
--- request eval
["GET /as/reader", "GET /as/expired", "GET /as/reader"]
--- error_code eval
[200, 401, 200]



=== TEST 4: the killed workers' counts survive, and their replacements' add to them
--- request
GET /metrics
--- error_code: 200
--- response_body_like eval
qr/(?sm)^${\ join '', map { ::series($_) } (
    'tasker_auth_requests_total{method="jwt",result="success"} 8',
    'tasker_auth_requests_total{method="jwt",result="failure"} 3',
    'tasker_auth_failures_total{reason="missing"} 1',
    'tasker_auth_failures_total{reason="expired"} 3',
    'tasker_permission_denials_total{permission="tasks:read"} 2',
    'tasker_auth_jwt_verification_duration_milliseconds_count{result="success"} 8',
    'tasker_auth_jwt_verification_duration_milliseconds_bucket{result="failure",le="+Inf"} 3',
 ) }/
