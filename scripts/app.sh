#!/usr/bin/env bash
# Install (once) and run RNN Explorer on http://localhost:8501. Extra args go to `streamlit run`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh

ensure_venv requirements.txt
exec .venv/bin/streamlit run app.py --server.port 8501 "$@"
