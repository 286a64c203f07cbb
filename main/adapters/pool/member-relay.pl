#!/usr/bin/perl
# guestfwd program on a pool member: QEMU runs it once per guest connection (guestfwd=...-cmd:perl THIS
# 127.0.0.1 PORT), with the connection on stdin/stdout, and it splices that to PORT on the member's loopback:
# the remote forward of understudy's SSH connection, which carries it to the package proxy on the
# orchestrator. Perl and IO::Socket::INET come with perl-base (Essential on Debian and Ubuntu), so nothing is
# installed on the member. Guest EOF is passed on as a half-close; upstream EOF ends the relay.
use strict;
use warnings;
use IO::Socket::INET;
use Socket qw(SHUT_WR);

my ($host, $port) = @ARGV;
my $up = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp')
  or die "understudy relay $host:$port: $!\n";
binmode STDIN; binmode STDOUT; binmode $up;

sub put {
  my ($fh, $buf) = @_;
  while (length $buf) {
    my $n = syswrite($fh, $buf);
    return 0 unless defined $n;
    substr($buf, 0, $n, '');
  }
  return 1;
}

my $guest_open = 1;
for (;;) {
  my $rin = '';
  vec($rin, fileno(STDIN), 1) = 1 if $guest_open;
  vec($rin, fileno($up), 1) = 1;
  my $n = select(my $rout = $rin, undef, undef, undef);
  if ($n < 0) { next if $!{EINTR}; last; }
  if ($guest_open && vec($rout, fileno(STDIN), 1)) {
    my $r = sysread(STDIN, my $buf, 65536);
    if (!$r) { shutdown($up, SHUT_WR); $guest_open = 0; }
    elsif (!put($up, $buf)) { last; }
  }
  if (vec($rout, fileno($up), 1)) {
    my $r = sysread($up, my $buf, 65536);
    last if !$r || !put(\*STDOUT, $buf);
  }
}
exit 0;
