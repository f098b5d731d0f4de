#!/usr/bin/perl
# A hostile guest for the end-to-end tests: PID 1 of a real VM (booted with
# `--init /hostile-init`) that speaks banger's framed protocol (proto/wire.h,
# proto/messages.h) on the agent port like the real agent, then lies when a
# file or tree is copied out. The guest path asked for picks the lie.
# file_get (the file protocol):
#   /huge   announces 2^62 bytes
#   /short  announces 1000 bytes, sends 10
#   other   announces 10 bytes, sends 2 MiB
# The agent's --tar-create tool (what `vm cp` runs), a tar stream on stdout:
#   /huge /short /etc/hostname  the same lies in a tar header
#   /dotdot     "../escaped"           /abs      an absolute name
#   /symlink    a symlink "up" -> "..", then "up/escaped" through it
#   /belowfile  a file "f", then "f/escaped"
#   /twice      a symlink "same" -> /etc/passwd, then a file "same"
#   /trailing   a good stream, then 2 MiB after its end
#   /failing    half a stream, then exit 1 with an escape sequence on stderr
#   other       exit 2, "No such file or directory"
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

my %type = (hello => 1, ready => 2, error => 5, exec => 16, exec_started => 17, stdout_data => 20,
            stderr_data => 21, exit => 22, file_get => 33, file_data => 34, file_end => 35, file_info => 36);

# A ustar header; sizes past 11 octal digits in base-256.
sub tar_header {
  my ($name, $type, $size, $link) = @_;
  my $sizefield = $size < 8**11 ? sprintf("%011o", $size) : "\x80" . pack("x3 Q>", $size);
  my $h = pack("a100 a8 a8 a8 a12 a12 a8 a1 a100 a6 a2 a32 a32 a8 a8 a155 a12",
               $name, sprintf("%07o", $type eq '5' ? 0755 : 0644), "0000000", "0000000", $sizefield,
               sprintf("%011o", 1700000000), " " x 8, $type, $link // '', "ustar", "00", "", "", "", "", "", "");
  substr($h, 148, 8) = sprintf("%06o\0 ", unpack("%32C*", $h));
  return $h;
}
sub tar_file {
  my ($name, $data) = @_;
  my $pad = (512 - length($data) % 512) % 512;
  return tar_header($name, '0', length $data) . $data . ("\0" x $pad);
}
my $root = tar_header("./", '5', 0);
my $end = "\0" x 1024;
my %tar = (
  '/etc/hostname' => tar_header(".", '0', 10) . ("x" x (2 << 20)),
  '/short'        => tar_header(".", '0', 1000) . ("x" x 10),
  '/huge'         => tar_header(".", '0', 2**62),
  '/dotdot'       => $root . tar_file("../escaped", "pwned") . $end,
  '/abs'          => $root . tar_file("/tmp/banger-hostile-abs", "pwned") . $end,
  '/symlink'      => $root . tar_header("up", '2', 0, "..") . tar_file("up/escaped", "pwned") . $end,
  '/belowfile'    => $root . tar_file("f", "f") . tar_file("f/escaped", "pwned") . $end,
  '/twice'        => $root . tar_header("same", '2', 0, "/etc/passwd") . tar_file("same", "pwned") . $end,
  '/trailing'     => $root . tar_file("ok", "ok") . $end . ("y" x (2 << 20)),
  '/failing'      => $root . tar_file("half", "x" x 2000),
);

# Answers an exec of the agent's --tar-create tool with the stream its path picks.
sub fake_tool {
  my ($id, $payload) = @_;
  my ($n) = unpack("V", $payload);
  my @argv;
  my $off = 4;
  for (1 .. $n) {
    my ($len) = unpack("V", substr($payload, $off, 4));
    push @argv, substr($payload, $off + 4, $len);
    $off += 4 + $len;
  }
  frame($type{exec_started}, $id, pack("V", 1234));
  my $path = $argv[2] // '';
  my $out = ($argv[1] // '') eq '--tar-create' ? $tar{$path} : undef;
  my ($code, $err) = (0, '');
  if (!defined $out) {
    ($out, $code, $err) = ('', 2, "$path: No such file or directory\n");
  } elsif ($path eq '/failing') {
    ($code, $err) = (1, "disk \e[31mon fire\n");
  }
  for (my $sent = 0; $sent < length $out; $sent += 32768) {
    frame($type{stdout_data}, $id, substr($out, $sent, 32768));
  }
  frame($type{stderr_data}, $id, $err) if length $err;
  frame($type{exit}, $id, pack("VVQ<", $code, 0, 0));
}
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
    } elsif ($t == $type{exec}) {
      fake_tool($id, $payload);
    } elsif ($t != 3 && $t != 4 && $t != 48 && $t != 19) {
      frame($type{error}, $id, str("unsupported") . str("the hostile agent does not do that"));
    }
  }
}
