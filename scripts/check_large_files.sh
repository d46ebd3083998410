#!/usr/bin/env bash
# Fails when git tracks a file over 1 MB outside testdata/ (binaries and
# build outputs do not belong in the repository). Run by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((1024 * 1024))
big=0
while IFS= read -r -d '' f; do
	[[ $f == testdata/* ]] && continue
	[[ -f $f ]] || continue
	size=$(stat -c %s -- "$f")
	if ((size > limit)); then
		echo "tracked file over 1 MB outside testdata/: $f ($size bytes)" >&2
		big=1
	fi
done < <(git ls-files -z)
exit "$big"
