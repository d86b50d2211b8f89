#!/usr/bin/env bash
# Creates (or refreshes) the demo repository that `make run` serves:
#   DATA/keys/   a demo CA and an admin code-signing certificate
#   DATA/ssl/    the demo CA: waptserver accepts packages and admins chained to it, agents
#                trust it for packages (the index is signed by waptserver's own repository key)
#   DATA/wapt/   the sample packages of assets/samples, signed, and their Packages index
#   DATA/wapt-host/demo-host.wapt  the host package of a demo agent whose uuid is "demo-host"
# Keys are encrypted with $WAPT_KEY_PASSWORD when it is set (demo default: not encrypted).
# Usage: packaging/demo-repo.sh BINDIR DATADIR
set -euo pipefail
bin=${1:?BINDIR}
data=${2:?DATADIR}
root=$(cd "$(dirname "$0")/.." && pwd)
keys=$data/keys
wg="$bin/wapt-get"
export WAPT_KEY_PASSWORD=${WAPT_KEY_PASSWORD:-}

mkdir -p "$keys" "$data/ssl" "$data/wapt" "$data/wapt-host"
chmod 700 "$keys"
if [ ! -f "$keys/demo-ca.pem" ]; then
  "$wg" create-keycert --cn demo-ca --ca --out "$keys" >/dev/null
fi
if [ ! -f "$keys/demo-admin.pem" ]; then
  "$wg" create-keycert --cn demo-admin --code-signing --issuer-key "$keys/demo-ca.pem" \
    --issuer-cert "$keys/demo-ca.crt" --out "$keys" >/dev/null
fi
cp "$keys/demo-ca.crt" "$data/ssl/demo-ca.crt"

for src in "$root"/assets/samples/*/; do
  pkg=$("$wg" build-package "$src" -o "$data/wapt" --key "$keys/demo-admin.pem" --cert "$keys/demo-admin.crt")
  "$wg" verify-package "$pkg" --trust "$data/ssl"
done
pkg=$("$wg" build-package "$root/assets/demo-host" -o "$data/wapt-host" --key "$keys/demo-admin.pem" --cert "$keys/demo-admin.crt")
"$wg" verify-package "$pkg" --trust "$data/ssl"
# Unsigned here: waptserver signs Packages.sig with its own repository key when it starts.
"$wg" scan-packages "$data/wapt"
