#!/usr/bin/env bash
# The README's quick start, copied as written, on a machine whose pnpm is Debian's corepack shim:
# a fresh clone of this checkout's HEAD, a clean HOME (no pnpm store, no npm cache) and a PATH
# whose first `pnpm` is the shim (corepack's own when Node ships it, else a stand-in that fails
# as the shim does offline). Runs the first command (install + start) and, without
# --start-only, the second (install + the whole test suite, about 15 minutes).
#
#   bash tools/release/quick-start.sh [--start-only]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/cardinal-quick-start.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/home" "$work/bin"
corepack_pnpm=$(dirname "$(readlink -f "$(command -v node)")")/../lib/node_modules/corepack/dist/pnpm.js
if [ -f "$corepack_pnpm" ]; then
  ln -s "$corepack_pnpm" "$work/bin/pnpm"
  echo "quick-start: pnpm on PATH is corepack's shim ($corepack_pnpm)"
else
  printf '#!/bin/sh\necho "Error: No compatible signature found in package metadata" >&2\nexit 1\n' >"$work/bin/pnpm"
  chmod +x "$work/bin/pnpm"
  echo "quick-start: no corepack here; pnpm on PATH is a stand-in that fails as the shim does"
fi

git clone -q "$here" "$work/cardinal"
# The README's quick-start block: its two command lines, exactly.
mapfile -t commands < <(awk '/^## Quick start/{q=1} q&&/^```sh/{b=1;next} b&&/^```/{exit} b&&/^[^#]/&&NF' "$here/README.md")
[ "${#commands[@]}" -eq 2 ] || { echo "quick-start: expected 2 commands in the README's quick start, found ${#commands[@]}" >&2; exit 1; }
[ "${1:-}" = --start-only ] && commands=("${commands[0]}")

fixtures=${CARDINAL_FIXTURES:-$here/../shared/fixtures}
for c in "${commands[@]}"; do
  echo "quick-start: \$ $c"
  (cd "$work/cardinal" && env -i HOME="$work/home" PATH="$work/bin:/usr/local/bin:/usr/bin:/bin" \
    TERM=dumb CARDINAL_FIXTURES="$fixtures" CARDINAL_FIXTURES_TIMM="${CARDINAL_FIXTURES_TIMM:-$here/../shared/fixtures-timm}" \
    bash -c "$c")
done
echo "quick-start: ${#commands[@]} command(s) of the README succeeded as written"
