#!/usr/bin/env bash
# A Slurm job array of N shards and a merge job that runs when they all
# succeed. Submit from the repository root, with bin/sim built and the
# scenario on a shared filesystem:
#   jobid=$(sbatch --parsable --array=0-15 examples/sharding/slurm.sh my.yaml 16)
#   sbatch --dependency=afterok:$jobid --wrap "bin/sim merge parts/part-*-of-16.msim -out out/my"
#SBATCH --job-name=meshsim
#SBATCH --cpus-per-task=2
#SBATCH --output=parts/slurm-%A_%a.log
set -euo pipefail
scenario=$1 n=$2
bin/sim run "$scenario" -quiet -workers "${SLURM_CPUS_PER_TASK:-2}" -shard "${SLURM_ARRAY_TASK_ID}/${n}" -out parts
