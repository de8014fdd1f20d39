#!/usr/bin/env bash
# The benchmark: every workload in bench/ under tamalloc, glibc, jemalloc, tcmalloc and mimalloc.
#   bench/run.sh [--quick] [--out DIR] [more options: bench/run.sh --help]
# Installs what is missing (scripts/packages.txt, then bench/packages.txt) with apt-get, builds
# with --config=opt, runs, and writes results.md, raw.csv and plots into the output folder it
# names at the end (default bench/out/<date-time>). --quick: 602 s at 51c0f8d; full: about 33 min on
# 2 cores, 16 of them the scaling pass (frag and grow at 16..1024 MiB; --no-scaling skips it,
# --scaling-only runs only it), 6 of the idle pass (after a 200 MiB burst: no allocator call, or
# light traffic; each allocator with and without its background purge; --no-idle skips it,
# --idle-only runs only it), and under one for the syscall pass (every workload but memcached once
# per thread count and allocator at the --quick size under strace -c: madvise, munmap, mmap, mremap
# and brk calls; --no-syscalls skips it, --syscalls-only runs only it). Every result line also
# carries the process's kernel and user time and page faults (getrusage), which results.md
# tabulates. Run it on a quiet machine.
# --readme README.md also writes the README's benchmark block from the run's summary.json
# (bench/run.py --readme README.md --from docs/bench: from the committed report, running nothing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."

scripts/install-packages.sh

read -r -a pkgs <<<"$(sed 's/#.*//' bench/packages.txt | tr '\n' ' ')"
todo=()
for p in "${pkgs[@]}"; do
    [[ "$(dpkg -s "$p" 2>/dev/null)" == *$'\nStatus: install ok installed'* ]] || todo+=("$p")
done
if [ ${#todo[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "Installing: ${todo[*]}" >&2
    $sudo apt-get update || echo "warning: apt-get update failed" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${todo[@]}" </dev/null
fi

# Debian's python3, whatever python an environment puts first on PATH.
exec /usr/bin/python3 bench/run.py "$@"
