#!/usr/bin/env bash
# Install the Debian packages listed in scripts/packages.txt.
#   scripts/install-packages.sh          only if some are missing
#   scripts/install-packages.sh --all    always (apt-get update + install all)
set -uo pipefail
list="$(dirname "$0")/packages.txt"
read -r -a pkgs <<<"$(sed 's/#.*//' "$list" | tr '\n' ' ')"

todo=()
for p in "${pkgs[@]}"; do
    if [ "${1:-}" = --all ] ||
        ! [[ "$(dpkg -s "$p" 2>/dev/null)" == *$'\nStatus: install ok installed'* ]]; then
        todo+=("$p")
    fi
done
[ ${#todo[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
echo "Installing: ${todo[*]}" >&2
# An update failure is not fatal: installed packages still satisfy install.
$sudo apt-get update || echo "warning: apt-get update failed" >&2
$sudo apt-get install -y "${todo[@]}" </dev/null
