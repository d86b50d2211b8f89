#!/usr/bin/env bash
# Installs the Debian/Ubuntu system packages that building and testing wapt need,
# but only those that are missing. As root it runs apt-get; otherwise it prints the
# command to run and exits 0 (tests that need a missing tool skip themselves and say so).
#
# Usage: packaging/install-deps.sh [GROUP...]   groups: base gui pkcs11 all (default: all)
set -euo pipefail

declare -A groups=(
  # build + format/signature compatibility tests (openssl dgst, python3 json vectors)
  [base]="ca-certificates git make gcc pkg-config openssl python3"
  # Fyne console / self-service (GLFW X11+Wayland), systray (GTK3 appindicator), screenshots
  [gui]="libgl1-mesa-dev libgl1-mesa-dri libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev libxkbcommon-dev libwayland-dev libayatana-appindicator3-dev xvfb xauth imagemagick xdotool dbus libglib2.0-bin"
  # smartcard signing tests against a real SoftHSM2 token
  [pkcs11]="softhsm2 opensc"
)

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(all)
pkgs=()
for g in "${want[@]}"; do
  if [ "$g" = all ]; then
    for k in base gui pkcs11; do pkgs+=(${groups[$k]}); done
  elif [ -n "${groups[$g]:-}" ]; then
    pkgs+=(${groups[$g]})
  else
    echo "install-deps: unknown group '$g' (base gui pkcs11 all)" >&2
    exit 2
  fi
done

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-deps: not a Debian/Ubuntu system; install the equivalents of: ${pkgs[*]}" >&2
  exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing system packages: ${missing[*]}" >&2
  echo "install-deps: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
