#!/usr/bin/env bash
# Takes a screenshot of the console's host grid (what `make screenshot` runs):
#   1. a demo repository (packaging/demo-repo.sh) whose admin key is encrypted with a
#      throwaway password, in a temporary folder
#   2. waptserver on a free loopback port (plain HTTP), data in that folder
#   3. the demo admin registered with the server's bootstrap password
#   4. simulated hosts with statuses: waptloadgen registers them with the enrollment token
#      and posts their signed status reports
#   5. waptconsole under Xvfb with a settings file pointing at the server and the admin
#      certificate + key; the key password comes from $WAPTCONSOLE_PASSWORD, which exists
#      for scripted runs like this one only
#   6. clicks on a host (detail pane) and on its Packages tab, then `import -window root`
#      saves OUT ($SCREENSHOT_CLICKS: other "x,y" clicks in the 1280x800 window, in order)
# Everything runs in the temporary folder, removed at the end.
# Usage: packaging/screenshot.sh BINDIR OUT.png   (BINDIR holds waptserver, wapt-get,
# waptloadgen and waptconsole: `make build console`)
set -euo pipefail
bin=$(cd "${1:?BINDIR}" && pwd)
out=${2:?OUT.png}
root=$(cd "$(dirname "$0")/.." && pwd)
hosts=${SCREENSHOT_HOSTS:-40}

for tool in xvfb-run import xdotool; do
  command -v "$tool" >/dev/null || { echo "screenshot: $tool missing (packaging/install-deps.sh gui)" >&2; exit 1; }
done
for b in waptserver wapt-get waptloadgen waptconsole; do
  [ -x "$bin/$b" ] || { echo "screenshot: $bin/$b missing (make build console)" >&2; exit 1; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# 1. Demo repository and keys.
export WAPT_KEY_PASSWORD=screenshot-pw
data=$tmp/data
"$root/packaging/demo-repo.sh" "$bin" "$data" >/dev/null

# 2. Server.
log=$tmp/server.log
"$bin/waptserver" --data "$data" --listen 127.0.0.1:0 --tls=false >"$log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q 'serving http' "$log" && break; sleep 0.1; done
if ! grep -q 'serving http' "$log"; then cat "$log" >&2; echo "screenshot: waptserver did not start" >&2; exit 1; fi
base=$(sed -n 's|.*serving \(http://[^/]*\)/wapt/.*|\1|p' "$log" | head -1)
token=$(sed -n 's/.*enrollment token .*: \(\S*\)$/\1/p' "$log" | head -1)
boot=$(sed -n 's/.*bootstrap admin password .*: \(\S*\)$/\1/p' "$log" | head -1)
echo "screenshot: waptserver on $base"

# 3. Admin.
WAPT_BOOTSTRAP=$boot "$bin/wapt-get" register-admin --server "$base" --cert "$data/keys/demo-admin.crt" \
  --rights admin --bootstrap-password-env WAPT_BOOTSTRAP >/dev/null

# 4. Hosts with statuses: each reports 3 packages, all OK at first; then two rounds of
#    reports that each change one package (OK to NEED-UPGRADE, or to ERROR one time in five;
#    back to OK when the same package is picked again): a mix of OK, NEED-UPGRADE and ERROR.
"$bin/waptloadgen" --server "$base" --token "$token" --hosts "$hosts" --packages 3 --changes 1 \
  --rate "$hosts" --duration 2s --prefix pc- >"$tmp/loadgen.log" 2>&1 || { cat "$tmp/loadgen.log" >&2; exit 1; }
echo "screenshot: $hosts hosts registered and reporting"

# 5. Console settings.
settings=$tmp/settings.json
cat >"$settings" <<JSON
{"server_url": "$base", "cert_path": "$data/keys/demo-admin.crt", "key_path": "$data/keys/demo-admin.pem"}
JSON

# 6. The console under Xvfb, then the screenshot.
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
cat >"$tmp/inside.sh" <<'SH'
set -euo pipefail
XDG_CONFIG_HOME=$TMPDIR_SHOT/config WAPTCONSOLE_PASSWORD=$WAPT_KEY_PASSWORD \
  "$BIN/waptconsole" --settings "$SETTINGS" --connect >"$TMPDIR_SHOT/console.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
wid=
for _ in $(seq 1 150); do
  wid=$(xdotool search --name '^WAPT Console$' 2>/dev/null | head -1 || true)
  [ -n "$wid" ] && break
  kill -0 $pid 2>/dev/null || { cat "$TMPDIR_SHOT/console.log" >&2; echo "screenshot: waptconsole exited" >&2; exit 1; }
  sleep 0.2
done
[ -n "$wid" ] || { cat "$TMPDIR_SHOT/console.log" >&2; echo "screenshot: no console window" >&2; exit 1; }
# Connecting (key decryption, first page of hosts), then the clicks.
sleep 4
for xy in $CLICKS; do
  xdotool mousemove --window "$wid" "${xy%,*}" "${xy#*,}" click 1
  sleep 1.5
done
xdotool mousemove --window "$wid" 5 795
sleep 0.5
import -window root "$OUT"
SH
TMPDIR_SHOT=$tmp BIN=$bin SETTINGS=$settings OUT=$out CLICKS=${SCREENSHOT_CLICKS:-"290,411 1093,221"} \
  xvfb-run -a -s "-screen 0 1280x800x24" bash "$tmp/inside.sh"
echo "screenshot: saved $out"
