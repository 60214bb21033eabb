#!/usr/bin/env bash
# Start (or reuse) a local Prefect server in the background: scripts/prefect_server.sh up|down DIR PORT
set -euo pipefail
action="$1"; dir="$2"; port="$3"
mkdir -p "$dir"
url="http://127.0.0.1:${port}/api"
healthy() { .venv/bin/python - "$url" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/health", timeout=2).read()
except Exception:
    sys.exit(1)
PY
}
case "$action" in
  up)
    if healthy; then echo "prefect server already answering on $url"; exit 0; fi
    PREFECT_HOME="$dir" PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_UI_API_URL="$url" \
      nohup .venv/bin/prefect server start --host 127.0.0.1 --port "$port" \
      >"$dir/server.log" 2>&1 &
    echo $! >"$dir/server.pid"
    for _ in $(seq 1 180); do
      if healthy; then echo "prefect server up on $url (log: $dir/server.log)"; exit 0; fi
      if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
        echo "prefect server exited; last lines of $dir/server.log:" >&2; tail -5 "$dir/server.log" >&2; exit 1
      fi
      sleep 1
    done
    echo "prefect server did not answer on $url within 180 s (log: $dir/server.log)" >&2; exit 1 ;;
  down)
    if [ -f "$dir/server.pid" ]; then
      pid="$(cat "$dir/server.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/server.pid"; echo "prefect server stopped"
    fi ;;
  *) echo "usage: $0 up|down DIR PORT" >&2; exit 2 ;;
esac
