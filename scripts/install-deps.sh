#!/usr/bin/env bash
# Install the Debian 12 packages that building vmm and running its tests need.
set -euo pipefail
pkgs=(
  build-essential cmake pkg-config          # build
  libcriterion-dev                          # unit tests
  clang libclang-rt-14-dev                  # libFuzzer targets
  llvm                                      # llvm-profdata: fuzz reach check
  qemu-system-x86 qemu-system-common        # outer VM for KVM tests; virtiofsd
  busybox-static cpio                       # guest initramfs
  xz-utils                                  # guest vmlinux out of the bzImage
  acpica-tools                              # iasl, to decode our ACPI tables
  apt-utils dpkg-dev                        # apt-get download / dpkg -x
)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
