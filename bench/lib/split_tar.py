#!/usr/bin/env python3
"""Splits a tar into N layer tars of about equal bytes, entries kept in order
and byte for byte (headers, pax records, hard links): a hard link's target and
a file's parent directories always come before it, so they land in the same
layer or a lower one, and applying the layers in order gives the original tree.

  split_tar.py ROOTFS.tar N OUT_PREFIX      -> OUT_PREFIX1.tar ... OUT_PREFIXN.tar
  split_tar.py --prefix DIR ROOTFS.tar OUT  -> OUT: every entry moved under DIR/
"""
import sys
import tarfile


def split(src, n, prefix):
    with tarfile.open(src) as t:
        members = t.getmembers()
        total = sum(m.size for m in members) or 1
        outs = [tarfile.open(f"{prefix}{i + 1}.tar", "w", format=tarfile.PAX_FORMAT) for i in range(n)]
        done = 0
        for m in members:
            i = min(n - 1, done * n // total)
            outs[i].addfile(m, t.extractfile(m) if m.isreg() else None)
            done += m.size
        for o in outs:
            o.close()


def move_under(src, dirname, out):
    with tarfile.open(src) as t, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as o:
        for m in t.getmembers():
            name = m.name[2:] if m.name.startswith("./") else m.name
            if name in ("", "."):
                continue
            m.name = f"{dirname}/{name}"
            if m.islnk():
                link = m.linkname[2:] if m.linkname.startswith("./") else m.linkname
                m.linkname = f"{dirname}/{link}"
            o.addfile(m, t.extractfile(m) if m.isreg() else None)


if __name__ == "__main__":
    if sys.argv[1] == "--prefix":
        move_under(sys.argv[3], sys.argv[2], sys.argv[4])
    else:
        split(sys.argv[1], int(sys.argv[2]), sys.argv[3])
