#!/usr/bin/env bash
# The prepared GPU check, run once on a machine with one CUDA GPU (< 8 min on an H200):
#   1. smoke test: CUDA, bf16 matmul, bitsandbytes nf4 on the GPU;
#   2. `dareu bench gpu`: DareU steps on a random-init ~1B Llama (QLoRA, LoRA) and the rollout
#      sampler's tokens/s under unlearn.sampling.decode=eager vs static (static KV cache, compiled step);
#   3. `dareu bench qlora-7b`: DareU grpo QLoRA steps on a random-init Llama-2-7B shape,
#      8 prompts x G 4, <= 128 new tokens: step time and peak GPU memory (goal <= 20 GiB);
#   4. `dareu bench rl-step --device cuda`: DareU vs TRL's GRPOTrainer at equal settings
#      (gradient checkpointing off on both sides), DareU with its default (eager) decoding.
# Each part has its own time limit, so one that hangs does not eat the others' time.
# Results: JSON + logs under $OUT when set (the device runner's folder), else bench/results/gpu_check.
# Usage, from the repository root:  bash bench/gpu_check.sh
set -u
cd "$(dirname "$0")/.."
DEST=${OUT:-bench/results/gpu_check}
mkdir -p "$DEST"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} TOKENIZERS_PARALLELISM=false
PY=${PYTHON:-python}
START=$(date +%s)

part() {  # part NAME SECONDS COMMAND...: run with a time limit, log to $DEST/NAME.log
    local name=$1 limit=$2; shift 2
    echo "=== $name (limit ${limit}s, at $(( $(date +%s) - START ))s)"
    timeout --kill-after=10 "$limit" "$@" > "$DEST/$name.log" 2>&1
    local rc=$?
    tail -n 40 "$DEST/$name.log"
    echo "=== $name: exit $rc"
}

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; "$PY" -c \
  "import torch, transformers, peft, bitsandbytes; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'bitsandbytes', bitsandbytes.__version__)"; } \
  > "$DEST/machine.txt" 2>&1
cat "$DEST/machine.txt"

part smoke 40 "$PY" - <<'PYEOF'
import torch, bitsandbytes as bnb
assert torch.cuda.is_available(), "no CUDA device"
x = torch.randn(1024, 1024, device="cuda", dtype=torch.bfloat16)
print("bf16 matmul ok:", torch.isfinite(x @ x).all().item(), torch.cuda.get_device_name(0))
layer = bnb.nn.Linear4bit(256, 256, compute_dtype=torch.bfloat16, quant_type="nf4").cuda()
print("nf4 linear ok:", tuple(layer(x[:4, :256]).shape))
PYEOF

part decode 160 "$PY" -m dareu.cli bench gpu --steps 2 --decode-reps 2 --out "$DEST"
part qlora-7b 180 "$PY" -m dareu.cli bench qlora-7b --shape 7b --steps 2 --out "$DEST"
part rl-step 80 "$PY" -m dareu.cli bench rl-step --device cuda --reps 1 --steps 3 --prompts 8 \
    --group 8 --new-tokens 64 --n-layer 6 --n-embd 512 --n-head 8 --vocab 2000 --out "$DEST"

echo "=== summary (total $(( $(date +%s) - START ))s)"
"$PY" - "$DEST" <<'PYEOF'
import json, sys
from pathlib import Path
d = Path(sys.argv[1])
def load(name):
    p = d / f"{name}.json"
    return json.loads(p.read_text()) if p.is_file() else None
gpu, big = load("gpu"), load("qlora-7b")
if gpu:
    for mode, r in gpu["modes"].items():
        dec = r.get("decode", {})
        if dec:
            e, s = dec["eager"]["tokens_per_s"], dec["static"]["tokens_per_s"]
            print(f"decode {mode}: eager {e:.0f} tok/s, static {s:.0f} tok/s ({s / e:.2f}x; {dec['static']['plan']})")
else:
    print("decode: no result (see decode.log)")
if big:
    print(f"qlora-7b: {big['step_s']:.2f} s/step, {big['tokens_per_s']:.1f} tok/s, peak GPU "
          f"{big['peak_gpu_gib']:.2f} GiB (goal <= {big['goal_gib']:.0f}: {'met' if big['goal_met'] else 'NOT met'})")
else:
    print("qlora-7b: no result (see qlora-7b.log)")
PYEOF
