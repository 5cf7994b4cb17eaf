# The network benchmark's client (bench/net-download.mjs), run unchanged on the
# lab's "host" and inside each guest, so every row measures the same thing with
# the same tool (debian:12 has perl but no curl or wget).
# Args: HOST PORT BATCHES PER_BATCH BYTES DOWNLOADS
# Prints, one a line:
#   setup MS      mean connect + request + first byte of PER_BATCH fresh
#                 connections in a row (batched because a TCG guest's clock
#                 ticks every 4 ms: one connection is below its resolution)
#   download MS   a GET of BYTES bytes, connect to last byte
use strict;
use warnings;
use Socket;
use Time::HiRes qw(time);

my ($host, $port, $batches, $per_batch, $bytes, $downloads) = @ARGV;
my $addr = sockaddr_in($port, inet_aton($host));

# One HTTP/1.0 GET of N bytes; returns the seconds to its first and last byte.
sub get {
  my ($n) = @_;
  my $t0 = time;
  socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
  connect($s, $addr) or die "connect $host:$port: $!";
  syswrite($s, "GET /bytes/$n HTTP/1.0\r\nHost: $host\r\n\r\n") or die "write: $!";
  my ($buf, $got, $first) = ("", 0, undef);
  while (1) {
    my $r = sysread($s, $buf, 1 << 20);
    die "read: $!" unless defined $r;
    last if $r == 0;
    $first //= time;
    $got += $r;
  }
  close $s;
  die "short read: $got bytes for $n" if $got < $n;
  return ($first - $t0, time - $t0);
}

get(1);    # untimed: the first connection also pays for ARP and the stacks' first flow
for (1 .. $batches) {
  my $t0 = time;
  get(1) for 1 .. $per_batch;
  printf "setup %.3f\n", (time - $t0) * 1000 / $per_batch;
}
for (1 .. $downloads) {
  my (undef, $total) = get($bytes);
  printf "download %.3f\n", $total * 1000;
}
