# shellcheck shell=bash
# Shared by the workspace benchmarks: a synthetic git repository shaped like
# a real one: files of 200 B to 24 KiB (median ~4 KiB) in 200 directories two
# levels deep, committed, plus a few untracked and ignored files.
#   synthetic_repo DIR FILES
# Needs GIT_AUTHOR_*/GIT_COMMITTER_* set and python3.

synthetic_repo() {
  local repo=$1 files=$2
  mkdir -p "$repo"
  python3 - "$repo" "$files" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
for i in range(n):
    d = os.path.join(root, "d%02d" % (i % 20), "s%02d" % (i % 200 // 20))
    os.makedirs(d, exist_ok=True)
    size = int(min(24576, max(200, random.lognormvariate(8.3, 0.9))))
    with open(os.path.join(d, "f%05d.c" % i), "wb") as f:
        f.write(os.urandom(size // 2).hex().encode()[:size])
PY
  (cd "$repo" && git init -q . && git config gc.auto 0 && printf 'build/\n' > .gitignore && git add -A \
    && git commit -q -m bench && git gc -q && mkdir build && echo obj > build/x.o && echo new > untracked.txt)
}
