package Test::Nginx::Socket::Filter;

# Section filters ("--- request eval", "--- response_body chomp", ...) as in
# Test::Base::Filter.  This package comes first in the file so that eval'ed
# section code sees none of our lexicals.  Like the real one it runs under
# strict in a package of its own: refer to test-file globals as $::name.

use strict;
use warnings;

our $Arg;    # the "=value" part of a filter spec, e.g. "join=,"

sub eval_code {
    my @ret = eval $_[0];
    if ($@) {
        warn "eval filter failed: $@";
        return $@;    # Test::Base quietly uses the error text as the value
    }
    return @ret;
}

sub eval_raw { return eval $_[0] }

sub _each (&@) { my $code = shift; map { my $v = $_; $code->() for $v; $v } @_ }

our %Filters = (
    norm    => sub { my $t = shift // ''; $t =~ s/\015\012/\n/g; $t =~ s/\r/\n/g; $t },
    trim    => sub { _each { s/\A([ \t]*\n)+//; s/(?<=\n)\s*\z//g } @_ },
    chomp   => sub { _each { chomp } @_ },
    chop    => sub { _each { chop } @_ },
    unchomp => sub { map { "$_\n" } @_ },
    eval    => sub { eval_code(shift) },
    lines   => sub { my $t = shift; length $t ? ($t =~ /^(.*\n?)/gm) : () },
    array   => sub { [@_] },
    join    => sub { join $Arg // '', @_ },
);

package Test::Nginx::Socket::Block;

# One "=== TEST" block of the __DATA__ section, parsed like Test::Base does.
# Section values are read with $block->section_name (undef when absent).

use strict;
use warnings;
use Carp ();

our $AUTOLOAD;

sub new { bless { _order => [], _filters => {} }, shift }

sub set_value {
    my ($self, $key, @values) = @_;
    $self->{$key} = [@values];
    return;
}

sub AUTOLOAD {
    my $self = shift;
    (my $key = $AUTOLOAD) =~ s/.*:://;
    Carp::croak("Not allowed to set values for '$key'") if @_;
    my @list = @{ $self->{$key} || [] };
    return wantarray ? @list : $list[0];
}

sub DESTROY { }

sub parse_spec {
    my $spec = shift;
    if ($spec =~ s/\A\s*<<<(.*?)>>>\s*$//sm) {
        eval "package main; $1";
        die $@ if $@;
    }
    my @blocks;
    for my $hunk ($spec =~ /^(===.*?(?=^===|\z))/msg) {
        my $block = _make_block($hunk);
        if (exists $block->{ONLY}) {
            Test::More::diag("I found ONLY: maybe you're debugging?");
            return [$block];
        }
        next if exists $block->{SKIP};
        push @blocks, $block;
        last if exists $block->{LAST};
    }
    return \@blocks;
}

sub _make_block {
    my $hunk  = shift;
    my $block = __PACKAGE__->new;
    $hunk =~ s/\A===[ \t]*(.*)\s+// or die "bad block: $hunk";
    my $name  = $1;
    my @parts = split /^--- +\(?(\w+)\)? *(.*)?\n/m, $hunk;
    my $description = shift @parts;
    $description = $name unless defined $description && $description =~ /\S/;
    $description =~ s/\s*\z//;
    $block->set_value(description => $description);

    while (@parts) {
        my ($type, $filters, $value) = splice @parts, 0, 3;
        $filters //= '';
        $value   //= '';
        if ($filters =~ /:(\s|\z)/) {    # one-line form: "--- name [filters]: value"
            Carp::croak("Extra lines not allowed in '$type' section") if $value =~ /\S/;
            ($filters, $value) = split /\s*:(?:\s+|\z)/, $filters, 2;
            $value //= '';
            $value =~ s/^\s*(.*?)\s*$/$1/;
        }
        $block->{_filters}{$type} = $filters;
        push @{ $block->{_order} }, $type;
        $block->set_value($type, $value);
    }
    $block->set_value(name => $name);
    return $block;
}

# Default filters norm and trim, then the section's own; "-name" drops one.
sub _filter_list {
    my @filters = qw(norm trim);
    my @append;
    for my $f (split /\s+/, shift) {
        next unless length $f;
        if ($f =~ s/^-//) {
            @filters = grep { $_ ne $f } @filters;
        } elsif ($f =~ s/^\+//) {
            push @append, $f;
        } else {
            push @filters, $f;
        }
    }
    return (@filters, @append);
}

sub run_filters {
    my $self = shift;
    return if $self->{_filtered}++;
    for my $type (@{ $self->{_order} }) {
        my @value = @{ $self->{$type} };
        for my $filter (_filter_list($self->{_filters}{$type})) {
            my $arg = $filter =~ s/=(.*)$// ? $1 : undef;
            no strict 'refs';
            if (defined &{"main::$filter"}) {    # test-file filters win, as in Test::Base
                local $_ = (@value == 1 && !defined $value[0]) ? undef : join '', @value;
                @value = &{"main::$filter"}(@value);
                @value = ($_) if !@value
                    || (@value == 1 && defined $value[0] && $value[0] =~ /\A(\d+|)\z/);
                next;
            }
            my $code = $Test::Nginx::Socket::Filter::Filters{$filter}
                or die "Can't find a function or method for '$filter' filter\n";
            local $Test::Nginx::Socket::Filter::Arg = $arg;
            @value = $code->(@value);
        }
        $self->{$type} = \@value;
    }
}

package Test::Nginx::Socket::Response;

# The few bits of HTTP::Response that the checks need.

use strict;
use warnings;

sub new { my ($class, %args) = @_; bless { code => undef, headers => [], content => '', %args }, $class }
sub code { $_[0]{code} }

sub content {
    my $self = shift;
    $self->{content} = shift if @_;
    return $self->{content};
}

# Case-insensitive; "_" matches "-"; repeated headers are joined with ", ".
sub header {
    my ($self, $key) = @_;
    (my $want = lc $key) =~ tr/_/-/;
    my @values = map { $_->[1] } grep { lc $_->[0] eq $want } @{ $self->{headers} };
    return @values ? join(', ', @values) : undef;
}

package Test::Nginx::Socket;

# Core-Perl-only, Test::Nginx::Socket-compatible runner for the data-driven
# nginx tests in t/*.t.  See t/lib/README for what is supported.

use strict;
use warnings;

use Exporter ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(shuffle min);
use POSIX qw(EAGAIN EINTR EWOULDBLOCK);
use Scalar::Util qw(looks_like_number);
use Test::More ();
use Time::HiRes qw(sleep);

use Test::Nginx::Util;
use Test::Nginx::Util qw(
    $ServerPort $ServerPortForClient $ServerAddr $RepeatEach $NoShuffle $LogLevel
    $Timeout $TestNginxSleep $ErrLogFilePos $StartupLogInErrLog $ServerName @BlockPreprocessors
    parse_time expand_env_in_text setup_server_root write_user_files
    write_config_file nginx_version start_nginx stop_nginx error_log_data
    access_log_data cleanup
);

our @ISA = ('Exporter');

our @TestMore;
BEGIN {    # the Test::More functions that Test::Base re-exports
    @TestMore = qw(ok is isnt like unlike is_deeply cmp_ok skip todo_skip pass fail
                   eq_array eq_hash eq_set plan can_ok isa_ok diag note explain use_ok);
    no strict 'refs';
    *{"Test::Nginx::Socket::$_"} = \&{"Test::More::$_"} for @TestMore;
}

our @EXPORT = (@TestMore, @Test::Nginx::Util::EXPORT,
               qw(blocks run_tests run_test add_response_body_check no_diff));

# Sections of the real Test::Nginx::Socket that this runner does not implement;
# a block using one fails loudly instead of passing for the wrong reason.
my @Unsupported = qw(raw_request request_eval response_body_eval
    http3 stap stap_out stap_out_like tcp_listen udp_listen shutdown_error_log
    no_shutdown_error_log response_body_filters skip_nginx2 skip_openssl skip_slave
    todo todo_nginx curl curl_protocol curl_options curl_error raw_request_middle_delay
    http09 env);

our @ResponseBodyChecks;
our $PrevConfig;
my $BlockList;

# use Test::Nginx::Socket;  use Test::Nginx::Socket 'no_plan';  ... tests => N;
sub import {
    my ($class, @args) = @_;
    if (grep { /^-base$/i } @args) {    # "use Test::Nginx::Socket -Base" in a subclass
        @args = grep { !/^-base$/i } @args;
        no strict 'refs';
        push @{ caller() . '::ISA' }, __PACKAGE__;
    }
    # Test::Base puts "use strict; use warnings;" in front of every test file.
    strict->import;
    warnings->import;
    Test::More::plan(@args) if @args;
    __PACKAGE__->export_to_level(1, __PACKAGE__);
}

sub add_response_body_check ($) { push @ResponseBodyChecks, shift }
sub no_diff { }

sub _block_list {
    return $BlockList ||= do {
        my $spec = do { no strict 'refs'; no warnings; local $/; readline \*{'main::DATA'} };
        Test::Nginx::Socket::Block::parse_spec($spec // '');
    };
}

# blocks() counts (scalar context) or returns the blocks, minus SKIP ones;
# blocks('name') only those with a "--- name" section.
sub blocks {
    my $section = shift;
    my @blocks = @{ _block_list() };
    @blocks = grep { exists $_->{$section} } @blocks if $section;
    return scalar @blocks unless wantarray;
    $_->run_filters for @blocks;
    return @blocks;
}

sub run_tests () {
    bail_out("TEST_NGINX_USE_HTTP2 is not supported by the t/lib runner (use --- http2 per block)")
        if $ENV{TEST_NGINX_USE_HTTP2};
    nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;
    my @blocks = blocks();
    @blocks = shuffle @blocks unless $NoShuffle;
    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value(name => "$0 " . $block->name);
        run_test($block);
    }
    cleanup();
}

sub _skip_spec {
    my $block = shift;
    my $name  = $block->name;
    my ($skip, $count, $reason);
    if (defined(my $spec = $block->skip_eval)) {
        if ($spec =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            ($count, $reason) = ($1, 'skip_eval');
            my $code = $2;
            $skip = Test::Nginx::Socket::Filter::eval_raw($code);
            bail_out("$name - skip_eval - failed to eval the Perl code \"$code\": $@") if $@;
        }
    }
    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        my ($op, $ver) = ($2, sprintf("%d.%03d%03d", $3, $4, $5));
        ($count, $reason) = ($1, $6 || "nginx version $op $3.$4.$5");
        my $v = nginx_version();
        $skip = 1 if $op eq '<'  ? $v <  $ver : $op eq '<=' ? $v <= $ver
                   : $op eq '>'  ? $v >  $ver : $v >= $ver;
    }
    return ($skip, $count, $reason // 'various reasons');
}

sub run_test {
    my $block = shift;
    my $name  = $block->name;

    for my $section (@Unsupported) {
        next unless defined $block->$section;
        fail("$name - section \"--- $section\" is not supported by the t/lib Test::Nginx runner");
        return;
    }

    my $rand_ports = {};
    my $config     = expand_env_in_text($block->config, $name, $rand_ports);
    my $log_level  = $block->log_level || $LogLevel;
    my ($skip, $skip_count, $skip_reason) = _skip_spec($block);
    my $server_up  = 1;

    if (!$skip) {
        if (defined $config) {
            stop_nginx($name);
            setup_server_root();
            write_user_files($block, $rand_ports);
            write_config_file($block, $config, $rand_ports, $log_level);
            $PrevConfig = $config;
            return run_must_die($block) if defined $block->must_die;

            my ($up, $status, $stderr) = start_nginx($name);
            if (!$up) {
                $server_up = 0;
                diag("$name - nginx failed to start (exit code " . ($status >> 8) . "):\n$stderr");
            }
        } elsif (!defined $PrevConfig) {
            bail_out("$name - No '--- config' section specified and could not get previous one.");
        }
        # else: no "--- config": keep using the nginx of the previous block, as the real one does
    }

    if (defined(my $init = $block->init)) {
        Test::Nginx::Socket::Filter::eval_raw($init);
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;
    for my $i (0 .. $RepeatEach - 1) {
        write_user_files($block, $rand_ports) if $i > 0;
        if ($skip && defined $skip_count) {
            SKIP: { skip("$name - $skip_reason", $skip_count) }
            next;
        }
        run_test_helper($block, $server_up, $i);
    }
}

# "--- must_die [exit code]": nginx must fail to start; the request is not sent.
# One test per repetition, plus the error_log/no_error_log ones.  The startup
# messages are in error.log (nginx -e) or else taken from nginx's stderr.
sub run_must_die {
    my $block    = shift;
    my $name     = $block->name;
    my $must_die = $block->must_die;
    $ErrLogFilePos = 0;
    for my $i (0 .. $RepeatEach - 1) {
        my ($up, $status, $stderr) = start_nginx($name);
        $status = 0 if $up;
        my $exit_code = $status >> 8;
        if (!$up && $exit_code == 127 && $stderr eq '') {
            fail("$name - failed to execute the nginx command line");
        } elsif ($status & 128) {
            fail("$name - nginx core dumped");
        } elsif (looks_like_number($must_die)) {
            is($must_die, $exit_code, "$name - die with the expected exit code");
        } else {
            isnt($status, 0, "$name - die as expected");
        }
        check_error_log($block, $i, $StartupLogInErrLog ? [] : [split /^/, $stderr // '']);
        if ($up) {
            warn "WARNING: $name - nginx must die but it does not; killing it (req $i)\n";
            stop_nginx($name);
        }
    }
}

sub run_test_helper {
    my ($block, $server_up, $rep) = @_;
    my $name    = $block->name;
    my $timeout = parse_time($block->timeout) // $Timeout;

    return run_pipelined($block, $server_up, $rep, $timeout)
        if defined $block->pipelined_requests;

    my $reqs    = build_requests($block);
    my $need_array = @$reqs > 1;
    my $http2   = use_http2($block);

    for my $idx (0 .. $#$reqs) {
        my ($raw, $head) = !$server_up ? ('', 0)
                         : $http2      ? send_http2_request($block, $reqs->[$idx], $timeout)
                         :               send_request($block, $reqs->[$idx], $timeout);
        if (!defined $block->ignore_response) {
            my ($res, $raw_headers, $left) = parse_response($name, $raw, $head);
            if (defined $left && length $left) {
                $left =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                warn "WARNING: $name - unexpected extra bytes after last chunk in response: \"$left\"\n";
            }
            check_response($block, $res, $raw_headers, $idx, $need_array, $rep);
        }
        if ($idx < $#$reqs) {    # between requests of a multi-request block
            sleep $block->wait if $block->wait;
            check_error_log($block, $rep);
            check_access_log($block, $rep) unless defined $block->ignore_response;
        }
    }
    sleep $block->wait if $block->wait;
    check_error_log($block, $rep);
    check_access_log($block, $rep) unless defined $block->ignore_response;
}

sub check_response {
    my ($block, $res, $raw_headers, $idx, $need_array, $rep) = @_;
    my @args = ($block, $res, $idx, $need_array);
    check_error_code(@args);
    check_raw_response_headers($block, $raw_headers, $idx, $need_array);
    check_response_headers(@args, $raw_headers);
    check_response_body(@args, $rep);
}

# "--- pipelined_requests eval [...]": all requests written at once on one
# connection (Connection: keep-alive on all but the last, which has close), then
# the responses parsed one after the other; expectations are arrays, and the log
# checks run after each response, as in the real one.
sub run_pipelined {
    my ($block, $server_up, $rep, $timeout) = @_;
    my $name = $block->name;
    my $reqs = $block->pipelined_requests;
    bail_out("$name - invalid entries in --- pipelined_requests") unless ref $reqs eq 'ARRAY';
    my $more = $block->more_headers || '';
    my $all  = '';
    for my $i (0 .. $#$reqs) {
        my $hdrs = ref $more eq 'ARRAY' ? $more->[$i] : $more;
        bail_out("--- more_headers lacks data for the $i pipelined request") unless defined $hdrs;
        $all .= build_request($name, $reqs->[$i], $hdrs, $i < $#$reqs ? 'keep-alive' : 'close');
    }
    my ($raw, $head) = $server_up ? send_request($block, $all, $timeout) : ('', 0);
    for my $idx (0 .. $#$reqs) {
        if (!defined $block->ignore_response) {
            my ($res, $raw_headers, $left) = parse_response($name, $raw // '', $head);
            check_response($block, $res, $raw_headers, $idx, 1, $rep);
            $raw = $left;
        }
        if ($idx < $#$reqs) {
            sleep $block->wait if $block->wait;
            check_error_log($block, $rep);
            check_access_log($block, $rep) unless defined $block->ignore_response;
        }
    }
    sleep $block->wait if $block->wait;
    check_error_log($block, $rep);
    check_access_log($block, $rep) unless defined $block->ignore_response;
}

# ---- requests ----

sub _indexed {
    my ($name, $value, $idx, $need_array) = @_;
    if (ref $value eq 'ARRAY') {
        return $value->[$idx];
    }
    bail_out("$name - You asked for many requests, the expected results should be arrays as well.")
        if $need_array;
    return $value;
}

sub build_requests {
    my $block   = shift;
    my $name    = $block->name;
    my $request = $block->request;
    bail_out("$name - no --- request section") unless defined $request;
    if (!ref $request) {
        1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;    # leading comment lines
    }
    my @reqs = ref $request eq 'ARRAY' ? @$request : ($request);
    my $more = $block->more_headers || '';
    my @out;
    for my $i (0 .. $#reqs) {
        bail_out("$name - packet arrays in --- request are not supported by the t/lib runner")
            if ref $reqs[$i];
        my $hdrs = ref $more eq 'ARRAY' ? $more->[$i] : $more;
        bail_out("$name - --- more_headers lacks data for the ${i}th request") unless defined $hdrs;
        push @out, build_request($name, $reqs[$i], $hdrs);
    }
    return \@out;
}

# "METHOD [uri [version]]" on the first line, the body on the following lines.
# Adds Host, Connection: close, the more_headers and Content-Length (the body is
# then trimmed of leading and trailing whitespace), like the real one.
sub build_request {
    my ($name, $req, $more_headers, $conn) = @_;
    $conn //= 'close';
    my ($hdrs, $chunked) = ('', 0);
    for my $line (split /\n+/, $more_headers) {
        next if $line =~ /^\s*\#/;
        my ($key, $val) = split /:\s*/, $line, 2;
        $val //= '';
        $chunked = 1 if lc $key eq 'transfer-encoding' && $val eq 'chunked';
        $hdrs .= "$key: $val\r\n";
    }

    my ($first, $content) = $req =~ /\A([^\n]*\n?)(.*)\z/s;
    bail_out("$name - Request line should be non-empty") unless length $first;
    $first =~ /^\s*(\S+) *(?:(\S+) *)?(?:(\S+) *)?\s*$/
        or bail_out("$name - Request line is not valid. Should be 'meth [url [version]]' but got \"$first\".");
    my ($meth, $url, $ver) = ($1, $2 // '/', $3 // 'HTTP/1.1');

    my $len = '';
    if (!$chunked && $content ne '' && $hdrs !~ /(?:^|\n)Content-Length:/) {
        $content =~ s/^\s+|\s+$//gs;
        $len = "Content-Length: " . length($content) . "\r\n";
    }
    my $head = '';
    $head .= "Host: $ServerName\r\n" if $hdrs !~ /(?:^|\n)Host:/msi;
    $head .= "Connection: $conn\r\n" if $hdrs !~ /(?:^|\n)Connection/msi;
    return "$meth $url $ver\r\n$head$hdrs$len\r\n$content";
}

# Sends one request on a new connection and reads until the server closes it.
# The timeout applies to each wait for the socket, as in the real one.
sub send_request {
    my ($block, $req, $timeout) = @_;
    my $name = $block->name;
    my $head = $req =~ /^\s*HEAD\s+/ ? 1 : 0;
    my $addr = $block->server_addr_for_client // $ServerAddr;

    my $sock;
    for my $try (1 .. 20) {
        $sock = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $ServerPortForClient,
                                      Proto => 'tcp', Timeout => $timeout) and last;
        sleep min(1, $TestNginxSleep * $try * ($try + 1) / 2);
    }
    if (!$sock) {
        fail("$name - Can't connect to $addr:$ServerPortForClient: $! (aborted)\n");
        return ('', $head);
    }
    $sock->blocking(0);
    my $sel = IO::Select->new($sock);
    my $on_timeout = sub {
        fail("ERROR: client socket timed out - $name\n") unless defined $block->abort;
    };

    for (my $off = 0; $off < length $req;) {
        if (!$sel->can_write($timeout)) { $on_timeout->(); return ('', $head) }
        my $n = syswrite $sock, $req, length($req) - $off, $off;
        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            warn "write failed: $!\n";
            last;
        }
        $off += $n;
    }
    if (defined(my $how = $block->shutdown)) {
        shutdown $sock, ($how =~ /^\s*$/ ? 1 : $how);
    }

    my $resp = '';
    while (1) {
        if (!$sel->can_read($timeout)) { $on_timeout->(); last }
        my $n = sysread $sock, my $buf, 16384;
        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            warn "WARNING: $name - HTTP response read failure: $!";
            last;
        }
        last if $n == 0;
        $resp .= $buf;
    }
    close $sock;
    return ($resp, $head);
}

# "--- http2": the request (as built above) is sent by curl over cleartext
# HTTP/2 with prior knowledge, with the options the real one uses; curl -i
# prints the response as "HTTP/2 200" plus headers and body, parsed as usual.
sub send_http2_request {
    my ($block, $req, $timeout) = @_;
    my $name = $block->name;
    my $head = $req =~ /^\s*HEAD\s+/ ? 1 : 0;

    my ($meth, $uri, $ver) = $req =~ m{^\s*(\w+)\s+(\S+)\s+HTTP/(\S+)\r?\n}
        or bail_out("$name - cannot parse the status line in the request: $req");
    my ($hdrs, $body) = $req =~ m{\A[^\n]*\n(.*?)\r?\n\r?\n(.*)\z}s
        or bail_out("$name - cannot parse the header entries in the request: $req");

    my @args = ('curl', '-i', '-H', 'User-Agent:', '-H', 'Accept:', '-H', 'Host:', '-sS',
                '--http2', '--http2-prior-knowledge');
    push @args, $meth eq 'HEAD' ? ('-I') : ('-X', $meth);
    push @args, '-0' if $ver ne '1.1';
    my @headers = grep { !/^Connection\s*:/i } split /\r\n/, $hdrs;
    push @args, '-H', $_ for @headers;
    if (length $body) {
        push @args, '-H', 'Content-Type: ' unless grep { /^\s*Content-Type\s*:/i } @headers;
        my $file = "$Test::Nginx::Util::HtmlDir/curl.data.bin";
        open my $fh, '>', $file or bail_out("$name - cannot write $file: $!");
        binmode $fh;
        print $fh $body;
        close $fh;
        push @args, '--data-binary', "\@$file";
    }
    my $addr = $block->server_addr_for_client // $ServerAddr;
    push @args, '--connect-timeout', $timeout, '--max-time', $timeout,
                "http://$addr:$ServerPortForClient$uri";

    my ($out, $err) = _run_capture(@args);
    if (!defined $out) {
        fail("$name - failed to run curl: $err");
        return ('', $head);
    }
    if ($out eq '') {
        fail("$name - command \"@args\" generates " . ($err ne '' ? "stderr output: $err" : 'no stdout output'));
        return ('', $head);
    }
    warn "WARNING: $name - command \"@args\" generates stderr output: $err" if $err ne '';
    return ($out, $head);
}

# Runs a command; returns its stdout and stderr (undef stdout if it cannot run).
sub _run_capture {
    my @cmd = @_;
    require File::Temp;
    my $errfh = File::Temp->new;
    my $pid = open(my $from, '-|') // return (undef, "fork failed: $!");
    if ($pid == 0) {
        open STDERR, '>&', $errfh or POSIX::_exit(127);
        open STDIN, '<', '/dev/null';
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    binmode $from;
    my $out = do { local $/; <$from> } // '';
    close $from;
    my $status = $?;
    seek $errfh, 0, 0;
    my $err = do { local $/; <$errfh> } // '';
    return (undef, "exit status " . ($status >> 8) . ": $err") if ($status >> 8) == 127 && $out eq '';
    return ($out, $err);
}

# ---- responses ----

# Returns ($res, $raw_headers, $left) or () on broken chunked data, as the real one.
sub parse_response {
    my ($name, $raw, $head) = @_;
    my $raw_headers = $raw =~ /(.*?\r\n)\r\n/s ? $1 : '';

    my $str = $raw;
    my $status_line = $str =~ s/^(.*)\n// ? $1 : do { my $s = $str; $str = ''; $s };
    $status_line =~ s/\r\z//;
    my (undef, $code) = split ' ', $status_line, 3;
    $code = undef unless defined $code && $code =~ /^\d+$/;
    my @headers;
    while ($str =~ s/^([^\s:]+)[ \t]*: ?(.*)\n?//) {
        my ($key, $val) = ($1, $2);
        $val =~ s/\r\z//;
        push @headers, [$key, $val];
    }
    $str =~ s/^\r?\n//;
    my $res = Test::Nginx::Socket::Response->new(code => $code, headers => \@headers, content => $str);
    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $left;
    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    if (defined $enc && $enc eq 'chunked') {
        my $decoded = '';
        while (1) {
            if ($str =~ /\G 0 [\ \t]* \r\n \r\n /gcsx) {
                $left = $1 if $str =~ /\G (.+) /gcsx;
                last;
            }
            if ($str =~ /\G [\ \t]* ([A-Fa-f0-9]+) [\ \t]* \r\n /gcsx) {
                my ($size, $pos) = (hex $1, pos $str);
                if (length($str) - $pos < $size) {
                    fail("$name - invalid chunked data received (not enought octets for the data section)");
                    return;
                }
                $decoded .= substr $str, $pos, $size;
                pos($str) = $pos + $size;
                if ($str !~ /\G\r\n/gcs) {
                    fail("$name - invalid chunked data received (expected CRLF).");
                    return;
                }
            } elsif ($str =~ /\G(.+)/gcs) {
                fail("$name - invalid chunked body received: $1");
                return;
            } else {
                fail("$name - no last chunk found - $str");
                return;
            }
        }
        $res->content($decoded);
    } elsif (defined $len && $len =~ /^\d+$/) {
        if (length $str < $len) {
            warn "WARNING: $name - response body truncated: $len expected, but got ",
                 length $str, "\n" unless $head;
        } elsif (length $str > $len) {
            $left = substr $str, $len;
            $res->content(substr $str, 0, $len);
        }
    }
    return ($res, $raw_headers, $left);
}

# ---- checks: test names and counts follow the real Test::Nginx::Socket ----

sub check_error_code {
    my ($block, $res, $idx, $need_array) = @_;
    my $name = $block->name;
    my $got  = ($res && $res->code) || '';
    if (defined $block->error_code_like) {
        my $val = _indexed($name, $block->error_code_like, $idx, $need_array);
        like($got, qr/$val/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        is($got, _indexed($name, $block->error_code, $idx, $need_array), "$name - status code ok");
    } else {
        is($got, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers {
    my ($block, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;
    $raw_headers //= '';
    if (defined $block->raw_response_headers_like) {
        my $re = _indexed($name, $block->raw_response_headers_like, $idx, $need_array);
        like($raw_headers, qr/$re/s, "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $re = _indexed($name, $block->raw_response_headers_unlike, $idx, $need_array);
        unlike($raw_headers, qr/$re/s, "$name - raw resp headers unlike");
    }
}

# "Name: value" lines; "!Name" means absent; one test per distinct name.
sub _parse_headers {
    my %headers;
    for my $line (split /\n/, shift // '') {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';
        if ($line =~ s/^!\s*//) {
            $headers{$line} = undef;
        } else {
            my ($key, $val) = split /\s*:\s*/, $line, 2;
            $headers{$key} = $val;
        }
    }
    return \%headers;
}

sub check_response_headers {
    my ($block, $res, $idx, $need_array, $raw_headers) = @_;
    my $name = $block->name;
    $raw_headers //= '';
    if (defined $block->response_headers) {
        my $headers = _parse_headers(_indexed($name, $block->response_headers, $idx, $need_array));
        for my $key (sort keys %$headers) {
            my $val = $headers->{$key};
            if (!defined $val) {    # case-sensitive, like the real one
                unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                       "$name - header $key not present in the raw headers");
                next;
            }
            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            is(($res ? $res->header($key) : undef) // '', $val, "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        my $headers = _parse_headers(_indexed($name, $block->response_headers_like, $idx, $need_array));
        for my $key (sort keys %$headers) {
            my $val = $headers->{$key} // '';
            like(($res ? $res->header($key) : undef) // '', qr/^$val$/, "$name - header $key like ok");
        }
    }
}

sub check_response_body {
    my ($block, $res, $idx, $need_array, $rep) = @_;
    my $name    = $block->name;
    my $content = $res ? $res->content : undef;
    if (defined $block->response_body) {
        my $expected = _indexed($name, $block->response_body, $idx, $need_array);
        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }
        my $desc = "$name - response_body - %s (repeated req $rep, req $idx)";
        if (ref $expected) {
            like($content, $expected, sprintf $desc, 'like');
        } else {
            is($content, $expected, sprintf $desc, 'response is expected');
        }
    } elsif (defined $block->response_body_like || defined $block->response_body_unlike) {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $pat  = _indexed($name, $block->${\"response_body_$type"}, $idx, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        (my $summary = $content // '') =~ s/^\s+|\s+$//g;
        $summary =~ s/\n/ /g;
        $summary =~ s/\s{2,}/ /g;
        my $cmp = $type eq 'like' ? \&like : \&unlike;
        $cmp->($content, qr/$pat/s, "$name - response_body_$type - response is expected ($summary)");
    }
    $_->($block, $content, $idx, $rep, 0) for @ResponseBodyChecks;
}

sub _patterns {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return ref $pats eq 'Regexp' ? [$pats] : [@$pats];
}

sub _matches { my ($line, $pat) = @_; (ref $pat && $line =~ /$pat/) || $line =~ /\Q$pat\E/ }

sub _fmt {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

# error_log / access_log: one test per pattern (pass when some line matches).
# no_error_log / no_access_log: one passing test per pattern that matches no
# line, one failing test per matching line.
sub _check_log_patterns {
    my ($block, $lines, $log, $want, $unwant, $rep) = @_;
    my $name = $block->name;
    if (defined(my $value = $block->$want)) {
        my $pats = _patterns($value);
        for my $line (@$lines) {
            for my $pat (@$pats) {
                next unless defined $pat && _matches($line, $pat);
                pass("$name - pattern \"$pat\" matches a line in $log (req $rep)");
                undef $pat;
            }
        }
        defined and fail("$name - pattern \"$_\" should match a line in $log (req $rep)") for @$pats;
    }
    if (defined(my $value = $block->$unwant)) {
        my $pats = _patterns($value);
        my %found;
        for my $i (0 .. $#$lines) {
            for my $pat (@$pats) {
                next unless _matches($lines->[$i], $pat);
                $found{$pat} = 1;
                my @more = @$lines[$i + 1 .. min($i + 9, $#$lines - 1)];
                fail("$name - pattern \"" . _fmt($pat) . "\" should not match any line in $log"
                     . " but matches line \"" . _fmt($lines->[$i]) . "\" (req $rep)\n" . join '', @more);
            }
        }
        for my $pat (grep { !$found{$_} } @$pats) {
            pass("$name - pattern \"" . _fmt($pat) . "\" does not match a line in $log (req $rep)");
        }
    }
}

sub check_error_log {
    my ($block, $rep, $extra_lines) = @_;
    my $name  = $block->name;
    my $lines = [@{ error_log_data() }, @{ $extra_lines || [] }];

    if (defined(my $grep = $block->grep_error_log)) {
        $grep = $grep->[$rep] if ref $grep eq 'ARRAY';
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but --- grep_error_log is defined")
            unless defined $expected;
        $expected = $expected->[$rep] if ref $expected eq 'ARRAY';
        my $matched = '';
        for my $line (@$lines) {
            if ((ref $grep && $line =~ /$grep/) || $line =~ /\Q$grep\E/) {
                $matched .= "$&\n" if $& !~ /\n/;
            }
        }
        is_str($matched, $expected, "$name - grep_error_log_out (req $rep)");
    }

    _check_log_patterns($block, $lines, 'error.log', 'error_log', 'no_error_log', $rep);

    # like the real one: warn about alert/crit/emerg lines that no pattern mentions
    # (but [emerg] is expected in must_die blocks)
    my @mentioned = map { defined $_ ? @{ _patterns($_) } : () } $block->error_log, $block->no_error_log;
    for my $level (defined $block->must_die ? qw(alert crit) : qw(alert crit emerg)) {
        next if grep { index("$_", "[$level") >= 0 } @mentioned;
        warn "WARNING: $name - ", _fmt($_), "\n" for grep { /\[$level\]/ } @$lines;
    }
    for my $line (grep { /\bAssertion .*?failed\b/ } @$lines) {
        chomp(my $l = $line);
        fail("$name - $l\n");
    }
}

sub check_access_log {
    my ($block, $rep) = @_;
    return unless defined $block->access_log || defined $block->no_access_log;
    _check_log_patterns($block, access_log_data(), 'access.log', 'access_log', 'no_access_log', $rep);
}

1;
