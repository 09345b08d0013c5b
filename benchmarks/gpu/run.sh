#!/usr/bin/env bash
# On the GPU machine, in one device call (carry [".whl", ".gpu-data"], and "runs" to resume):
#   bash benchmarks/gpu/run.sh share cifar/paper-short
# installs the carried wheels, then runs each stage named, each under its own time limit:
#   share           benchmarks/gpu_share.py: images/s per trial and GPU utilisation, 1-8 trials
#                   on one GPU ($LEVELS, $SHARE_ARGS: its other options, e.g. "--set training.epochs=2")
#   SUITE/PROFILE   that campaign (--jobs $JOBS if set), stopped like Ctrl-C after $CAMPAIGN_S
#                   seconds; it resumes on the next call that carries runs/ back
# and leaves in $OUT the log, reports/benchmarks.md, the reports and runs/ (to resume, or to
# rebuild a report here: harness report SUITE --profile PROFILE --backend jax).
# KERAS_BACKEND defaults to jax (the machine has no TensorFlow); the reports name it and the GPU.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
exec > >(tee "$OUT/log") 2>&1
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 HARNESS_OFFLINE=1 HARNESS_DATA_DIR=$PWD/.gpu-data
export KERAS_BACKEND=${KERAS_BACKEND:-jax} JAX_COMPILATION_CACHE_DIR=/tmp/jax-cache
nvidia-smi -L || echo "no GPU found: the figures below are CPU figures"
for stage in "$@"; do
  echo "== $stage ($(date -u +%H:%M:%S))"
  case $stage in
    share) timeout -s INT -k 20 "${SHARE_S:-240}" python3 benchmarks/gpu_share.py --levels "${LEVELS:-1,2,4,8}" ${SHARE_ARGS:-} ;;
    */*)
      HARNESS_INVOKED_AS="bash benchmarks/gpu/run.sh $stage (KERAS_BACKEND=$KERAS_BACKEND)" \
        timeout -s INT -k 30 "${CAMPAIGN_S:-330}" python3 -m harness campaign "${stage%/*}" \
        --profile "${stage#*/}" ${JOBS:+--jobs "$JOBS"} ;;
    *) echo "unknown stage '$stage': use share or SUITE/PROFILE" ;;
  esac
  echo "== $stage ended with status $? ($(date -u +%H:%M:%S))"
done
cp reports/benchmarks.md "$OUT/"
tar -czf "$OUT/reports.tar.gz" reports
tar -czf "$OUT/runs.tar.gz" runs
ls -la "$OUT"
