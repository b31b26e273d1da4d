package PromCheck;

# A response body check for the t/metrics*.t files: every /metrics page a block receives is
# parsed as the Prometheus text format 0.0.4 and held to SPEC 6. Core Perl only, so it always
# runs; when promtool is installed (Debian's prometheus package, not a build dependency) the page
# also goes through `promtool check metrics`.
#
#   use PromCheck;
#   add_response_body_check(\&prom_check);
#
# Checked: each line a HELP, TYPE or sample line; label values escaped as the format requires
# (\\, \", \n only); the six families of SPEC 6, each once and contiguous, HELP and TYPE first,
# with SPEC's type and label names; no series twice; non-negative values; per histogram series,
# le increasing and ending with "+Inf", cumulative counts non-decreasing, le="+Inf" equal to
# _count, and a _sum. promtool: no parse error, and no lint besides its advice to use seconds
# (the histogram's name, in milliseconds, is SPEC's). TEST_NGINX_PROMTOOL names another
# promtool; set it to "" to skip promtool.

use strict;
use warnings;
use File::Temp qw(tempfile);
use Test::More;
use Exporter 'import';

our @EXPORT = qw(prom_check prom_problems);

my $hist = 'tasker_auth_jwt_verification_duration_milliseconds';

# SPEC 6: family => [type, label names of its samples (sorted)]
my %spec = (
    tasker_auth_requests_total      => ['counter',   'method,result'],
    tasker_auth_failures_total      => ['counter',   'reason'],
    tasker_permission_denials_total => ['counter',   'permission'],
    $hist                           => ['histogram', 'result'],
    tasker_auth_jwks_refresh_total  => ['counter',   'result,url'],
    tasker_auth_jwks_keys           => ['gauge',     'url'],
);

# The problems found in a page, as a list of strings (empty: the page is fine).
sub prom_problems {
    my ($page) = @_;
    my (@bad, %seen_family, %series, %hists, $family, $typed);
    push @bad, 'page does not end with a newline' unless $page =~ /\n\z/;
    for my $line (split /\n/, $page) {
        if ($line =~ /^# HELP (\S+) (.+)$/) {
            my $name = $1;
            push @bad, "unknown family $name" unless $spec{$name};
            push @bad, "family $name appears twice" if $seen_family{$name}++;
            ($family, $typed) = ($name, 0);
            next;
        }
        if ($line =~ /^# TYPE (\S+) (\S+)$/) {
            push @bad, "TYPE $1 without its HELP first" unless defined $family && $1 eq $family;
            push @bad, "$1 has type $2" if $spec{$1} && $spec{$1}[0] ne $2;
            $typed = 1;
            next;
        }
        my ($name, $rest) = $line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$/;
        if (!defined $name) {
            push @bad, "not a sample line: $line";
            next;
        }
        my %labels;
        if ($rest =~ s/^\{//) {
            while ($rest =~ s/^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"//) {
                my ($k, $v) = ($1, $2);
                push @bad, "label $k twice in $line" if exists $labels{$k};
                $labels{$k} = $v;
                last unless $rest =~ s/^,//;
            }
            push @bad, "bad label set in $line" unless $rest =~ s/^\}//;
        }
        if ($rest !~ /^ ([0-9]+(?:\.[0-9]+)?)$/) {
            push @bad, "bad value in $line";
            next;
        }
        my $value = $1;
        my $base = $name;
        my $suffix = '';
        ($base, $suffix) = ($hist, $1) if $name =~ /^\Q$hist\E(_bucket|_sum|_count)$/;
        if (!defined $family || $base ne $family || !$typed) {
            push @bad, "sample outside its family (after HELP and TYPE): $line";
        }
        my $le = $suffix eq '_bucket' ? delete $labels{le} : undef;
        push @bad, "le missing in $line" if $suffix eq '_bucket' && !defined $le;
        my $keys = join ',', sort keys %labels;
        push @bad, "labels {$keys} in $line" if $spec{$base} && $spec{$base}[1] ne $keys;
        my $id = $name . '{' . join(',', map { "$_=$labels{$_}" } sort keys %labels)
               . (defined $le ? ",le=$le" : '') . '}';
        push @bad, "series twice: $id" if $series{$id}++;
        next unless $suffix;
        my $h = $hists{join ',', map { "$_=$labels{$_}" } sort keys %labels} ||= {};
        if ($suffix eq '_bucket') {
            push @{$h->{buckets}}, [$le, $value];
        } else {
            $h->{$suffix} = $value;
        }
    }
    for my $id (sort keys %hists) {
        my $h = $hists{$id};
        my @b = @{$h->{buckets} || []};
        push @bad, "$hist\{$id}: no buckets" unless @b;
        push @bad, "$hist\{$id}: last le is not +Inf" if @b && $b[-1][0] ne '+Inf';
        for my $i (1 .. $#b) {
            push @bad, "$hist\{$id}: le=$b[$i][0] not above le=$b[$i-1][0]"
                if $b[$i][0] ne '+Inf' && $b[$i][0] <= $b[$i-1][0];
            push @bad, "$hist\{$id}: bucket le=$b[$i][0] below the one before"
                if $b[$i][1] < $b[$i-1][1];
        }
        push @bad, "$hist\{$id}: no _sum" unless defined $h->{_sum};
        push @bad, "$hist\{$id}: no _count" unless defined $h->{_count};
        push @bad, "$hist\{$id}: le=\"+Inf\" is not _count"
            if @b && defined $h->{_count} && $b[-1][1] != $h->{_count};
    }
    for my $name (sort keys %spec) {
        push @bad, "family $name missing" unless $seen_family{$name};
    }
    return @bad;
}

sub promtool_problems {
    my ($page) = @_;
    my $tool = exists $ENV{TEST_NGINX_PROMTOOL} ? $ENV{TEST_NGINX_PROMTOOL} : '/usr/bin/promtool';
    return undef unless $tool ne '' && -x $tool;
    my ($fh, $file) = tempfile(UNLINK => 1);
    print $fh $page;
    close $fh;
    my $out = `'$tool' check metrics < '$file' 2>&1`;
    my $rc = $? >> 8;
    return () if $rc == 0;
    my @lines = grep { !/use base unit "seconds" instead of "milliseconds"/ } split /\n/, $out;
    return $rc == 3 && !@lines ? () : ("promtool exit $rc: $out");
}

# For add_response_body_check: checks bodies that are metrics pages, ignores the others.
sub prom_check {
    my ($block, $body) = @_;
    return unless defined $body && $body =~ /\A# HELP tasker_auth_requests_total /;
    my $name = $block->name;
    my @bad = prom_problems($body);
    ok(!@bad, "$name - metrics page is valid") or diag(join "\n", @bad);
    my @tool = promtool_problems($body);
    if (@tool && !defined $tool[0]) {
        return;    # no promtool
    }
    ok(!@tool, "$name - promtool check metrics") or diag(join "\n", @tool);
}

1;
