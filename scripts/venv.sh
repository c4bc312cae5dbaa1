# Sourced by scripts/app.sh and scripts/test.sh: create or reuse .venv and install requirements.
# Not a script to run on its own; it never touches the system Python.

# ensure_venv REQFILE...  installs the files into .venv unless a stamp says they are installed already.
ensure_venv() {
    local py
    py="$(command -v python3.11 || command -v python3 || true)"
    if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
        if [ -z "$py" ]; then
            echo "error: python3.11 or python3 is needed to create .venv" >&2
            return 1
        fi
        echo "Creating .venv with $("$py" --version 2>&1)"
        rm -rf .venv
        "$py" -m venv .venv || { echo "error: '$py -m venv' failed (on Debian: apt-get install python3-venv)" >&2; return 1; }
    fi

    # The stamp covers the requirement files and the venv's Python, so editing a pin reinstalls.
    local stamp=".venv/.installed-$(basename "$1" .txt)" want
    want="$( { cat "$@"; .venv/bin/python --version; } 2>&1 | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    local args=() f
    for f in "$@"; do args+=(-r "$f"); done
    echo "Installing ${*} into .venv (first run takes a few minutes; log: .venv/pip-install.log)"
    if ! .venv/bin/python -m pip install --disable-pip-version-check "${args[@]}" >.venv/pip-install.log 2>&1; then
        tail -n 40 .venv/pip-install.log >&2
        echo "error: pip install failed; full log in .venv/pip-install.log" >&2
        return 1
    fi
    echo "$want" > "$stamp"
}
