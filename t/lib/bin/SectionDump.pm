package SectionDump;

# Used by t/lib/bin/compare-sections through PERL5OPT=-MSectionDump: replaces run_tests() of
# whichever Test::Nginx::Socket comes first in @INC (ours or the real one) by a dump of every
# block's section values after the filters (eval, chomp, ...) and the block preprocessors,
# written to $ENV{SECTION_DUMP_OUT}.  No nginx is started.

use strict;
use warnings;
use Data::Dumper ();
require Test::Nginx::Socket;

sub dump_blocks () {
    my $out = $ENV{SECTION_DUMP_OUT} or die "SECTION_DUMP_OUT is not set\n";
    no warnings 'once';
    my @pre = (@Test::Nginx::Util::BlockPreprocessors, @Test::Nginx::Socket::BlockPreprocessors);
    open my $fh, '>', $out or die "$out: $!\n";
    local $Data::Dumper::Sortkeys = 1;
    local $Data::Dumper::Useqq = 1;
    local $Data::Dumper::Indent = 1;
    for my $block (main::blocks()) {
        $_->($block) for @pre;
        my $name = ref $block->{name} ? $block->{name}[0] : $block->{name};
        print $fh "=== $name\n";
        # section values are stored as $block->{section} = [values] by both runners
        for my $sec (sort grep { ref $block->{$_} eq 'ARRAY' && !/^_|^(name|description)$/ }
                     keys %$block) {
            my $text = Data::Dumper->new([$block->{$sec}])->Terse(1)->Dump;
            $text =~ s/\(\?\^u?:/(?^:/g;
            print $fh "--- $sec: $text";
        }
    }
    close $fh;
    exit 0;
}

{
    no warnings qw(redefine once);
    *Test::Nginx::Socket::run_tests = \&dump_blocks;
    *Test::Nginx::Util::run_tests   = \&dump_blocks;
}

1;
