#!/usr/bin/env bash
# record.sh - writes the tables of one `make bench` run into BENCHMARKS.md.
#
# Usage: bash exporter/bench/record.sh DIR [FILE]
#   DIR   a results directory left by bench.sh (table.md, and pipeline.md when
#         pipeline.sh ran)
#   FILE  default exporter/BENCHMARKS.md
# The run replaces whatever lies between the two marker lines below in FILE,
# so the file always shows the latest run next to the hand-written analyses
# of earlier ones. bench.sh calls it at the end; RECORD=0 there skips it.

set -eu
set -o pipefail

BEGIN='<!-- bench: latest run, written by exporter/bench/record.sh -->'
END='<!-- bench: end of latest run -->'

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: record.sh DIR [FILE]" >&2; exit 2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR=$1
FILE=${2:-$ROOT/exporter/BENCHMARKS.md}

[ -s "$DIR/table.md" ] || { echo "record: $DIR/table.md is missing or empty: not a bench.sh results directory" >&2; exit 1; }
for m in "$BEGIN" "$END"; do
  [ "$(grep -cxF -- "$m" "$FILE")" = 1 ] || { echo "record: $FILE must hold the line \"$m\" exactly once" >&2; exit 1; }
done
[ "$(grep -nxF -- "$BEGIN" "$FILE" | cut -d: -f1)" -lt "$(grep -nxF -- "$END" "$FILE" | cut -d: -f1)" ] ||
  { echo "record: $FILE: \"$BEGIN\" must come before \"$END\"" >&2; exit 1; }

section=$(mktemp)
trap 'rm -f "$section" "$FILE.record"' EXIT
{
  echo
  echo "From \`$DIR\`:"
  echo
  cat "$DIR/table.md"
  if [ -s "$DIR/pipeline.md" ]; then
    echo
    # pipeline.md's title becomes a line of text: no heading inside the section
    sed 's/^# pipeline.sh /pipeline.sh, started /' "$DIR/pipeline.md"
  fi
  echo
} > "$section"

awk -v b="$BEGIN" -v e="$END" -v f="$section" '
  $0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
  $0 == e { skip = 0 }
  !skip' "$FILE" > "$FILE.record"
mv "$FILE.record" "$FILE"
echo "record: latest run written to $FILE" >&2
