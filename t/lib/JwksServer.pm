package JwksServer;

# Perl side of t/lib/jwks_server.py, a JWKS endpoint that can misbehave on request, for the
# t/jwks_*.t files. Core Perl only, no runner internals, so it works under our runner and
# under the real Test::Nginx::Socket alike.
#
#   jwks_server_start();        # once, in the preamble: starts the helper and exports
#                               # TEST_NGINX_JWKS_PORT (data), TEST_NGINX_JWKS_REFUSE_PORT
#                               # (nothing listens there) and TEST_NGINX_JWKS_CTL_PORT
#   jwks_ctl(POST => '/reset'); # any control request (see jwks_server.py); returns the body
#   jwks_wait(path => '/doc/jwks.json', status => 200);   # --- init waits for what it needs
#   jwks_log();                 # the data requests so far, as an array of hashes
#
# The helper exits at the end of the test file (END below), or by itself when its parent goes.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IO::Socket::INET;
use JSON::PP ();
use Exporter 'import';

our @EXPORT = qw(jwks_server_start jwks_ctl jwks_wait jwks_log jwks_sleep_until);

my $lib = dirname(abs_path(__FILE__));
my ($pid, $out);    # $out stays open: closing a piped open waits for the child

sub jwks_server_start {
    return if $pid;
    my $python = $ENV{TEST_NGINX_PYTHON} || '/usr/bin/python3';
    my $keys = $ENV{TEST_NGINX_KEYS} or die "jwks_server_start: TEST_NGINX_KEYS is not set\n";
    $pid = open($out, '-|', $python, "$lib/jwks_server.py", '--keys', $keys)
        or die "jwks_server.py: $!\n";
    my $line = <$out>;
    defined $line && $line =~ /^data=(\d+) refuse=(\d+) ctl=(\d+)$/
        or die "jwks_server.py did not start\n";
    @ENV{qw(TEST_NGINX_JWKS_PORT TEST_NGINX_JWKS_REFUSE_PORT TEST_NGINX_JWKS_CTL_PORT)} =
        ($1, $2, $3);
    return;
}

END {
    local $?;    # waitpid sets it, and in END it is the test file's exit status
    if ($pid) {
        kill 'TERM', $pid;
        waitpid $pid, 0;
    }
}

# jwks_ctl(METHOD, PATH[, BODY]): a control request; dies unless it gets a 2xx.
sub jwks_ctl {
    my ($method, $path, $body) = @_;
    my ($status, $content) = _request($method, $path, $body);
    die "jwks_server: $method $path: $status\n" unless $status =~ /^2/;
    return $content;
}

sub _request {
    my ($method, $path, $body) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $ENV{TEST_NGINX_JWKS_CTL_PORT},
                                     Proto => 'tcp', Timeout => 5)
        or die "jwks_server: connect: $!\n";
    $body //= '';
    print $sock "$method $path HTTP/1.0\r\nHost: localhost\r\nContent-Length: "
              . length($body) . "\r\n\r\n$body";
    local $/;
    my $res = <$sock> // '';
    close $sock;
    my ($head, $content) = split /\r\n\r\n/, $res, 2;
    my ($status) = ($head // '') =~ m{^HTTP/1\.\d (\d+)};
    return ($status // 'no answer', $content // '');
}

# jwks_wait(path => P, count => N, status => S, started => 1, timeout => T): waits until N
# (1) requests for data path P have ended (with status S) or, with started, begun. Returns
# true when they did; on timeout it warns and returns false, and the block's own checks fail.
sub jwks_wait {
    my %a = (count => 1, timeout => 10, @_);
    my $q = join '&', map { "$_=$a{$_}" } grep { defined $a{$_} } qw(path count status started timeout);
    my ($status) = _request(GET => "/wait?$q");
    return 1 if $status eq '200';
    warn "jwks_wait($q): $status\n";
    return 0;
}

sub jwks_log {
    return JSON::PP->new->decode(jwks_ctl(GET => '/log'));
}

# jwks_sleep_until(EPOCH): sleeps until that time (Time::HiRes resolution).
sub jwks_sleep_until {
    require Time::HiRes;
    my $left = $_[0] - Time::HiRes::time();
    Time::HiRes::sleep($left) if $left > 0;
    return;
}

1;
