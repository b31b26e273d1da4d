package TaskerTest;

# Shared setup for the t/*.t integration tests: test-time keys (never committed) and tokens
# minted by t/lib/tasker_tokens.py with Debian's python3-jwt. Works under our runner and under
# the real Test::Nginx::Socket alike; it only sets %ENV and returns strings.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use JSON::PP ();
use Exporter 'import';

our @EXPORT = qw(tasker_keys tasker_tokens tasker_defaults tasker_slurp);

my $lib = dirname(abs_path(__FILE__));
my $python = $ENV{TEST_NGINX_PYTHON} || '/usr/bin/python3';

# Creates the key directory once per test run; exports TEST_NGINX_KEYS (its absolute path)
# and TEST_NGINX_MODULE (the built module) for the config sections.
sub tasker_keys {
    my $dir = $ENV{TEST_NGINX_KEYS} || abs_path("$lib/..") . "/tmp/keys";
    make_path($dir);
    system($python, "$lib/tasker_tokens.py", 'keys', $dir) == 0
        or die "tasker_tokens.py keys failed\n";
    $ENV{TEST_NGINX_KEYS} = $dir;
    $ENV{TEST_NGINX_MODULE} ||= abs_path("$lib/../..") . "/build/ngx_http_tasker_auth_module.so";
    return $dir;
}

# tasker_tokens(name => spec, ...) returns a hash of name => token (see tasker_tokens.py).
sub tasker_tokens {
    my %specs = @_;
    my $dir = tasker_keys();
    my $json = JSON::PP->new->canonical->encode(\%specs);
    my $tmp = "$dir/.spec.$$.json";
    open my $fh, '>', $tmp or die "$tmp: $!\n";
    print $fh $json;
    close $fh;
    my $out = `$python $lib/tasker_tokens.py mint $dir < $tmp`;
    unlink $tmp;
    die "tasker_tokens.py mint failed\n" if $? != 0;
    return %{ JSON::PP->new->decode($out) };
}

# Block defaults shared by every t/*.t file, through add_block_preprocessor (supported by the
# real Test::Nginx::Socket and by t/lib): load the module unless main_config is given, and add
# a public backend location /_backend that echoes what a protected location passed upstream.
# Protected locations proxy_pass to it, since the access phase runs after `return`.
sub tasker_defaults {
    my ($block) = @_;
    # a block without --- config keeps the previous block's nginx running (both runners)
    return unless defined $block->config;
    if (!defined $block->main_config) {
        $block->set_value('main_config', "load_module $ENV{TEST_NGINX_MODULE};\n");
    }
    my $config = $block->config;
    if (defined $config && $config !~ m{location /_backend}) {
        $block->set_value('config', $config . <<'NGX');
    location /_backend {
        tasker_auth off;
        return 200 "backend $request_method subject=$http_x_subject method=$http_x_auth_method permissions=$http_x_permissions\n";
    }
NGX
    }
}

# The content of a file, e.g. a JWKS document for a PUT body.
sub tasker_slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!\n";
    local $/;
    my $data = <$fh>;
    close $fh;
    return $data;
}

1;
