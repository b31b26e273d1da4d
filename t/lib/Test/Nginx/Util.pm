package Test::Nginx::Util;

# Core-Perl-only subset of openresty's Test::Nginx::Util: the global settings,
# the server root layout, nginx.conf generation and the nginx process
# lifecycle used by t/lib/Test/Nginx/Socket.pm.  See t/lib/README.

use strict;
use warnings;

use Carp ();
use Exporter 'import';
use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Socket::INET ();
use POSIX qw(WNOHANG SIGQUIT SIGTERM SIGKILL);
use Test::More ();
use Time::HiRes qw(sleep time);

our @EXPORT = qw(
    repeat_each workers master_on master_off master_process_enabled log_level
    no_shuffle no_root_location no_long_string env_to_nginx
    add_block_preprocessor add_cleanup_handler server_port
    server_port_for_client server_addr server_name server_root html_dir
    timeout worker_connections config_preamble check_accum_error_log
    no_nginx_manager use_hup bail_out is_str use_http2
);

our @EXPORT_OK = qw(
    $ServerPort $ServerPortForClient $ServerAddr $ServerName $RepeatEach
    $NoShuffle $NoLongString $LogLevel $Timeout $TestNginxSleep $ErrLogFile
    $AccLogFile $ErrLogFilePos $NginxVersion $StartupLogInErrLog $ServerName
    @BlockPreprocessors
    parse_time expand_env_in_text setup_server_root write_user_files
    write_config_file nginx_version start_nginx stop_nginx error_log_data
    access_log_data cleanup
);

# Lets a .t file tell this runner from the real one (which does not set it).
our $TLibRunner = 1;

# ---- settings: same environment variables and defaults as the real one ----

our $Verbose              = $ENV{TEST_NGINX_VERBOSE};
our $NginxBinary          = $ENV{TEST_NGINX_BINARY} || _default_binary();
our $Workers              = 1;
our $WorkerConnections    = 64;
our $LogLevel             = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $ServerAddr           = '127.0.0.1';
our $ServerName           = 'localhost';
our $ServerPort           = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient  = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $Timeout              = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $TestNginxSleep       = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $NoShuffle            = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $CheckAccumErrLog     = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $LoadModules          = $ENV{TEST_NGINX_LOAD_MODULES};
our $WorkerUser           = $ENV{TEST_NGINX_WORKER_USER};
our $NoRootLocation       = 0;
our $RepeatEach           = 1;
our $NoLongString;
our $ConfigPreamble       = '';
our (@EnvToNginx, @BlockPreprocessors, @CleanupHandlers);

our $ServRoot   = $ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot');
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;
our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $StderrFile = "$LogDir/stderr.log";    # our addition: nginx's own stderr
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";

our $ErrLogFilePos = 0;
our $NginxVersion;      # canonical form, e.g. 1.022001
our $NginxPid;          # the nginx we started (our child, runs with daemon off)
our $StartupLogInErrLog;  # startup messages go to error.log too (nginx -e), not only stderr
my  $MainPid = $$;      # forked helpers must not stop nginx on exit

sub repeat_each (@)            { $RepeatEach = shift if @_; $RepeatEach }
sub workers (@)                { @_ ? ($Workers = shift) : $Workers }
sub worker_connections (@)     { @_ ? ($WorkerConnections = shift) : $WorkerConnections }
sub log_level (@)              { @_ ? ($LogLevel = shift) : $LogLevel }
sub timeout (@)                { @_ ? ($Timeout = shift) : $Timeout }
sub server_port (@)            { @_ ? ($ServerPort = shift) : $ServerPort }
sub server_port_for_client (@) { @_ ? ($ServerPortForClient = shift) : $ServerPortForClient }
sub server_addr (@)            { @_ ? ($ServerAddr = shift) : $ServerAddr }
sub server_name (@)            { @_ ? ($ServerName = shift) : $ServerName }
sub master_on ()               { $MasterProcessEnabled = 'on' }
sub master_off ()              { $MasterProcessEnabled = 'off' }
sub master_process_enabled (@) {
    return $MasterProcessEnabled unless @_;
    $MasterProcessEnabled = shift() ? 'on' : 'off';
}
sub no_shuffle ()              { $NoShuffle = 1 }
sub no_root_location ()        { $NoRootLocation = 1 }
sub no_long_string ()          { $NoLongString = 1 }
sub check_accum_error_log ()   { $CheckAccumErrLog = 1 }
sub config_preamble ($)        { $ConfigPreamble = shift }
sub server_root ()             { $ServRoot }
sub html_dir ()                { $HtmlDir }
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)    { unshift @CleanupHandlers, shift }
# "--- http2": the request goes through curl --http2-prior-knowledge and the
# server listens with "http2" (cleartext HTTP/2 only), as in the real one.  The
# real one's TEST_NGINX_USE_HTTP2 mode (every block over HTTP/2) is not supported.
sub use_http2 ($) {
    my $block = shift;
    return undef unless defined $block->http2;
    bail_out("cannot use --- http2 with --- raw_request") if defined $block->raw_request;
    bail_out("cannot use --- http2 with --- pipelined_requests")
        if defined $block->pipelined_requests;
    return 1;
}

sub no_nginx_manager ()        { bail_out("no_nginx_manager() is not supported by the t/lib runner") }
sub use_hup ()                 { warn "use_hup() is ignored by the t/lib runner\n" }

sub env_to_nginx (@) {
    Carp::croak("env_to_nginx: no arguments specified") unless @_;
    for my $v (@_) {
        Carp::croak("env_to_nginx: bad argument value: $v\n")
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

# String comparison honouring Regexp objects in the "expected" argument.
sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    return Test::More::like($got, $expected, $desc) if ref $expected eq 'Regexp';
    return Test::More::is($got, $expected, $desc);
}

# "1.5", "1.5s" or "50ms" => seconds.
sub parse_time ($) {
    my $tm = shift;
    return $tm unless defined $tm;
    if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
        $tm /= 1000;
    } else {
        $tm =~ s/([^_a-zA-Z])s$/$1/;
    }
    return $tm;
}

sub _default_binary {
    for my $dir (split /:/, $ENV{PATH} || '') {
        return "$dir/nginx" if $dir ne '' && -f "$dir/nginx" && -x _;
    }
    return -x '/usr/sbin/nginx' ? '/usr/sbin/nginx' : 'nginx';
}

sub nginx_version () {
    return $NginxVersion if defined $NginxVersion;
    my $out = `$NginxBinary -V 2>&1`;
    bail_out("Failed to get the version of the nginx binary $NginxBinary: " . ($out // ''))
        if !defined $out || $? != 0;
    $out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s
        or bail_out("Failed to parse the output of \"nginx -V\": $out\n");
    return $NginxVersion = sprintf "%d.%03d%03d", $1, $2, $3;
}

# ---- $TEST_NGINX_* expansion (config, http_config, main_config, user_files) ----

sub gen_rand_port {
    my ($used) = @_;
    for (1 .. 1000) {
        my $port = int(rand 63550) + 1985;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr, LocalPort => $port,
                                         Proto => 'tcp', Listen => 1, ReuseAddr => 1);
        next unless $sock;
        close $sock;
        return $port;
    }
    return undef;
}

sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return undef unless defined $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            if (!defined $rand_ports->{$var}) {
                my %used = ($ServerPort => 1, map { $_ => 1 } values %$rand_ports);
                $rand_ports->{$var} = gen_rand_port(\%used)
                    // bail_out("$name - Cannot find an available listening port number for $var.\n");
            }
            $rand_ports->{$var};
        } else {
            bail_out("$name - No environment $var defined.\n") unless defined $ENV{$var};
            $ENV{$var};
        }
    }eg;
    return $text;
}

# ---- server root and nginx.conf ----

sub _write_file {
    my ($path, $data) = @_;
    open my $out, '>', $path or bail_out("Can't open $path for writing: $!\n");
    binmode $out;
    print $out $data;
    close $out;
}

sub setup_server_root () {
    # Only remove what we create, in case TEST_NGINX_SERVROOT points somewhere odd.
    remove_tree($ConfDir, $HtmlDir, $LogDir, glob("$ServRoot/*_temp"), glob("$ServRoot/*_cache"))
        if -d $ServRoot;
    make_path($ServRoot, $LogDir, $HtmlDir, $ConfDir, { mode => 0755 });
    bail_out("Failed to create $ServRoot\n") unless -d $ConfDir && -d $LogDir && -d $HtmlDir;
    _write_file("$HtmlDir/index.html",
        '<html><head><title>It works!</title></head><body>It works!</body></html>');
}

# --- user_files: ">>> name [touch-date]" headers followed by the content, or eval'ed
# [[name, content, date], ...]; relative names go under html/.
sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;
    my $name  = $block->name;
    my $files = $block->user_files or return;
    if (!ref $files) {
        my @list;
        for my $line (split /^/, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, undef, $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type for --- user_files: ", ref $files);
    }
    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        make_path($1) if $path =~ m{(.*)/} && !-d $1;
        _write_file($path, expand_env_in_text($body // '', $name, $rand_ports));
        if ($date) {
            system("TZ=GMT touch -t '$date' '$path'") == 0
                or bail_out("$name - failed to touch $path with date $date\n");
        }
    }
}

sub write_config_file ($$$$) {
    my ($block, $config, $rand_ports, $log_level) = @_;
    my $name        = $block->name;
    my $main_config = $block->main_config // '';
    my $http_config = expand_env_in_text($block->http_config, $name, $rand_ports) // '';
    my $post_main   = expand_env_in_text($block->post_main_config, $name, $rand_ports) // '';
    my $err_log     = $block->error_log_file || $ErrLogFile;
    # --- http2: "http2 on;" where nginx has it (1.25.1+), else "listen ... http2"
    my ($listen_opts, $http2_directive) = ('', '');
    if (use_http2($block)) {
        if (nginx_version() >= 1.025001) {
            $http2_directive = ' http2 on;';
        } else {
            $listen_opts = ' http2';
        }
    }
    my $server_name = $block->server_name // $ServerName;
    $config //= '';

    if ($LoadModules) {
        my @modules = map { "load_module $_;" } grep { $_ } split /\s+/, $LoadModules;
        $main_config .= join ' ', @modules;
    }
    $main_config = expand_env_in_text($main_config, $name, $rand_ports);

    my $env = join '', map { my $v = /\s/ ? "'$_'" : $_; "env $v;\n" } @EnvToNginx;
    my $root_location = $NoRootLocation ? '' : <<"_EOC_";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    # The real runner daemonizes; we keep nginx in the foreground as our child so
    # that we know its pid and exit status and can capture its stderr.
    my $conf = <<"_EOC_";
worker_processes  $Workers;
daemon off;
master_process $MasterProcessEnabled;
error_log $err_log $log_level;
pid       $PidFile;
$env
$main_config

http {
    access_log $AccLogFile;

    default_type text/plain;
    keepalive_timeout  68;

    # not emitted by the real runner (it relies on the compiled-in defaults)
    client_body_temp_path $ServRoot/client_body_temp;
    proxy_temp_path       $ServRoot/proxy_temp;
    fastcgi_temp_path     $ServRoot/fastcgi_temp;
    uwsgi_temp_path       $ServRoot/uwsgi_temp;
    scgi_temp_path        $ServRoot/scgi_temp;

$http_config

    server {
        listen          $ServerPort$listen_opts;$http2_directive
        server_name     '$server_name';

        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root_location    }
}

$post_main

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
}
_EOC_
    if (defined $WorkerUser) {
        $conf .= "user $WorkerUser;\n";
    } elsif ($> == 0) {    # as root, like the real one: keep workers able to read servroot
        $conf .= "user root;\n";
    }
    _write_file($ConfFile, $conf);
}

# ---- the nginx process ----

sub _slurp {
    my $path = shift;
    open my $in, '<', $path or return '';
    local $/;
    return scalar <$in>;
}

sub _pid_from_file {
    my $pid = _slurp($PidFile);
    return $pid =~ /^\s*(\d+)/ ? $1 : 0;
}

sub _alive {
    my $pid = shift;
    my $r = waitpid($pid, WNOHANG);
    return 0 if $r == $pid;                 # reaped: it exited
    return $r == 0 ? 1 : kill(0, $pid);     # -1: not our child
}

sub kill_process {
    my ($pid, $name) = @_;
    my @plan = ([SIGQUIT, $Timeout], [SIGTERM, 2], [SIGKILL, 2]);
    for my $step (@plan) {
        my ($sig, $wait) = @$step;
        return unless _alive($pid);
        warn "$name - sending signal $sig to nginx $pid\n" if $Verbose || $sig == SIGKILL;
        kill $sig, $pid;
        for (my $t = 0; $t < $wait && _alive($pid); $t += 0.02) {
            sleep 0.02;
        }
    }
}

sub stop_nginx (;$) {
    my $name = shift // 'cleanup';
    if (defined $NginxPid) {
        kill_process($NginxPid, $name);
        undef $NginxPid;
    } elsif (my $pid = _pid_from_file()) {
        # left over by an earlier run (e.g. TEST_NGINX_NO_CLEAN); only kill an nginx
        my $cmd = _slurp("/proc/$pid/cmdline");
        kill_process($pid, $name) if $cmd =~ /nginx/ && kill(0, $pid);
    }
}

# Starts nginx in the foreground as our child and waits until it is serving (it
# wrote our child's pid into the pid file, which nginx does after binding its
# listening sockets) or has exited.
# Returns (1) when up, or (0, $wait_status, $stderr_text) when it exited.
sub start_nginx ($) {
    my $name = shift;
    my @cmd = ($NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile);
    # Send startup messages to error.log as a stock build (default logs/error.log) does;
    # Debian's nginx is built with --error-log-path=stderr.
    $StartupLogInErrLog = nginx_version() >= 1.019005;
    push @cmd, '-e', $ErrLogFile if $StartupLogInErrLog;
    warn "$name - starting: @cmd\n" if $Verbose;
    unlink $PidFile;

    my $pid = fork;
    bail_out("$name - fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        open STDIN,  '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', $StderrFile;
        delete $ENV{NGINX};    # would make nginx look for inherited sockets
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }

    my $deadline = time + 10 + $Timeout;
    while (1) {
        if (waitpid($pid, WNOHANG) == $pid) {
            return (0, $?, _slurp($StderrFile));
        }
        if (_pid_from_file() == $pid) {
            $NginxPid = $pid;
            sleep $TestNginxSleep;
            return (1);
        }
        if (time > $deadline) {
            kill_process($pid, $name);
            return (0, 0, "timed out waiting for nginx to start\n" . _slurp($StderrFile));
        }
        sleep 0.01;
    }
}

# ---- logs ----

sub error_log_data () {
    sleep $TestNginxSleep * 3;    # let log-phase handlers finish writing
    open my $in, '<', $ErrLogFile or return [];
    seek $in, $ErrLogFilePos, 0 if !$CheckAccumErrLog && $ErrLogFilePos > 0;
    my @lines = <$in>;
    $ErrLogFilePos = tell $in unless $CheckAccumErrLog;
    return \@lines;
}

sub access_log_data () {
    sleep $TestNginxSleep * 3;
    open my $in, '<', $AccLogFile or return [];
    return [<$in>];
}

sub cleanup () {
    $_->() for @CleanupHandlers;
    stop_nginx() unless $ENV{TEST_NGINX_NO_CLEAN};
}

END {
    local $?;    # keep the test script's exit status
    cleanup() if $$ == $MainPid;
}

1;
