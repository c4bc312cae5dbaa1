#!/usr/bin/env bash
# N replicas of RNN Explorer behind Debian's nginx on this machine, in the foreground:
#   bash deploy/local.sh --replicas 2 --port 8080      then open http://localhost:8080
# nginx runs deploy/nginx.conf itself (sticky sessions by a cookie, websocket upgrade, per-IP limits), with
# the upstream list and the port filled in; the replicas share one fresh cookie secret and listen on
# 127.0.0.1 at P+1 .. P+N. Ctrl-C or SIGTERM stops every process this script started.
# Installs Debian's nginx with apt-get when it is missing and this runs as root (as scripts/test.sh does
# for chromium). Logs and the generated config: the directory printed at start.
set -euo pipefail
cd "$(dirname "$0")/.."

replicas=2
port=8080
while [ $# -gt 0 ]; do
    case "$1" in
        --replicas) replicas="${2:?--replicas needs a number}"; shift 2 ;;
        --port) port="${2:?--port needs a number}"; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "error: unknown argument $1 (use --replicas N --port P)" >&2; exit 2 ;;
    esac
done
case "$replicas$port" in *[!0-9]*) echo "error: --replicas and --port take whole numbers" >&2; exit 2 ;; esac
if [ "$replicas" -lt 1 ] || [ "$replicas" -gt 16 ] || [ "$port" -lt 1024 ] || [ $((port + replicas)) -gt 65535 ]; then
    echo "error: --replicas from 1 to 16, --port from 1024 (the replicas take the next N ports)" >&2
    exit 2
fi

source scripts/venv.sh
ensure_venv requirements.txt

nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
if [ ! -x "$nginx_bin" ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "Installing Debian's nginx (log: artifacts/apt-get-nginx.log)"
        mkdir -p artifacts
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx; } >artifacts/apt-get-nginx.log 2>&1 || true
    fi
    if [ ! -x "$nginx_bin" ]; then
        echo "error: nginx is not installed (as root: apt-get install nginx)" >&2
        exit 1
    fi
fi

run_dir="$(mktemp -d "${TMPDIR:-/tmp}/rnnx-local.XXXXXX")"
mkdir -p "$run_dir"/{body,proxy,fastcgi,uwsgi,scgi}
chmod 755 "$run_dir" && chmod 777 "$run_dir"/{body,proxy,fastcgi,uwsgi,scgi}  # nginx's workers run as nobody under root
pids=()
stop() {
    trap - EXIT INT TERM
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    echo "Stopped nginx and $replicas replicas."
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

secret="$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(32))')"
# deploy/nginx.conf's replicas part for these: all of them in turn for a browser's first request, then each
# one's own upstream (the next one as its backup) by the name its answers set in the rnnx_route cookie
servers="upstream rnn_explorer {\n"
own=""
names="map \$cookie_rnnx_route \$rnnx_upstream {\n    default rnn_explorer;\n"
for i in $(seq 1 "$replicas"); do
    app_port=$((port + i))
    RNNX_ROUTE="r$i" STREAMLIT_SERVER_COOKIE_SECRET="$secret" .venv/bin/streamlit run app.py --server.port "$app_port" \
        --server.address 127.0.0.1 >"$run_dir/replica-$i.log" 2>&1 &
    pids+=($!)
    servers+="    server 127.0.0.1:$app_port max_fails=3 fail_timeout=10s;\n"
    backup=""
    [ "$replicas" -gt 1 ] && backup=" server 127.0.0.1:$((port + i % replicas + 1)) backup;"
    own+="upstream rnnx_r$i { server 127.0.0.1:$app_port;$backup }\n"
    names+="    r$i rnnx_r$i;\n"
done
part="$servers}\n$own$names}\n"

# deploy/nginx.conf inside a whole config: this machine's replicas and port, paths under $run_dir.
site="$(awk -v part="$part" '
    /^# -- the replicas/ { print; printf "%s", part; inside = 1; next }
    /^# -- end of the replicas/ { inside = 0 }
    inside { next }
    { print }' deploy/nginx.conf |
    sed "s/listen 80;/listen 127.0.0.1:$port;\n    add_header X-RNNX-Replica \$upstream_addr always;  # which replica answered (tests check stickiness)/")"
cat >"$run_dir/nginx.conf" <<EOF
worker_processes 1;
pid $run_dir/nginx.pid;
error_log $run_dir/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log $run_dir/nginx-access.log;
    client_body_temp_path $run_dir/body;
    proxy_temp_path $run_dir/proxy;
    fastcgi_temp_path $run_dir/fastcgi;
    uwsgi_temp_path $run_dir/uwsgi;
    scgi_temp_path $run_dir/scgi;
$site
}
EOF
"$nginx_bin" -t -q -c "$run_dir/nginx.conf" -e "$run_dir/nginx-error.log"

wait_healthy() {  # until 127.0.0.1:$1 answers Streamlit's health check (2 minutes at most); $2 is the process that
    # should answer, $3 its name and $4 its log: when it exits first, say so and stop
    for _ in $(seq 1 240); do
        if .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$1/_stcore/health', timeout=2)" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$2" 2>/dev/null; then
            echo "error: $3 exited; the end of $4:" >&2
            tail -n 20 "$4" >&2
            exit 1
        fi
        sleep 0.5
    done
}
echo "Starting $replicas replicas (logs: $run_dir)"
for i in $(seq 1 "$replicas"); do
    wait_healthy $((port + i)) "${pids[$((i - 1))]}" "replica $i" "$run_dir/replica-$i.log"
done
"$nginx_bin" -c "$run_dir/nginx.conf" -e "$run_dir/nginx-error.log" -g "daemon off;" &
pids+=($!)
wait_healthy "$port" "$!" nginx "$run_dir/nginx-error.log"  # nginx binds its port a moment after it starts
echo "RNN Explorer on http://localhost:$port/ ($replicas replicas behind nginx). Ctrl-C stops everything."
# until one of them ends (or a signal comes): then stop the rest
wait -n "${pids[@]}" || true
echo "A process ended; stopping the others." >&2
exit 1
