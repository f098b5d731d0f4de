# shellcheck shell=bash
# Shared by the benchmarks: a bare QEMU boot of a kernel to a marker printed
# by a trivial static init (the peer banger's boots are measured against).
#   bare_boot_prepare WORKDIR          builds WORKDIR/bare.img (once)
#   bare_boot WORKDIR VMLINUZ ACCEL APPEND [MEM] [CPUS]   prints milliseconds

bare_boot_prepare() {
  local work=$1
  [ -f "$work/bare.img" ] && return 0
  cat > "$work/bare-init.c" <<'C'
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
  mkdir("/dev", 0755);
  mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
  int fd = open("/dev/console", O_WRONLY);
  write(fd, "BARE-BOOT-MARKER\n", 17);
  reboot(RB_POWER_OFF);
  return 0;
}
C
  cc -static -Os -s -o "$work/bare-init" "$work/bare-init.c"
  mkdir -p "$work/bare" && cp "$work/bare-init" "$work/bare/init"
  (cd "$work/bare" && echo init | cpio -o -H newc --quiet | gzip -1 > "$work/bare.img")
}

bare_boot() {
  local work=$1 vmlinuz=$2 accel=$3 append=$4 mem=${5:-512} cpus=${6:-1} t0 t1
  local cpu=()
  [ "$accel" = kvm ] && cpu=(-cpu host)
  t0=$(date +%s%N)
  qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=on,acpi=on -accel "$accel" "${cpu[@]}" \
    -m "$mem" -smp "$cpus" -nodefaults -no-user-config -display none -no-reboot -serial stdio \
    -kernel "$vmlinuz" -initrd "$work/bare.img" -append "$append" 2>/dev/null \
    | grep -a -m1 -q BARE-BOOT-MARKER
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}
