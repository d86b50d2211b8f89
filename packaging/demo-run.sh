#!/usr/bin/env bash
# The whole WAPT loop on this machine, on embedded defaults (what `make run` does):
#   1. the demo repository (packaging/demo-repo.sh): demo CA + admin certificate, signed samples
#   2. waptserver on LISTEN (plain HTTP on loopback), data in DATA
#   3. the demo admin registered with the bootstrap password (first run only)
#   4. two agents, DATA/agents/demo-agent-1 and -2, each a `waptagent run` service process with
#      its own ini, database and local API socket; they install only inside their own folder
#   5. their host packages depend on demo-desktop (a group package -> demo-hello)
#   6. they register, update and report NEED-INSTALL; an admin-signed upgrade action is relayed
#      to both, and the hosts' statuses are printed until they are OK
# Then everything keeps running until Ctrl-C (logs in DATA/server.log, DATA/agents/*/agent.log).
# Usage: packaging/demo-run.sh BINDIR DATADIR LISTEN
set -euo pipefail
bin=$(cd "${1:?BINDIR}" && pwd)
data=${2:?DATADIR}
listen=${3:?LISTEN}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$data"
data=$(cd "$data" && pwd)
export WAPT_KEY_PASSWORD=${WAPT_KEY_PASSWORD:-}

"$root/packaging/demo-repo.sh" "$bin" "$data"

pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# A fresh enrollment token at every demo start (the server prints it when it creates one).
rm -f "$data/pki/enrollment.sha256"
log=$data/server.log
: >"$log"
"$bin/waptserver" --data "$data" --listen "$listen" --public-host-packages --tls=false >"$log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q 'serving http' "$log" && break; sleep 0.1; done
if ! grep -q 'serving http' "$log"; then cat "$log"; echo "waptserver did not start" >&2; exit 1; fi
grep '^waptserver: \(serving\|admin API\|enrollment\)' "$log" || true
base=$(sed -n 's|.*serving \(http://[^/]*\)/wapt/.*|\1|p' "$log" | head -1)
token=$(sed -n 's/.*enrollment token .*: \(\S*\)$/\1/p' "$log" | head -1)
boot=$(sed -n 's/.*bootstrap admin password .*: \(\S*\)$/\1/p' "$log" | head -1)

admin=(--server "$base" --key "$data/keys/demo-admin.pem" --cert "$data/keys/demo-admin.crt")
if [ -n "$boot" ]; then
  WAPT_BOOTSTRAP=$boot "$bin/wapt-get" register-admin --server "$base" --cert "$data/keys/demo-admin.crt" \
    --rights admin --bootstrap-password-env WAPT_BOOTSTRAP
fi

agents=(demo-agent-1 demo-agent-2)
for a in "${agents[@]}"; do
  dir=$data/agents/$a
  mkdir -p "$dir/ssl" "$dir/server-ca"
  cp "$data/ssl/demo-ca.crt" "$dir/ssl/"
  cp "$data/pki/host-ca.crt" "$dir/server-ca/"
  cat >"$dir/wapt-get.ini" <<INI
[global]
repo_url = $base/wapt
index_certs_dir = server-ca
uuid = $a
wapt_server = $base
enrollment_token = $token
local_api = $dir/agent.sock
waptupdate_task_period = 10m
INI
  "$bin/wapt-get" edit-host "$a" --depends demo-desktop "${admin[@]}" >/dev/null
  "$bin/waptagent" run -c "$dir/wapt-get.ini" >"$dir/agent.log" 2>&1 &
  pids+=($!)
  echo "waptagent $a started: $dir (log: $dir/agent.log)"
done

hosts() { "$bin/wapt-get" hosts --filter "q=demo-agent" "${admin[@]}"; }
wait_for() {
  for _ in $(seq 1 120); do
    out=$(hosts 2>/dev/null || true)
    if [ "$(grep -c "demo-agent-[12] .*$1" <<<"$out" || true)" -ge 2 ]; then echo "$out"; return 0; fi
    sleep 0.5
  done
  echo "$out"; echo "the agents did not reach $1 (see $data/agents/*/agent.log)" >&2; return 1
}
echo; echo "== agents registered and updated:"
wait_for 'NEED-\|OK '
echo; echo "== admin-signed upgrade action, relayed by the server:"
"$bin/wapt-get" host-action upgrade --host demo-agent-1,demo-agent-2 --wait 2m "${admin[@]}"
echo; echo "== hosts:"
wait_for 'OK '
echo
echo "Server: $base  (admin: wapt-get hosts ${admin[*]})"
echo "Running; Ctrl-C stops the server and the agents."
wait
