#!/bin/sh
# Builds libherdkernels.so into the directory given as $1 (the Maven build passes
# target/classes/native/linux-x86_64). The kernels are compiled twice, once per instruction set,
# and the Java side binds the variant the CPU supports (herd_cpu_level). -ffp-contract=off: the
# float operations must be exactly the ones written, in the order written, as in the Java kernels.
set -eu
out="$1"
src="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
CC="${CC:-gcc}"
FLAGS="-std=c11 -O3 -fPIC -ffp-contract=off -fno-fast-math -Wall -Wextra -Werror"
"$CC" $FLAGS -c "$src/herdkernels_cpu.c" -o "$tmp/cpu.o"
for unit in herdkernels herdattention herdencode; do
  "$CC" $FLAGS -mavx2 -mfma -mf16c -DHERD_ISA=avx2 -c "$src/$unit.c" -o "$tmp/$unit-avx2.o"
  "$CC" $FLAGS -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni -DHERD_ISA=avx512 \
    -c "$src/$unit.c" -o "$tmp/$unit-avx512.o"
done
mkdir -p "$out"
"$CC" -shared -pthread -o "$out/libherdkernels.so" "$tmp"/*.o
