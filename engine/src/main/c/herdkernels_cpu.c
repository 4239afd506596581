/* Which of the kernel variants in herdkernels.c this CPU can run. Compiled without ISA flags. */
#include <stdint.h>

/* 0: neither; 1: AVX2 + FMA + F16C; 2: also AVX-512 F/BW/VL with VNNI. */
int32_t herd_cpu_level(void) {
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
    /* F16C has no __builtin_cpu_supports name in older compilers; every AVX2 CPU has it. */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512vnni")) return 2;
    return 1;
}
