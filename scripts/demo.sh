#!/usr/bin/env bash
# Build and run the demo: scripts/demo.sh [bazel options] [-- demo args]
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-packages.sh || exit 1
exec bazel run //:demo "$@"
