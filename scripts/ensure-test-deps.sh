#!/usr/bin/env bash
# The test suite checks proofs with an independent verifier: Debian's python3-cryptography under /usr/bin/python3.
# (lua5.4 is the native speed limit for `pnpm bench`, installed here too when possible.)
# Installs what is missing when run as root with apt-get; otherwise says what to install.
set -euo pipefail
need=()
/usr/bin/python3 -c 'import cryptography' >/dev/null 2>&1 || need+=(python3-cryptography)
command -v lua5.4 >/dev/null 2>&1 || need+=(lua5.4)
[ ${#need[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing Debian packages: ${need[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
elif [[ " ${need[*]} " == *" python3-cryptography "* ]]; then
  echo "The tests need Debian's python3-cryptography (an independent DSSE/ed25519 verifier):" >&2
  echo "  sudo apt-get install -y python3-cryptography lua5.4" >&2
  exit 1
fi
