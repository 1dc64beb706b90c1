#!/usr/bin/env bash
# One-command training run for a GPU machine that has JAX (CUDA) but no Keras.
#
#   WHEELS=.whl MINUTES=8 OUT=$OUT scripts/gpu_train.sh --model LARGE --data gpu_data/train \
#       --val-data gpu_data/Set5 --init-from weights/LARGE_x2.h5 --mixed-precision --batch 32 --lr 2e-4
#
# Installs the carried wheels (keras, namex, optree; see README) into a temp
# dir when Keras is missing, trains with KERAS_BACKEND=jax for MINUTES of
# wall clock (train.py --minutes), then leaves under $OUT: best.h5 (weights
# only) and last.h5 (with optimizer state, when it fits the 64 MiB return
# budget) split into pieces under 16 MiB with SHA-256 manifests, plus
# log.csv. Reassemble here with: python -m srkit.pieces join OUT/best.h5.pieces.json DEST
# The last line printed is the final validation PSNR.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=${WHEELS:-.whl}
MINUTES=${MINUTES:-8}
OUT=${OUT:-gpu_out}
RUN=${RUN:-runs/gpu_$(date +%Y%m%d-%H%M%S)}
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
if ! python3 -c "import keras" 2>/dev/null; then
    site=$(mktemp -d)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$WHEELS"/*.whl
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
python3 -c "import jax, keras; print('keras', keras.__version__, 'backend', keras.backend.backend(), 'devices', jax.devices())"
status=0
python3 train.py --minutes "$MINUTES" --run-dir "$RUN" "$@" || status=$?
mkdir -p "$OUT"
cp "$RUN/log.csv" "$OUT/log.csv"
python3 -m srkit.pieces split "$RUN/best.h5" "$OUT" >/dev/null
size=$(stat -c %s "$RUN/last.h5")
if [ "$size" -lt $((40 * 1024 * 1024)) ]; then
    python3 -m srkit.pieces split "$RUN/last.h5" "$OUT" >/dev/null
else
    echo "last.h5 is $((size / 1048576)) MiB: not returned (best.h5 weights only)"
fi
ls -l "$OUT"
python3 - "$RUN/best.h5" <<'PY'
import sys
from srkit import checkpoints
meta = checkpoints.read_info(sys.argv[1]).metadata
print(f"final validation PSNR: {meta.get('best_psnr')} dB at step {meta['state'].get('best_step')} "
      f"(step {meta.get('step')}, wall {meta['state'].get('wall_time_s', 0):.0f} s)")
PY
exit $status
