#!/usr/bin/env bash
# A screenshot of the self-service window against a real agent (make screenshot-selfservice):
#   1. packaging/demo-run.sh in the background, with its data in a temporary folder and the
#      server on a free loopback port: demo repository, waptserver, two waptagent services
#   2. wapt-selfservice under Xvfb, on demo-agent-1's local API socket
#   3. the window saved as OUT (default docs/screenshot-selfservice.png)
# Needs the binaries of `make build` in BINDIR, xvfb-run, ImageMagick's import and xdotool
# (packaging/install-deps.sh all). Everything it started is stopped on exit.
# Usage: packaging/screenshot-selfservice.sh BINDIR [OUT]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:?BINDIR}" && pwd)
out=${2:-$root/docs/screenshot-selfservice.png}
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
for tool in xvfb-run import xdotool python3; do
  command -v "$tool" >/dev/null || { echo "screenshot: $tool is missing (packaging/install-deps.sh all)" >&2; exit 1; }
done

echo "== building wapt-selfservice (cgo; the first build takes minutes)"
(cd "$root" && go build -o "$bin/" ./tray/selfservice/cmd/wapt-selfservice)

tmp=$(mktemp -d)
demo=
cleanup() {
  if [ -n "$demo" ]; then kill "$demo" 2>/dev/null || true; wait "$demo" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "== demo server and agents on 127.0.0.1:$port (data in $tmp/data)"
"$root/packaging/demo-run.sh" "$bin" "$tmp/data" "127.0.0.1:$port" >"$tmp/demo.log" 2>&1 &
demo=$!
for _ in $(seq 1 360); do
  grep -q '^Running;' "$tmp/demo.log" && break
  kill -0 "$demo" 2>/dev/null || { cat "$tmp/demo.log"; echo "screenshot: the demo stopped" >&2; exit 1; }
  sleep 0.5
done
grep -q '^Running;' "$tmp/demo.log" || { cat "$tmp/demo.log"; echo "screenshot: the demo did not come up" >&2; exit 1; }
sock=$tmp/data/agents/demo-agent-1/agent.sock
echo "== agent socket: $sock"

echo "== wapt-selfservice under Xvfb"
SOCK=$sock BIN=$bin OUT=$out xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  set -u
  "$BIN/wapt-selfservice" --socket "$SOCK" &
  app=$!
  wid=$(timeout 30 xdotool search --sync --name "^WAPT self-service$" | head -1)
  sleep 3   # the catalogue loads and the window paints
  if [ -n "$wid" ]; then import -window "$wid" "$OUT"; else import -window root "$OUT"; fi
  rc=$?
  kill "$app" 2>/dev/null; wait "$app" 2>/dev/null
  exit $rc
' 2> >(grep -v -e XDG_RUNTIME_DIR -e dbus-launch -e "failed to watch theme settings" -e "At: .*app_xdg.go" >&2)
echo "== saved $out"
