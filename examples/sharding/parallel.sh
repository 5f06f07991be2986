#!/usr/bin/env bash
# Run a scenario in N shards with GNU parallel (add -S host1,host2 to use
# several hosts with a shared directory), then merge the parts.
# Usage: examples/sharding/parallel.sh SCENARIO N [REPLICATIONS]
set -euo pipefail
scenario=$1 n=$2 reps=${3:-}
extra=()
[ -n "$reps" ] && extra=(-replications "$reps")
go build -o bin/sim ./cmd/sim
seq 0 $((n - 1)) | parallel --halt now,fail=1 bin/sim run "$scenario" -quiet -shard {}/"$n" -out parts "${extra[@]}"
bin/sim merge parts/part-*-of-"$n".msim -out "out/$(basename "$scenario" .yaml)"
