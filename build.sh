#!/usr/bin/env bash
# MobileNeXt for .NET: one entry point for a fresh machine.
#
#   ./build.sh paper   set up, build, and print the paper-vs-implementation report
#   ./build.sh test    set up, build, and run every test
#   ./build.sh packages  pack the NuGet packages into artifacts/packages and run a consumer app against them
#   ./build.sh mpi-test  only the multi-process tests (two ranks under Open MPI's mpirun)
#   ./build.sh setup   only install what the library needs and is missing (idempotent)
#
# Set-up installs only what is missing and says what it does. On Debian 12 it adds Debian 13's
# libstdc++ (TorchSharp 0.107's native library needs GLIBCXX_3.4.32; see README, "Native library").
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '[build.sh] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "this step needs root: $*"; exit 1; fi
}

ensure_dotnet() {
  if ! command -v dotnet >/dev/null; then
    say "the .NET SDK is not on PATH. Install .NET SDK 10 (https://dot.net) and run this again."
    exit 1
  fi
}

# TorchSharp 0.107.0's libLibTorchSharp.so was built with GCC 13 and needs GLIBCXX_3.4.32.
libstdcxx_ok() {
  local lib
  for lib in /lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6 /usr/lib/libstdc++.so.6; do
    [ -e "$lib" ] && grep -aq 'GLIBCXX_3\.4\.32' "$lib" && return 0
  done
  return 1
}

ensure_libstdcxx() {
  [ "$(uname -s)" = Linux ] || return 0
  libstdcxx_ok && return 0
  . /etc/os-release 2>/dev/null || true
  if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
    say "libstdc++ lacks GLIBCXX_3.4.32 (TorchSharp needs it): installing Debian 13's libstdc++6, pinned so nothing else leaves bookworm"
    awk '/^$/{exit} {print}' /etc/apt/sources.list.d/debian.sources \
      | sed 's/^Suites:.*/Suites: trixie/' | as_root tee /etc/apt/sources.list.d/trixie.sources >/dev/null
    printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' | as_root tee /etc/apt/preferences.d/trixie-low >/dev/null
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t trixie libstdc++6 >/dev/null
    libstdcxx_ok || { say "libstdc++ still lacks GLIBCXX_3.4.32 after the upgrade; see README, 'Native library'"; exit 1; }
    say "libstdc++ upgraded"
  else
    say "warning: this system's libstdc++ lacks GLIBCXX_3.4.32, which TorchSharp's native library needs."
    say "         install a libstdc++ from GCC 13 or newer (Ubuntu 24.04+, Debian 13+, Fedora 39+ ship one)."
  fi
}

# The tests check our PyTorch files against real PyTorch: Debian's python3-torch (PyTorch 1.13).
ensure_pytorch() {
  [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 && return 0
  if command -v apt-get >/dev/null; then
    say "installing Debian's python3-torch (PyTorch, used by the interop tests; about 90 s)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
  else
    say "the interop tests need PyTorch at /usr/bin/python3 (python3 -m pip install torch); they will fail without it"
  fi
}

# Installs Debian package $2 unless a library with soname $1 is there; $3 says what it brings, $4 what happens without it.
ensure_library() {
  [ "$(uname -s)" = Linux ] || return 0
  ldconfig -p 2>/dev/null | grep -qF "$1 " && return 0
  if command -v apt-get >/dev/null; then
    say "installing Debian's $2 ($3)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 || {
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    }
  else
    say "$1 is missing: $4"
  fi
}

# JPEG decoding uses the system's SIMD libjpeg-turbo through TurboJPEG when it is there (about 2x SkiaSharp's
# bundled decoder, and the library PIL uses, so the same pixels); without it the library falls back to SkiaSharp.
ensure_turbojpeg() {
  ensure_library libturbojpeg.so.0 libturbojpeg0 "libturbojpeg.so.0: SIMD JPEG decoding, about 2x SkiaSharp's decoder" \
    "JPEGs will decode with SkiaSharp, about 2x slower (install libjpeg-turbo's TurboJPEG library to speed them up)"
}

# libtorch takes its memory from malloc; under glibc's the heap of a training process fragments and grows for dozens of
# steps, paying fresh page faults on the way. The mobilenext command restarts itself under tcmalloc when it is there
# (TorchRuntime.UseTcmalloc); without it, glibc's malloc keeps freed memory instead.
ensure_tcmalloc() {
  ensure_library libtcmalloc_minimal.so.4 libtcmalloc-minimal4 "tcmalloc: a training process's memory stays at its peak, without page faults after the first steps" \
    "the mobilenext command will use glibc's malloc (install gperftools' tcmalloc for faster, steadier training steps)"
}

setup() {
  ensure_dotnet
  ensure_libstdcxx
  ensure_turbojpeg
  ensure_tcmalloc
}

# The multi-process tests start ranks with Open MPI's mpirun (Debian's openmpi-bin brings it and libmpi.so.40).
ensure_openmpi() {
  command -v mpirun >/dev/null && return 0
  if command -v apt-get >/dev/null; then
    say "installing Debian's openmpi-bin (mpirun and libmpi.so.40, for the distributed tests)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openmpi-bin >/dev/null 2>&1 || {
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openmpi-bin >/dev/null
    }
  else
    say "the distributed tests need Open MPI 4 (mpirun, libmpi.so.40); install it with your package manager"; exit 1
  fi
}

# The INT8 accuracy tests evaluate a trained network on Fashion-MNIST, Debian's dataset-fashion-mnist (30 MB).
ensure_fashion_mnist() {
  [ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] && return 0
  if command -v apt-get >/dev/null; then
    say "installing Debian's dataset-fashion-mnist (the INT8 accuracy tests and the Fashion-MNIST sample use it)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || {
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
    }
  else
    say "the INT8 accuracy tests need Fashion-MNIST's four .gz files in /usr/share/datasets/fashion-mnist; they will fail without them"
  fi
}

mpi_test() {
  setup
  ensure_openmpi
  dotnet build tests/MobileNeXt.Distributed.Tests -c Release --nologo -v quiet
  dotnet test tests/MobileNeXt.Distributed.Tests -c Release --nologo --no-build "$@"
}

cmd="${1:-test}"; shift || true
case "$cmd" in
  setup) setup ;;
  test)
    setup
    ensure_pytorch
    ensure_openmpi
    ensure_fashion_mnist
    dotnet build MobileNeXt.sln -c Release --nologo -v quiet
    # One clear sentence, before any test, if the native library cannot load.
    dotnet src/MobileNeXt.Cli/bin/Release/net10.0/mobilenext.dll doctor
    dotnet test MobileNeXt.sln -c Release --nologo --no-build "$@"
    ;;
  packages)
    setup
    # A version of its own for every run, so the consumer restores this build and not a cached one.
    version="0.1.0-local.$(date +%Y%m%d%H%M%S)"
    rm -rf artifacts/packages
    dotnet pack MobileNeXt.sln -c Release --nologo -v quiet -o artifacts/packages -p:Version="$version"
    ls artifacts/packages
    dotnet run --project samples/ConsumerApp -c Release -p:MobileNeXtVersion="$version"
    # The same app built without a native backend and run with an empty HOME and NuGet cache (on a developer machine
    # the libtorch in the cache was found anyway): the user must read the one sentence that names the missing
    # package, not a type-initializer trace.
    rm -rf artifacts/consumer-without-backend
    dotnet build samples/ConsumerApp -c Release --nologo -v quiet -p:MobileNeXtVersion="$version" -p:WithoutNativeBackend=true \
      -o artifacts/consumer-without-backend
    nocache=$(mktemp -d)
    trap 'rm -rf "$nocache"' EXIT
    if out=$(HOME="$nocache" NUGET_PACKAGES="$nocache" dotnet artifacts/consumer-without-backend/ConsumerApp.dll 2>&1); then
      say "the consumer app ran without a native backend; expected it to stop with the missing-backend sentence"; exit 1
    fi
    if ! grep -q "TorchSharp's native backend is missing from this application: add a libtorch package" <<<"$out"; then
      printf '%s\n' "$out"; say "the consumer app without a native backend did not name the missing package"; exit 1
    fi
    say "without a native backend the consumer app says: $(grep -o "TorchSharp's native backend is missing from this application[^(]*" <<<"$out" | head -1)"
    # The command-line tool, installed from the same folder as a user installs it.
    rm -rf artifacts/tool
    dotnet tool install MobileNeXt.Cli --version "$version" --add-source artifacts/packages --tool-path artifacts/tool >/dev/null
    artifacts/tool/mobilenext doctor
    artifacts/tool/mobilenext profile mobilenext_100
    ;;
  paper)
    setup
    dotnet run --project src/MobileNeXt.Cli -c Release -- paper "$@"
    ;;
  mpi-test) mpi_test "$@" ;;
  *) say "unknown command '$cmd'; use: setup | test | paper | packages | mpi-test"; exit 2 ;;
esac
