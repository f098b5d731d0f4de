#!/usr/bin/perl
# A hostile guest for the end-to-end tests: PID 1 of a real VM (booted with
# `--init /hostile-init`) that speaks banger's framed protocol (proto/wire.h,
# proto/messages.h) on the agent port like the real agent, then lies when a
# file is copied out. The guest path asked for picks the lie:
#   /huge   announces 2^62 bytes
#   /short  announces 1000 bytes, sends 10
#   other   announces 10 bytes, sends 2 MiB
# Perl because Debian's minbase has it (and no python3).
use strict;
use warnings;
use Fcntl;

my $port;
for my $dir (glob "/sys/class/virtio-ports/vport*") {
  open(my $n, '<', "$dir/name") or next;
  my $name = <$n> // '';
  chomp $name;
  ($port) = $dir =~ m{/(vport[^/]+)$} if $name eq 'banger.agent';
}
die "hostile agent: no banger.agent port\n" unless $port;
sysopen(my $ch, "/dev/$port", O_RDWR) or die "hostile agent: /dev/$port: $!\n";

sub frame {
  my ($type, $id, $payload) = @_;
  my $bytes = "BNGR" . pack("CCvVV", 1, $type, 0, $id, length $payload) . $payload;
  while (length $bytes) {
    my $n = syswrite($ch, $bytes);
    die "hostile agent: write: $!\n" unless defined $n;
    substr($bytes, 0, $n) = '';
  }
}
sub str { return pack("V/a*", $_[0]); }

my %type = (hello => 1, ready => 2, error => 5, file_get => 33, file_data => 34, file_end => 35,
            file_info => 36);
my $hello = pack("VV", 1, 1) . str("hostile-agent") . pack("V", 0);
my $ready = pack("VVV", 0, 0, 0) . str("pid1") . str("hostile") . str("hostile");
frame($type{hello}, 0, $hello);
frame($type{ready}, 0, $ready);

my $buf = '';
for (;;) {
  my $n = sysread($ch, $buf, 65536, length $buf);
  next unless $n;
  while (length($buf) >= 16) {
    my ($t, $id, $len) = unpack("x5 C x2 V V", $buf);
    last if length($buf) < 16 + $len;
    my $payload = substr($buf, 16, $len);
    substr($buf, 0, 16 + $len) = '';
    if ($t == $type{hello}) {
      frame($type{hello}, 0, $hello);
      frame($type{ready}, 0, $ready);
    } elsif ($t == $type{file_get}) {
      my ($path) = unpack("V/a*", $payload);
      my ($announce, $send) = $path eq '/huge' ? (2**62, 0) : $path eq '/short' ? (1000, 10) : (10, 2 << 20);
      frame($type{file_info}, $id, pack("Q<V", $announce, 0100644));
      for (my $sent = 0; $sent < $send; $sent += 32768) {
        my $chunk = $send - $sent < 32768 ? $send - $sent : 32768;
        frame($type{file_data}, $id, "x" x $chunk);
      }
      frame($type{file_end}, $id, '');
    } elsif ($t != 3 && $t != 4 && $t != 48) {
      frame($type{error}, $id, str("unsupported") . str("the hostile agent does not do that"));
    }
  }
}
