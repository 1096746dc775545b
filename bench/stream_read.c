/* The machine's memory read bandwidth, the ceiling of bandwidth-bound decoding: every weight
 * byte is read once per token, so tokens/s x weight bytes / this figure is the fraction of the
 * ceiling an engine reaches. A STREAM-style read-only sum over 1 GiB (far beyond the caches),
 * with `threads` OpenMP threads, on 4 KiB pages and on transparent huge pages (madvise), the
 * best of 10 passes each. Built and run by scripts/bench-inference.sh:
 *     cc -O3 -march=native -fopenmp bench/stream_read.c -o stream_read && ./stream_read 2
 * prints one JSON object. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define BYTES (1ul << 30)

static double read_gbs(const float *a, size_t n, int threads) {
  double best = 0.0;
  for (int pass = 0; pass < 11; pass++) {
    double sum = 0.0, t0 = omp_get_wtime();
#pragma omp parallel for num_threads(threads) reduction(+ : sum) schedule(static)
    for (size_t i = 0; i < n; i += 4096) {
      /* Independent lanes so the adds vectorise and never bound the loop. */
      float acc[16] = {0};
      for (size_t j = 0; j < 4096; j += 16)
        for (int k = 0; k < 16; k++) acc[k] += a[i + j + k];
      for (int k = 0; k < 16; k++) sum += acc[k];
    }
    double gbs = (double)n * sizeof(float) / (omp_get_wtime() - t0) / 1e9;
    if (pass > 0 && gbs > best) best = gbs; /* pass 0 warms the pages and the threads */
    if (sum == 1234.5) printf("#");           /* keep the sum alive */
  }
  return best;
}

static double measure(int threads, int huge) {
  float *a = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED) return 0.0;
  madvise(a, BYTES, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  size_t n = BYTES / sizeof(float);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (size_t i = 0; i < n; i += 4096)
    for (size_t j = 0; j < 4096; j++) a[i + j] = 1.0f; /* first touch by the reading thread */
  double g = read_gbs(a, n, threads);
  munmap(a, BYTES);
  return g;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1) threads = 1;
  printf("{\"threads\": %d, \"read_gb_s_4k\": %.2f, \"read_gb_s_huge\": %.2f}\n", threads, measure(threads, 0),
         measure(threads, 1));
  return 0;
}
