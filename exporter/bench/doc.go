// Package bench holds the scripts behind `make bench` (bench.sh, scale.sh,
// pipeline.sh, table.sh, record.sh); its tests check record.sh, which
// edits BENCHMARKS.md. The delayecho command is the delayed echo responder
// of pipeline.sh's mixed run.
package bench
