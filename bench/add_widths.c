/*
 * out = a + b over 32M floats with 512-bit and 256-bit loads and stores (AVX-512 intrinsics): which
 * width streams more bytes from memory on this CPU. GB/s count 12 bytes per element; medians of 31
 * calls, the variants interleaved call by call. Threads: OMP_NUM_THREADS (each takes a contiguous part).
 *
 *   gcc -O2 -fopenmp -o /tmp/add_widths bench/add_widths.c && OMP_NUM_THREADS=1 /tmp/add_widths
 *
 * See "Session of 2026-11-23 (19:16-22:16 UTC)" in docs/performance.md.
 */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define AVX512 __attribute__((target("avx512f,avx512dq")))

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

AVX512 static void l512_s512(const float *a, const float *b, float *o, long n) {
    for (long i = 0; i < n; i += 32) {
        __m512 x0 = _mm512_add_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 x1 = _mm512_add_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        _mm512_storeu_ps(o + i, x0);
        _mm512_storeu_ps(o + i + 16, x1);
    }
}

AVX512 static void l256_s256(const float *a, const float *b, float *o, long n) {
    for (long i = 0; i < n; i += 16) {
        __m256 x0 = _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 x1 = _mm256_add_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        _mm256_storeu_ps(o + i, x0);
        _mm256_storeu_ps(o + i + 8, x1);
    }
}

AVX512 static void l256_s512(const float *a, const float *b, float *o, long n) {
    for (long i = 0; i < n; i += 32) {
        __m256 x0 = _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 x1 = _mm256_add_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        __m256 x2 = _mm256_add_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
        __m256 x3 = _mm256_add_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
        _mm512_storeu_ps(o + i, _mm512_insertf32x8(_mm512_castps256_ps512(x0), x1, 1));
        _mm512_storeu_ps(o + i + 16, _mm512_insertf32x8(_mm512_castps256_ps512(x2), x3, 1));
    }
}

AVX512 static void l512_s256(const float *a, const float *b, float *o, long n) {
    for (long i = 0; i < n; i += 32) {
        __m512 x0 = _mm512_add_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 x1 = _mm512_add_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        _mm256_storeu_ps(o + i, _mm512_castps512_ps256(x0));
        _mm256_storeu_ps(o + i + 8, _mm512_extractf32x8_ps(x0, 1));
        _mm256_storeu_ps(o + i + 16, _mm512_castps512_ps256(x1));
        _mm256_storeu_ps(o + i + 24, _mm512_extractf32x8_ps(x1, 1));
    }
}

/* 512-bit registers filled by two masked 256-bit halves (what a 512-bit species can do in Java) */
AVX512 static void halves_s512(const float *a, const float *b, float *o, long n) {
    for (long i = 0; i < n; i += 16) {
        __m512 x = _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(0x00FF, a + i), 0xFF00, a + i);
        __m512 y = _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(0x00FF, b + i), 0xFF00, b + i);
        _mm512_storeu_ps(o + i, _mm512_add_ps(x, y));
    }
}

typedef void (*loop)(const float *, const float *, float *, long);

static int cmp(const void *x, const void *y) {
    double d = *(const double *) x - *(const double *) y;
    return (d > 0) - (d < 0);
}

int main(void) {
    const long n = 32L * 1024 * 1024;
    const int reps = 31;
    enum { VARIANTS = 5 };
    loop loops[VARIANTS] = {l512_s512, l256_s256, l256_s512, l512_s256, halves_s512};
    const char *names[VARIANTS] = {"512 loads, 512 stores", "256 loads, 256 stores", "256 loads, 512 stores",
                                   "512 loads, 256 stores", "masked halves, 512 stores"};
    float *a = aligned_alloc(64, n * sizeof(float));
    float *b = aligned_alloc(64, n * sizeof(float));
    float *o = aligned_alloc(64, n * sizeof(float));
    if (!a || !b || !o) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
#pragma omp parallel for
    for (long i = 0; i < n; i++) {
        a[i] = 1.0f;
        b[i] = 2.0f;
        o[i] = 0.0f;
    }
    static double t[VARIANTS][31];
    for (int r = -3; r < reps; r++) {
        for (int v = 0; v < VARIANTS; v++) {
            double s = now();
#pragma omp parallel
            {
                long per = n / omp_get_num_threads();
                long from = per * omp_get_thread_num();
                loops[v](a + from, b + from, o + from, per);
            }
            if (r >= 0) {
                t[v][r] = now() - s;
            }
        }
    }
    for (int v = 0; v < VARIANTS; v++) {
        qsort(t[v], reps, sizeof(double), cmp);
        printf("%d threads  %-26s median %5.1f GB/s  best %5.1f\n", omp_get_max_threads(), names[v],
               12.0 * n / t[v][reps / 2] / 1e9, 12.0 * n / t[v][0] / 1e9);
    }
    return 0;
}
