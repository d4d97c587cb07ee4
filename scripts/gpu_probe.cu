// gpu_probe.cu - what the GPU itself can do at the operations the mark
// phase is made of, so that scripts/gpu.sh's figures can be placed against
// the chip's limits: random 4-byte reads over a buffer far larger than L2
// (what following a reference is), a streaming read (the ceiling),
// atomicAdd to random words and to one word (marking, queue appends), and
// host-to-device copies from pinned and from pageable memory (the upload
// of dirty cards and refcounts), pinned device-to-host (the bitmap back).
// Prints one JSON object.  Built by nvcc in gpu.sh's probe step only; not
// part of the library.
//
//   gpu_probe [BUFFER_MiB]   (default 2048)
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define CHECK(call)                                                                     \
    do {                                                                                \
        cudaError_t e_ = (call);                                                        \
        if (e_ != cudaSuccess) {                                                        \
            fprintf(stderr, "gpu_probe: %s: %s (line %d)\n", #call, cudaGetErrorString(e_), \
                    __LINE__);                                                          \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

static const int REPS = 5;  // timed repetitions; the median is reported
static const int READS = 16; // random reads (or atomics) per thread

// A fresh index per (thread, k): splitmix-style mixing, so that no two
// warps' lanes share cache lines and the L2 holds nothing useful.
__device__ __forceinline__ unsigned mix(unsigned long long x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return (unsigned)(x ^ (x >> 31));
}

__global__ void fill(unsigned *a, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        a[i] = (unsigned)(i * 2654435761u);
}

// READS independent random 4-byte reads per thread; the sum is stored so
// that the compiler keeps them.
__global__ void random_reads(const unsigned *a, unsigned mask, unsigned *out, unsigned seed) {
    unsigned long long t = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;
    unsigned sum = 0;
#pragma unroll
    for (int k = 0; k < READS; k++)
        sum += __ldg(&a[mix(t * READS + k + ((unsigned long long)seed << 40)) & mask]);
    out[t] = sum;
}

__global__ void stream_read(const uint4 *a, size_t n, unsigned *out) {
    unsigned sum = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        uint4 v = a[i];
        sum += v.x ^ v.y ^ v.z ^ v.w;
    }
    if (sum == 0x12345678u)
        out[0] = sum; // almost never: keeps the loads
}

__global__ void random_atomics(unsigned *a, unsigned mask, unsigned seed) {
    unsigned long long t = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;
#pragma unroll
    for (int k = 0; k < READS; k++)
        atomicAdd(&a[mix(t * READS + k + ((unsigned long long)seed << 40)) & mask], 1u);
}

__global__ void one_word_atomics(unsigned *word) {
#pragma unroll
    for (int k = 0; k < READS; k++)
        atomicAdd(word, 1u);
}

static float median(std::vector<float> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Milliseconds of the median of REPS runs of launch(rep), after one warm-up.
template <class F> static float time_ms(F launch) {
    cudaEvent_t a, b;
    CHECK(cudaEventCreate(&a));
    CHECK(cudaEventCreate(&b));
    launch(-1);
    CHECK(cudaGetLastError());
    CHECK(cudaDeviceSynchronize());
    std::vector<float> ms;
    for (int r = 0; r < REPS; r++) {
        CHECK(cudaEventRecord(a));
        launch(r);
        CHECK(cudaGetLastError());
        CHECK(cudaEventRecord(b));
        CHECK(cudaEventSynchronize(b));
        float t;
        CHECK(cudaEventElapsedTime(&t, a, b));
        ms.push_back(t);
    }
    CHECK(cudaEventDestroy(a));
    CHECK(cudaEventDestroy(b));
    return median(ms);
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 2048;
    size_t words = mib << 18; // 4-byte words
    if (words == 0 || (words & (words - 1)) != 0) {
        fprintf(stderr, "gpu_probe: BUFFER_MiB must be a power of two\n");
        return 2;
    }
    cudaDeviceProp p;
    int dev = 0, driver = 0, runtime = 0;
    CHECK(cudaGetDevice(&dev));
    CHECK(cudaGetDeviceProperties(&p, dev));
    CHECK(cudaDriverGetVersion(&driver));
    CHECK(cudaRuntimeGetVersion(&runtime));
    int mem_khz = 0, bus_bits = 0;
    CHECK(cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, dev));
    CHECK(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev));

    unsigned *buf, *out;
    unsigned threads = 256, blocks = (unsigned)p.multiProcessorCount * 64;
    size_t nthreads = (size_t)threads * blocks;
    CHECK(cudaMalloc(&buf, words * 4));
    CHECK(cudaMalloc(&out, nthreads * 4));
    fill<<<blocks, threads>>>(buf, words);
    CHECK(cudaGetLastError());
    CHECK(cudaDeviceSynchronize());
    unsigned mask = (unsigned)(words - 1);

    double reads = (double)nthreads * READS;
    float t_rand = time_ms([&](int r) { random_reads<<<blocks, threads>>>(buf, mask, out, r + 1); });
    float t_stream = time_ms([&](int) {
        stream_read<<<blocks, threads>>>((const uint4 *)buf, words / 4, out);
    });
    float t_atom = time_ms([&](int r) { random_atomics<<<blocks, threads>>>(buf, mask, r + 1); });
    float t_one = time_ms([&](int) { one_word_atomics<<<blocks, threads>>>(out); });

    // Copies: 256 MiB, as one transfer each.
    size_t bytes = (size_t)256 << 20;
    void *pinned, *pageable = malloc(bytes);
    if (pageable == NULL) {
        fprintf(stderr, "gpu_probe: no host memory\n");
        return 1;
    }
    CHECK(cudaMallocHost(&pinned, bytes));
    memset(pinned, 1, bytes);
    memset(pageable, 1, bytes);
    float t_h2d_pinned = time_ms([&](int) {
        CHECK(cudaMemcpyAsync(buf, pinned, bytes, cudaMemcpyHostToDevice));
    });
    float t_h2d_pageable = time_ms([&](int) {
        CHECK(cudaMemcpyAsync(buf, pageable, bytes, cudaMemcpyHostToDevice));
    });
    float t_d2h_pinned = time_ms([&](int) {
        CHECK(cudaMemcpyAsync(pinned, buf, bytes, cudaMemcpyDeviceToHost));
    });

    double peak = 2.0 * mem_khz * 1e3 * (bus_bits / 8) / 1e9; // DDR: two transfers a clock
    printf("{\"gpu\": \"%s\", \"cc\": \"%d.%d\", \"sms\": %d, \"l2_bytes\": %d, "
           "\"memory_bytes\": %zu, \"driver\": %d, \"runtime\": %d,\n"
           " \"memory_clock_khz\": %d, \"bus_bits\": %d, \"peak_gb_s\": %.1f, "
           "\"buffer_bytes\": %zu, \"repeats\": %d,\n",
           p.name, p.major, p.minor, p.multiProcessorCount, p.l2CacheSize, p.totalGlobalMem,
           driver, runtime, mem_khz, bus_bits, peak, words * 4, REPS);
    printf(" \"random_read\": {\"reads\": %.0f, \"ms\": %.4f, \"greads_s\": %.3f, "
           "\"useful_gb_s\": %.2f, \"sector_gb_s\": %.2f},\n",
           reads, t_rand, reads / t_rand / 1e6, reads * 4 / t_rand / 1e6,
           reads * 32 / t_rand / 1e6);
    printf(" \"stream_read\": {\"bytes\": %zu, \"ms\": %.4f, \"gb_s\": %.2f},\n", words * 4,
           t_stream, (double)words * 4 / t_stream / 1e6);
    printf(" \"atomic_add_random\": {\"ops\": %.0f, \"ms\": %.4f, \"gops_s\": %.3f},\n", reads,
           t_atom, reads / t_atom / 1e6);
    printf(" \"atomic_add_one_word\": {\"ops\": %.0f, \"ms\": %.4f, \"gops_s\": %.3f},\n", reads,
           t_one, reads / t_one / 1e6);
    printf(" \"h2d_pinned\": {\"bytes\": %zu, \"ms\": %.4f, \"gb_s\": %.2f},\n", bytes,
           t_h2d_pinned, bytes / t_h2d_pinned / 1e6);
    printf(" \"h2d_pageable\": {\"bytes\": %zu, \"ms\": %.4f, \"gb_s\": %.2f},\n", bytes,
           t_h2d_pageable, bytes / t_h2d_pageable / 1e6);
    printf(" \"d2h_pinned\": {\"bytes\": %zu, \"ms\": %.4f, \"gb_s\": %.2f}}\n", bytes,
           t_d2h_pinned, bytes / t_d2h_pinned / 1e6);
    CHECK(cudaFreeHost(pinned));
    free(pageable);
    CHECK(cudaFree(buf));
    CHECK(cudaFree(out));
    return 0;
}
