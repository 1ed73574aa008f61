// What every GPU kernel file uses: portable OpenCL 1.2 C (no extension needed; double accumulators
// where the device has cl_khr_fp64, as the reference kernels have, float where it has none: Mali
// and Adreno GPUs), and the kernels several ops share (gemm, column sums, reduce_sum). An op's own
// kernels are in runtime/backends/gpu/ops/<op>.cl beside its lowering; CMake joins this file and
// those into one source, which the OpenCL backend builds and the CUDA backend compiles as CUDA C++
// (runtime/backends/cuda/cuda_kernels.cu maps the few OpenCL names).
//
// Conventions (runtime/backends/opencl/opencl_backend.cc sets the arguments):
// - every tensor argument is a buffer and a byte offset into it (B(T, name)); P(T, name) is the
//   tensor's first element. The buffers are the device copies of the session's memory and of the
//   model's bytes, so one buffer holds many tensors.
// - sizes are int (the backend declines tensors of 2^31 elements or more).
// - a backward kernel *writes* its gradient (the Program does not zero it first).
#if defined(__CUDACC__)
typedef double acc_t;
#elif defined(cl_khr_fp64)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t;
#else
typedef float acc_t;
#endif
// Functions called by kernels (CUDA marks them __device__).
#ifndef PF_DEVICE
#define PF_DEVICE
#endif

#define B(T, name) __global T* name##_buffer, ulong name##_offset
#define P(T, name) ((__global T*)((__global char*)name##_buffer + name##_offset))

#ifndef TILE
#define TILE 16
#endif
#define REDUCE_GROUP 64

// ---- matrix products ----
// C[j] = sum over the terms t of matrix j: A_t B_t (+ bias), A(m, k) = a[a_t + m * a_sm + k * a_sk],
// B(k, n) = b[b_t + k * b_sk + n * b_sn], C(m, n) = c[j * M * N + m * N + n]. terms: for matrix j,
// [first, end) into pairs (element offsets of A_t and B_t). One work-item per element of C,
// TILE x TILE tiles of A and B in local memory.
__kernel void gemm(B(float, a), B(float, b), B(float, c), B(float, bias), int has_bias, int M, int N, int K, int a_sm,
                   int a_sk, int b_sk, int b_sn, B(int, terms), int matrices) {
  __local float tile_a[TILE][TILE + 1];
  __local float tile_b[TILE][TILE + 1];
  const int tn = get_local_id(0), tm = get_local_id(1);
  const int n = get_group_id(0) * TILE + tn, m = get_group_id(1) * TILE + tm;
  const int j = get_global_id(2);
  __global const int* t = P(int, terms);
  const int first = t[2 * j], end = t[2 * j + 1];
  __global const int* pairs = t + 2 * matrices;
  __global const float* A = P(float, a);
  __global const float* Bm = P(float, b);
  float acc = 0.0f;
  for (int term = first; term < end; ++term) {
    const int a0 = pairs[2 * term], b0 = pairs[2 * term + 1];
    for (int k0 = 0; k0 < K; k0 += TILE) {
      const int ka = k0 + tn, kb = k0 + tm;
      tile_a[tm][tn] = m < M && ka < K ? A[a0 + m * a_sm + ka * a_sk] : 0.0f;
      tile_b[tm][tn] = kb < K && n < N ? Bm[b0 + kb * b_sk + n * b_sn] : 0.0f;
      barrier(CLK_LOCAL_MEM_FENCE);
      for (int k = 0; k < TILE; ++k) acc += tile_a[tm][k] * tile_b[k][tn];
      barrier(CLK_LOCAL_MEM_FENCE);
    }
  }
  if (m < M && n < N) {
    if (has_bias) acc += P(float, bias)[n];
    P(float, c)[j * M * N + m * N + n] = acc;
  }
}

// y[r, c] += bias[c] (the CUDA backend's bias after cuBLAS and cuDNN; OpenCL's gemm adds its own).
__kernel void add_row_vector(B(float, y), B(float, bias), int rows, int cols) {
  const int i = get_global_id(0);
  if (i < rows * cols) P(float, y)[i] += P(float, bias)[i % cols];
}

// Sums of the rows of x [rows, cols] per column (the bias gradients): y[c] = sum_r x[r, c].
__kernel void column_sums(B(float, x), B(float, y), int rows, int cols) {
  const int c = get_global_id(0);
  if (c >= cols) return;
  acc_t sum = 0;
  for (int r = 0; r < rows; ++r) sum += P(float, x)[r * cols + c];
  P(float, y)[c] = (float)sum;
}

// ---- reductions to one value, one work-group of REDUCE_GROUP ----
// y[0] = (accumulate ? y[0] : 0) + scale * sum(x[i]) (square: of x[i]^2).
__kernel void reduce_sum(B(float, x), B(float, y), int n, float scale, int square, int accumulate) {
  __local acc_t partial[REDUCE_GROUP];
  const int lane = get_local_id(0);
  acc_t sum = 0;
  for (int i = lane; i < n; i += REDUCE_GROUP) {
    const acc_t v = P(float, x)[i];
    sum += square ? v * v : v;
  }
  partial[lane] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int width = REDUCE_GROUP / 2; width > 0; width /= 2) {
    if (lane < width) partial[lane] += partial[lane + width];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lane == 0) P(float, y)[0] = (float)((accumulate ? P(float, y)[0] : 0.0f) + partial[0] * scale);
}
