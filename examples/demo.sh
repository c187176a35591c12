#!/usr/bin/env bash
# The README's first command: bring up a demo lab on a fresh machine (root, Debian-like, .NET SDK).
#   examples/demo.sh        install/start Docker when missing, start the simulated IPv4 outside world,
#                           build the images, create the lab 'demo', test it, show a node fetching an IPv4-only page
#   examples/demo.sh down   remove the lab and the outside world again
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# pwsh is a local .NET tool of this repository (.config/dotnet-tools.json): `dotnet pwsh` from the checkout. The module
# is built once into out/Ipv6Dind; with out/ on PSModulePath, pwsh imports it by name.
dotnet tool restore >/dev/null
[ -f out/Ipv6Dind/Ipv6Dind.psd1 ] || dotnet build src/Ipv6Dind/Ipv6Dind.csproj -c Release --nologo -v quiet
pwsh_with_module() { PSModulePath="$PWD/out" dotnet pwsh -NoProfile -NonInteractive "$@"; }

if [ "${1:-}" = down ]; then
    pwsh_with_module -Command 'Import-Module Ipv6Dind; Remove-DindCluster demo -Confirm:$false -Verbose'
    examples/outside-world down
    exit 0
fi

for pkg in debootstrap:debootstrap dnsmasq:dnsmasq-base ip6tables:iptables; do
    command -v "${pkg%%:*}" >/dev/null 2>&1 || tests/lab/apt-install "${pkg#*:}"
done
tests/lab/ensure-dockerd
examples/outside-world up
pwsh_with_module -File examples/demo.ps1
echo
echo "The lab 'demo' is up. Remove it (and the outside world) with: examples/demo.sh down"
