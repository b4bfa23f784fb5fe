#!/bin/sh
# The linker the Native AOT build uses for linux-arm64 on an x64 Debian machine (Makefile, `sam build`):
# Debian's cross gcc (apt: gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross).
# The ILCompiler's link step passes clang's --target=aarch64-linux-gnu, which gcc refuses: dropped here
# (this gcc only targets aarch64 anyway). Everything else is passed through.
for arg in "$@"; do
  shift
  case "$arg" in --target=*) ;; *) set -- "$@" "$arg" ;; esac
done
exec aarch64-linux-gnu-gcc "$@"
