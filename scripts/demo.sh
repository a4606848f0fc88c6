#!/usr/bin/env bash
# mlprod end to end on the bundled sample data, as a new user would run it:
# scaffold a project in its own hashed venv, check it, run its tests, train the
# heuristic baseline and the model, evaluate behind the gates, score a file
# offline, serve a few predictions online, check them for skew, and write the
# serving image's Docker build context.
#
#   bash scripts/demo.sh [FOLDER]      (default: ./demo; uses the checkout's
#                                       .venv/bin/mlprod, else mlprod on PATH)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
mlprod="$here/.venv/bin/mlprod"
[ -x "$mlprod" ] || mlprod="$(command -v mlprod)"
out="${1:-demo}"
port="${MLPROD_DEMO_PORT:-8765}"

step() { printf '\n== %s\n' "$*" >&2; }

step "mlprod new skin-lesions (template, .venv from the hashed lock, git)"
"$mlprod" new skin-lesions --no-input --output-dir "$out"
cd "$out/skin-lesions"

step "mlprod check, and the project's own tests in its own venv"
.venv/bin/mlprod check
.venv/bin/python -m pytest -q

step "mlprod train --activate (baseline and model, activated behind the gates)"
.venv/bin/mlprod train --activate

step "mlprod evaluate (per class, baseline side by side, slices, gates)"
.venv/bin/mlprod evaluate

step "mlprod predict (offline batch predictions)"
.venv/bin/mlprod predict data/lesions.csv --output predictions.csv

step "mlprod serve, and 300 single-row requests"
.venv/bin/mlprod serve --port "$port" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
.venv/bin/python - "$port" <<'PY'
import json, sys, time, urllib.request
import pandas as pd

base = f"http://127.0.0.1:{sys.argv[1]}"
for _ in range(120):
    try:
        urllib.request.urlopen(f"{base}/ready", timeout=1)
        break
    except OSError:
        time.sleep(0.5)
rows = json.loads(pd.read_csv("data/lesions.csv").sample(300, random_state=1).to_json(orient="records"))
for row in rows:
    request = urllib.request.Request(f"{base}/predict", json.dumps(row).encode(), {"Content-Type": "application/json"})
    answer = json.load(urllib.request.urlopen(request))
print(f"served {len(rows)} rows; the last answer: {answer}")
PY
kill -TERM "$server"
wait "$server" || true
trap - EXIT

step "mlprod skew (training data against what was served)"
.venv/bin/mlprod skew

step "mlprod package (the serving image's build context, hash-checked)"
.venv/bin/mlprod package
