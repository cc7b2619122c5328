#!/bin/bash
# Usage: MODEL=model.onnx DATA=images/ REPORTS=$PWD/reports SHARDS=8 ./submit-slurm.sh
# Queues SHARDS array tasks and a merge job that starts after all of them succeed (afterok).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${MODEL:?set MODEL}" "${DATA:?set DATA}" "${REPORTS:?set REPORTS}"
SHARDS=${SHARDS:-4}
export BN_LENS=${BN_LENS:-bn-lens} MODEL DATA REPORTS INSPECT_ARGS=${INSPECT_ARGS:-} FAIL_ON=${FAIL_ON:-error}
array=$(sbatch --parsable --export=ALL --array=0-$((SHARDS - 1)) "$here/slurm-shards.sbatch")
merge=$(sbatch --parsable --export=ALL --dependency=afterok:"$array" "$here/slurm-merge.sbatch")
echo "shards: job $array (array 0-$((SHARDS - 1))); merge: job $merge"
