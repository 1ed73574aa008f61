// The GPU backends' kernels: every op of ops/, forward and backward, in portable OpenCL 1.2 C (no
// extension needed; double accumulators where the device has cl_khr_fp64, as the reference
// kernels have, float where it has none: Mali and Adreno GPUs). The CUDA backend compiles the
// same file as CUDA C++ (runtime/backends/cuda/cuda_kernels.cu maps the few OpenCL names).
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

// ---- elementwise maps (copies are buffer copies, not kernels) ----

// op: 0 relu, 1 clamp, 2 sigmoid, 3 tanh, 4 gelu (erf), 5 gelu (tanh approximation)
__kernel void unary_forward(B(float, x), B(float, y), int n, int op, float lo, float hi) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const float v = P(float, x)[i];
  float r;
  switch (op) {
    case 0: r = v > 0.0f ? v : 0.0f; break;
    case 1: r = fmin(fmax(v, lo), hi); break;
    case 2: r = (float)(1.0 / (1.0 + exp(-(acc_t)v))); break;
    case 3: r = (float)tanh((acc_t)v); break;
    case 4: r = (float)(0.5 * (acc_t)v * (1.0 + erf((acc_t)v * 0.7071067811865476))); break;
    default: {
      const acc_t z = v;
      r = (float)(0.5 * z * (1.0 + tanh(0.7978845608028654 * (z + 0.044715 * z * z * z))));
    }
  }
  P(float, y)[i] = r;
}

__kernel void unary_backward(B(float, x), B(float, y), B(float, dy), B(float, dx), int n, int op, float lo, float hi) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const float v = P(float, x)[i], out = P(float, y)[i];
  float d;
  switch (op) {
    case 0: d = v > 0.0f ? 1.0f : 0.0f; break;
    case 1: d = v >= lo && v <= hi ? 1.0f : 0.0f; break;
    case 2: d = out * (1.0f - out); break;
    case 3: d = 1.0f - out * out; break;
    case 4: {
      const acc_t z = v;
      d = (float)(0.5 * (1.0 + erf(z * 0.7071067811865476)) + z * 0.3989422804014327 * exp(-0.5 * z * z));
      break;
    }
    default: {
      const acc_t z = v, c = 0.7978845608028654;
      const acc_t t = tanh(c * (z + 0.044715 * z * z * z));
      d = (float)(0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * z * z));
    }
  }
  P(float, dx)[i] = P(float, dy)[i] * d;
}

// Dropout in training: the counter-based mask of ops/dropout.cc (the same bits). y = x * keep * scale.
PF_DEVICE float mask_uniform(ulong seed, uint stream, long index) {
  ulong z = seed ^ ((ulong)stream << 40) ^ (ulong)index * 0x9E3779B97F4A7C15UL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
  z ^= z >> 31;
  return (float)(z >> 40) * (1.0f / 16777216.0f);
}

__kernel void dropout_mask(B(float, x), B(long, seed), B(float, y), int n, uint stream, float ratio) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const float scale = 1.0f / (1.0f - ratio);
  P(float, y)[i] = mask_uniform((ulong)P(long, seed)[0], stream, i) >= ratio ? P(float, x)[i] * scale : 0.0f;
}

// ---- broadcasting binary ops: 0 add, 1 sub, 2 mul, 3 div ----
// meta: rank, then out dims, a strides, b strides (kMaxRank = 6 each; 0 along broadcast dims).
__kernel void binary_forward(B(float, a), B(float, b), B(float, y), B(int, meta), int n, int op) {
  const int i = get_global_id(0);
  if (i >= n) return;
  __global const int* m = P(int, meta);
  const int rank = m[0];
  int rest = i, ia = 0, ib = 0;
  for (int d = rank - 1; d >= 0; --d) {
    const int c = rest % m[1 + d];
    rest /= m[1 + d];
    ia += c * m[7 + d];
    ib += c * m[13 + d];
  }
  const float va = P(float, a)[ia], vb = P(float, b)[ib];
  float r;
  switch (op) {
    case 0: r = va + vb; break;
    case 1: r = va - vb; break;
    case 2: r = va * vb; break;
    default: r = va / vb;
  }
  P(float, y)[i] = r;
}

// The gradient of input `which` (0: a, 1: b): element i of it sums dy * d(op)/d(input) over the
// output elements that read it. meta: keep rank, keep dims, then the out, a and b strides of the
// kept dims; reduce rank, reduce dims, then the out, a and b strides of the reduced dims.
__kernel void binary_backward(B(float, a), B(float, b), B(float, dy), B(float, dx), B(int, meta), int n, int op,
                              int which) {
  const int i = get_global_id(0);
  if (i >= n) return;
  __global const int* m = P(int, meta);
  const int keep = m[0];
  int rest = i, base_y = 0, base_a = 0, base_b = 0;
  for (int d = keep - 1; d >= 0; --d) {
    const int c = rest % m[1 + d];
    rest /= m[1 + d];
    base_y += c * m[7 + d];
    base_a += c * m[13 + d];
    base_b += c * m[19 + d];
  }
  __global const int* r = m + 25;
  const int reduce = r[0];
  int count = 1;
  for (int d = 0; d < reduce; ++d) count *= r[1 + d];
  acc_t sum = 0;
  for (int j = 0; j < count; ++j) {
    int left = j, iy = base_y, ia = base_a, ib = base_b;
    for (int d = reduce - 1; d >= 0; --d) {
      const int c = left % r[1 + d];
      left /= r[1 + d];
      iy += c * r[7 + d];
      ia += c * r[13 + d];
      ib += c * r[19 + d];
    }
    const float g = P(float, dy)[iy], va = P(float, a)[ia], vb = P(float, b)[ib];
    float d;
    switch (op) {
      case 0: d = 1.0f; break;
      case 1: d = which == 0 ? 1.0f : -1.0f; break;
      case 2: d = which == 0 ? vb : va; break;
      default: d = which == 0 ? 1.0f / vb : -va / (vb * vb);
    }
    sum += g * d;
  }
  P(float, dx)[i] = (float)sum;
}

// ---- layout ----
// meta: rank, out dims, then the input stride of each output dim.
__kernel void transpose_words(B(uint, x), B(uint, y), B(int, meta), int n) {
  const int i = get_global_id(0);
  if (i >= n) return;
  __global const int* m = P(int, meta);
  int rest = i, at = 0;
  for (int d = m[0] - 1; d >= 0; --d) {
    const int c = rest % m[1 + d];
    rest /= m[1 + d];
    at += c * m[7 + d];
  }
  P(uint, y)[i] = P(uint, x)[at];
}

// One concat input as [outer, in_row] words at column `column` of the [outer, out_row] output;
// to_slice = 1 copies the other way (the backward).
__kernel void concat_slice(B(uint, part), B(uint, whole), int outer, int in_row, int out_row, int column, int to_slice) {
  const int i = get_global_id(0);
  if (i >= outer * in_row) return;
  const int o = i / in_row, j = i % in_row;
  if (to_slice) {
    P(uint, part)[i] = P(uint, whole)[o * out_row + column + j];
  } else {
    P(uint, whole)[o * out_row + column + j] = P(uint, part)[i];
  }
}

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

// ---- convolution, NHWC input, OHWI weights ----
// geometry: N, H, W, C, OH, OW, O, KH, KW, group_in, group_out, stride h w, pad top left, dilation h w
#define CONV_GEOMETRY                                                                                                  \
  __global const int* g = P(int, geometry);                                                                            \
  const int N = g[0], H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5], O = g[6], KH = g[7], KW = g[8], GI = g[9], \
            GO = g[10], SH = g[11], SW = g[12], PT = g[13], PL = g[14], DH = g[15], DW = g[16];

__kernel void conv_forward(B(float, x), B(float, w), B(float, bias), int has_bias, B(float, y), B(int, geometry)) {
  CONV_GEOMETRY
  const int i = get_global_id(0);
  if (i >= N * OH * OW * O) return;
  const int oc = i % O, ox = (i / O) % OW, oy = (i / O / OW) % OH, n = i / O / OW / OH;
  const int first_in = (oc / GO) * GI;
  float acc = has_bias ? P(float, bias)[oc] : 0.0f;
  for (int ky = 0; ky < KH; ++ky) {
    const int iy = oy * SH - PT + ky * DH;
    if (iy < 0 || iy >= H) continue;
    for (int kx = 0; kx < KW; ++kx) {
      const int ix = ox * SW - PL + kx * DW;
      if (ix < 0 || ix >= W) continue;
      __global const float* xp = P(float, x) + ((n * H + iy) * W + ix) * C + first_in;
      __global const float* wp = P(float, w) + ((oc * KH + ky) * KW + kx) * GI;
      for (int ic = 0; ic < GI; ++ic) acc += xp[ic] * wp[ic];
    }
  }
  P(float, y)[i] = acc;
}

// dx[n, iy, ix, c]: every output pixel and channel of c's group whose window read it.
__kernel void conv_backward_input(B(float, w), B(float, dy), B(float, dx), B(int, geometry)) {
  CONV_GEOMETRY
  const int i = get_global_id(0);
  if (i >= N * H * W * C) return;
  const int c = i % C, ix = (i / C) % W, iy = (i / C / W) % H, n = i / C / W / H;
  const int group = c / GI, ic = c % GI;
  float acc = 0.0f;
  for (int ky = 0; ky < KH; ++ky) {
    const int ty = iy + PT - ky * DH;
    if (ty < 0 || ty % SH != 0 || ty / SH >= OH) continue;
    const int oy = ty / SH;
    for (int kx = 0; kx < KW; ++kx) {
      const int tx = ix + PL - kx * DW;
      if (tx < 0 || tx % SW != 0 || tx / SW >= OW) continue;
      const int ox = tx / SW;
      __global const float* dyp = P(float, dy) + ((n * OH + oy) * OW + ox) * O;
      for (int oc = group * GO; oc < (group + 1) * GO; ++oc) {
        acc += dyp[oc] * P(float, w)[((oc * KH + ky) * KW + kx) * GI + ic];
      }
    }
  }
  P(float, dx)[i] = acc;
}

// dw[oc, ky, kx, ic]: over every output pixel.
__kernel void conv_backward_weight(B(float, x), B(float, dy), B(float, dw), B(int, geometry)) {
  CONV_GEOMETRY
  const int i = get_global_id(0);
  if (i >= O * KH * KW * GI) return;
  const int ic = i % GI, kx = (i / GI) % KW, ky = (i / GI / KW) % KH, oc = i / GI / KW / KH;
  const int c = (oc / GO) * GI + ic;
  acc_t acc = 0;
  for (int n = 0; n < N; ++n) {
    for (int oy = 0; oy < OH; ++oy) {
      const int iy = oy * SH - PT + ky * DH;
      if (iy < 0 || iy >= H) continue;
      for (int ox = 0; ox < OW; ++ox) {
        const int ix = ox * SW - PL + kx * DW;
        if (ix < 0 || ix >= W) continue;
        acc += P(float, dy)[((n * OH + oy) * OW + ox) * O + oc] * P(float, x)[((n * H + iy) * W + ix) * C + c];
      }
    }
  }
  P(float, dw)[i] = (float)acc;
}

// ---- pooling, NHWC ----
// geometry: N, H, W, C, OH, OW, KH, KW, stride h w, pad top left, count_include_pad
#define POOL_GEOMETRY                                                                                                  \
  __global const int* g = P(int, geometry);                                                                            \
  const int N = g[0], H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5], KH = g[6], KW = g[7], SH = g[8], SW = g[9], \
            PT = g[10], PL = g[11], INCLUDE_PAD = g[12];

// The element of the window of output (n, oy, ox, c) that max pooling picks (the reference's
// rule: the first largest, a NaN wins), or -1.
PF_DEVICE int max_pool_pick(__global const float* x, int n, int oy, int ox, int c, int H, int W, int C, int KH, int KW, int SH,
                  int SW, int PT, int PL) {
  int best = -1;
  float best_value = 0.0f;
  for (int iy = oy * SH - PT; iy < oy * SH - PT + KH; ++iy) {
    if (iy < 0 || iy >= H) continue;
    for (int ix = ox * SW - PL; ix < ox * SW - PL + KW; ++ix) {
      if (ix < 0 || ix >= W) continue;
      const int at = ((n * H + iy) * W + ix) * C + c;
      if (best < 0 || x[at] > best_value || isnan(x[at])) {
        best = at;
        best_value = x[at];
      }
    }
  }
  return best;
}

PF_DEVICE int pool_count(int oy, int ox, int H, int W, int KH, int KW, int SH, int SW, int PT, int PL, int include_pad) {
  if (include_pad) return KH * KW;
  const int y0 = oy * SH - PT, x0 = ox * SW - PL;
  const int rows = min(y0 + KH, H) - max(y0, 0), cols = min(x0 + KW, W) - max(x0, 0);
  return rows > 0 && cols > 0 ? rows * cols : 0;
}

__kernel void pool_forward(B(float, x), B(float, y), B(int, geometry), int is_max) {
  POOL_GEOMETRY
  const int i = get_global_id(0);
  if (i >= N * OH * OW * C) return;
  const int c = i % C, ox = (i / C) % OW, oy = (i / C / OW) % OH, n = i / C / OW / OH;
  __global const float* xp = P(float, x);
  if (is_max) {
    const int at = max_pool_pick(xp, n, oy, ox, c, H, W, C, KH, KW, SH, SW, PT, PL);
    P(float, y)[i] = at >= 0 ? xp[at] : -INFINITY;
    return;
  }
  acc_t sum = 0;
  for (int iy = max(oy * SH - PT, 0); iy < min(oy * SH - PT + KH, H); ++iy) {
    for (int ix = max(ox * SW - PL, 0); ix < min(ox * SW - PL + KW, W); ++ix) sum += xp[((n * H + iy) * W + ix) * C + c];
  }
  const int count = pool_count(oy, ox, H, W, KH, KW, SH, SW, PT, PL, INCLUDE_PAD);
  P(float, y)[i] = (float)(count ? sum / count : sum);
}

// dx[n, iy, ix, c]: the outputs whose windows hold it (max: those that picked it).
__kernel void pool_backward(B(float, x), B(float, dy), B(float, dx), B(int, geometry), int is_max) {
  POOL_GEOMETRY
  const int i = get_global_id(0);
  if (i >= N * H * W * C) return;
  const int c = i % C, ix = (i / C) % W, iy = (i / C / W) % H, n = i / C / W / H;
  // Outputs oy with oy * SH - PT <= iy < oy * SH - PT + KH.
  const int oy_first = max(0, (iy + PT - KH + SH) / SH), ox_first = max(0, (ix + PL - KW + SW) / SW);
  float acc = 0.0f;
  for (int oy = oy_first; oy < OH && oy * SH - PT <= iy; ++oy) {
    if (iy >= oy * SH - PT + KH) continue;
    for (int ox = ox_first; ox < OW && ox * SW - PL <= ix; ++ox) {
      if (ix >= ox * SW - PL + KW) continue;
      const float g = P(float, dy)[((n * OH + oy) * OW + ox) * C + c];
      if (is_max) {
        if (max_pool_pick(P(float, x), n, oy, ox, c, H, W, C, KH, KW, SH, SW, PT, PL) == i) acc += g;
      } else {
        const int count = pool_count(oy, ox, H, W, KH, KW, SH, SW, PT, PL, INCLUDE_PAD);
        if (count) acc += (float)((acc_t)g / count);
      }
    }
  }
  P(float, dx)[i] = acc;
}

__kernel void global_pool_forward(B(float, x), B(float, y), int N, int pixels, int C) {
  const int i = get_global_id(0);
  if (i >= N * C) return;
  const int n = i / C, c = i % C;
  acc_t sum = 0;
  for (int p = 0; p < pixels; ++p) sum += P(float, x)[(n * pixels + p) * C + c];
  P(float, y)[i] = pixels > 0 ? (float)(sum / pixels) : 0.0f;
}

__kernel void global_pool_backward(B(float, dy), B(float, dx), int N, int pixels, int C) {
  const int i = get_global_id(0);
  if (i >= N * pixels * C) return;
  const int c = i % C, n = i / C / pixels;
  P(float, dx)[i] = (float)((acc_t)P(float, dy)[n * C + c] / pixels);
}

// ---- softmax along an axis seen as [outer, classes, inner] ----
__kernel void softmax_forward(B(float, x), B(float, y), int outer, int classes, int inner, int log_softmax) {
  const int i = get_global_id(0);
  if (i >= outer * inner) return;
  const int base = (i / inner) * classes * inner + i % inner;
  __global const float* src = P(float, x) + base;
  __global float* dst = P(float, y) + base;
  float max_value = -INFINITY;
  for (int c = 0; c < classes; ++c) {
    if (src[c * inner] > max_value) max_value = src[c * inner];
  }
  acc_t sum = 0;
  for (int c = 0; c < classes; ++c) sum += exp((acc_t)src[c * inner] - max_value);
  const acc_t log_sum = log(sum);
  for (int c = 0; c < classes; ++c) {
    const acc_t shifted = (acc_t)src[c * inner] - max_value;
    dst[c * inner] = (float)(log_softmax ? shifted - log_sum : exp(shifted) / sum);
  }
}

__kernel void softmax_backward(B(float, y), B(float, dy), B(float, dx), int outer, int classes, int inner,
                               int log_softmax) {
  const int i = get_global_id(0);
  if (i >= outer * inner) return;
  const int base = (i / inner) * classes * inner + i % inner;
  __global const float* yp = P(float, y) + base;
  __global const float* g = P(float, dy) + base;
  acc_t dot = 0;
  for (int c = 0; c < classes; ++c) dot += log_softmax ? (acc_t)g[c * inner] : (acc_t)g[c * inner] * yp[c * inner];
  for (int c = 0; c < classes; ++c) {
    const acc_t v = log_softmax ? g[c * inner] - exp((acc_t)yp[c * inner]) * dot : yp[c * inner] * (g[c * inner] - dot);
    P(float, dx)[base + c * inner] = (float)v;
  }
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

// ---- losses ----
// Per row: the cross-entropy of its logits against its label (i64 or i32 labels); a label out of
// range records (node, row, label) in the device's status word and gives NaN.
PF_DEVICE long read_label(__global const char* labels, int label64, int r) {
  return label64 ? ((__global const long*)labels)[r] : ((__global const int*)labels)[r];
}

PF_DEVICE void report_label(__global int* status, int node, int r, long label, int classes) {
  if (atomic_cmpxchg(status, 0, 1) == 0) {
    status[1] = node;
    status[2] = r;
    status[3] = (int)label;
    status[4] = classes;
  }
}

// A row of logits: its largest value (the shift) and the sum of exp(logit - largest).
PF_DEVICE acc_t row_sum_exp(__global const float* l, int classes, float* max_value) {
  *max_value = -INFINITY;
  for (int c = 0; c < classes; ++c) {
    if (l[c] > *max_value) *max_value = l[c];
  }
  acc_t sum = 0;
  for (int c = 0; c < classes; ++c) sum += exp((acc_t)l[c] - *max_value);
  return sum;
}

__kernel void cross_entropy_rows(B(float, logits), B(char, labels), int label64, B(float, losses), int rows,
                                 int classes, __global int* status, int node) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  const long label = read_label(P(char, labels), label64, r);
  if (label < 0 || label >= classes) {
    report_label(status, node, r, label, classes);
    P(float, losses)[r] = NAN;
    return;
  }
  __global const float* l = P(float, logits) + r * classes;
  float max_value;
  const acc_t sum = row_sum_exp(l, classes, &max_value);
  P(float, losses)[r] = (float)(log(sum) + max_value - l[label]);
}

// reduction: 0 none (dloss per row), 1 sum, 2 mean
__kernel void cross_entropy_backward(B(float, logits), B(char, labels), int label64, B(float, dloss),
                                     B(float, dlogits), int rows, int classes, int reduction, __global int* status,
                                     int node) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  const long label = read_label(P(char, labels), label64, r);
  __global float* d = P(float, dlogits) + r * classes;
  if (label < 0 || label >= classes) {
    report_label(status, node, r, label, classes);
    for (int c = 0; c < classes; ++c) d[c] = NAN;
    return;
  }
  const acc_t g = reduction == 0 ? (acc_t)P(float, dloss)[r]
                  : reduction == 1 ? (acc_t)P(float, dloss)[0]
                                   : (acc_t)P(float, dloss)[0] / rows;
  __global const float* l = P(float, logits) + r * classes;
  float max_value;
  const acc_t sum = row_sum_exp(l, classes, &max_value);
  for (int c = 0; c < classes; ++c) {
    const acc_t probability = exp((acc_t)l[c] - max_value) / sum;
    d[c] = (float)(g * (probability - (c == label ? 1.0 : 0.0)));
  }
}

__kernel void squared_difference(B(float, a), B(float, b), B(float, y), int n) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const acc_t d = (acc_t)P(float, a)[i] - P(float, b)[i];
  P(float, y)[i] = (float)(d * d);
}

// dp (and dt = -dp) of the MSE; reduction as cross_entropy_backward. Null gradients: has_* = 0.
__kernel void mse_backward(B(float, a), B(float, b), B(float, dloss), B(float, da), int has_da, B(float, db), int has_db,
                           int n, int reduction) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const acc_t g = reduction == 0 ? (acc_t)P(float, dloss)[i]
                  : reduction == 1 ? (acc_t)P(float, dloss)[0]
                                   : (acc_t)P(float, dloss)[0] / n;
  const acc_t d = 2.0 * g * ((acc_t)P(float, a)[i] - P(float, b)[i]);
  if (has_da) P(float, da)[i] = (float)d;
  if (has_db) P(float, db)[i] = (float)-d;
}

// ---- normalization ----
// Batch norm at inference, x as [outer, C, inner].
__kernel void batch_norm_forward(B(float, x), B(float, scale), B(float, bias), B(float, mean), B(float, var),
                                 B(float, y), int n, int C, int inner, float eps) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int c = (i / inner) % C;
  const acc_t r = 1.0 / sqrt((acc_t)P(float, var)[c] + eps);
  P(float, y)[i] = (float)(((acc_t)P(float, x)[i] - P(float, mean)[c]) * r * P(float, scale)[c] + P(float, bias)[c]);
}

// Per channel: sums over [outer, inner] of dy and dy * (x - mean); the parameter gradients.
__kernel void batch_norm_backward_channels(B(float, x), B(float, scale), B(float, mean), B(float, var), B(float, dy),
                                           B(float, dscale), B(float, dbias), B(float, dmean), B(float, dvar),
                                           int wanted, int outer, int C, int inner, float eps) {
  const int c = get_global_id(0);
  if (c >= C) return;
  const acc_t r = 1.0 / sqrt((acc_t)P(float, var)[c] + eps), mu = P(float, mean)[c], s = P(float, scale)[c];
  acc_t sum_dy = 0, sum_dy_centered = 0;
  for (int o = 0; o < outer; ++o) {
    for (int k = 0; k < inner; ++k) {
      const int at = (o * C + c) * inner + k;
      const acc_t g = P(float, dy)[at];
      sum_dy += g;
      sum_dy_centered += g * ((acc_t)P(float, x)[at] - mu);
    }
  }
  if (wanted & 2) P(float, dscale)[c] = (float)(sum_dy_centered * r);
  if (wanted & 4) P(float, dbias)[c] = (float)sum_dy;
  if (wanted & 8) P(float, dmean)[c] = (float)(-sum_dy * s * r);
  if (wanted & 16) P(float, dvar)[c] = (float)(sum_dy_centered * s * -0.5 * r * r * r);
}

__kernel void batch_norm_backward_input(B(float, scale), B(float, var), B(float, dy), B(float, dx), int n, int C,
                                        int inner, float eps) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int c = (i / inner) % C;
  const acc_t r = 1.0 / sqrt((acc_t)P(float, var)[c] + eps);
  P(float, dx)[i] = (float)((acc_t)P(float, dy)[i] * P(float, scale)[c] * r);
}

// The mean and the (biased) variance of channel c of x seen as [outer, C, inner].
PF_DEVICE void channel_statistics(__global const float* x, int outer, int C, int inner, int c, acc_t* mean, acc_t* var) {
  acc_t sum = 0;
  for (int o = 0; o < outer; ++o) {
    for (int k = 0; k < inner; ++k) sum += x[(o * C + c) * inner + k];
  }
  *mean = sum / (outer * inner);
  acc_t squares = 0;
  for (int o = 0; o < outer; ++o) {
    for (int k = 0; k < inner; ++k) {
      const acc_t d = x[(o * C + c) * inner + k] - *mean;
      squares += d * d;
    }
  }
  *var = squares / (outer * inner);
}

// Batch norm in training. Per channel: the batch mean and variance; stats = mean, r = 1/sqrt(var +
// eps) (scratch), out_mean and out_var (unbiased) the op's outputs 1 and 2.
__kernel void batch_norm_train_stats(B(float, x), B(float, stats), B(float, out_mean), B(float, out_var), int outer,
                                     int C, int inner, float eps) {
  const int c = get_global_id(0);
  if (c >= C) return;
  const int count = outer * inner;
  acc_t mean, var;
  channel_statistics(P(float, x), outer, C, inner, c, &mean, &var);
  P(float, stats)[2 * c] = (float)mean;
  P(float, stats)[2 * c + 1] = (float)(1.0 / sqrt(var + eps));
  P(float, out_mean)[c] = (float)mean;
  P(float, out_var)[c] = (float)(var * count / (count - 1));
}

__kernel void batch_norm_train_forward(B(float, x), B(float, stats), B(float, scale), B(float, bias), B(float, y), int n,
                                       int C, int inner) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int c = (i / inner) % C;
  const acc_t mean = P(float, stats)[2 * c], r = P(float, stats)[2 * c + 1];
  P(float, y)[i] = (float)(((acc_t)P(float, x)[i] - mean) * r * P(float, scale)[c] + P(float, bias)[c]);
}

// Per channel: mean, r, and the sums of dy and dy * xhat; writes dscale and dbias (when wanted)
// and keeps (mean, r, mean_g, mean_g_xhat) in sums for batch_norm_train_backward_input.
__kernel void batch_norm_train_backward_channels(B(float, x), B(float, scale), B(float, dy), B(float, sums),
                                                 B(float, dscale), B(float, dbias), int wanted, int outer, int C,
                                                 int inner, float eps) {
  const int c = get_global_id(0);
  if (c >= C) return;
  const int count = outer * inner;
  acc_t mean, var;
  channel_statistics(P(float, x), outer, C, inner, c, &mean, &var);
  const acc_t r = 1.0 / sqrt(var + eps);
  acc_t sum_dy = 0, sum_dy_xhat = 0;
  for (int o = 0; o < outer; ++o) {
    for (int k = 0; k < inner; ++k) {
      const int at = (o * C + c) * inner + k;
      sum_dy += P(float, dy)[at];
      sum_dy_xhat += P(float, dy)[at] * ((acc_t)P(float, x)[at] - mean) * r;
    }
  }
  if (wanted & 2) P(float, dscale)[c] = (float)sum_dy_xhat;
  if (wanted & 4) P(float, dbias)[c] = (float)sum_dy;
  const acc_t s = P(float, scale)[c];
  P(float, sums)[4 * c] = (float)mean;
  P(float, sums)[4 * c + 1] = (float)r;
  P(float, sums)[4 * c + 2] = (float)(sum_dy * s / count);
  P(float, sums)[4 * c + 3] = (float)(sum_dy_xhat * s / count);
}

__kernel void batch_norm_train_backward_input(B(float, x), B(float, scale), B(float, dy), B(float, dmean),
                                              B(float, dvar), B(float, sums), B(float, dx), int n, int C, int inner) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int c = (i / inner) % C;
  const acc_t count = n / C;
  const acc_t mean = P(float, sums)[4 * c], r = P(float, sums)[4 * c + 1];
  const acc_t mean_g = P(float, sums)[4 * c + 2], mean_g_xhat = P(float, sums)[4 * c + 3];
  const acc_t centered = (acc_t)P(float, x)[i] - mean, xhat = centered * r;
  const acc_t through_y = r * ((acc_t)P(float, dy)[i] * P(float, scale)[c] - mean_g - xhat * mean_g_xhat);
  const acc_t through_stats = (acc_t)P(float, dmean)[c] / count + (acc_t)P(float, dvar)[c] * 2.0 * centered / (count - 1.0);
  P(float, dx)[i] = (float)(through_y + through_stats);
}

__kernel void running_stats_update(B(float, running_mean), B(float, running_var), B(float, batch_mean),
                                   B(float, batch_var), int n, float momentum) {
  const int c = get_global_id(0);
  if (c >= n) return;
  P(float, running_mean)[c] = (1.0f - momentum) * P(float, running_mean)[c] + momentum * P(float, batch_mean)[c];
  P(float, running_var)[c] = (1.0f - momentum) * P(float, running_var)[c] + momentum * P(float, batch_var)[c];
}

// Layer norm over the last `inner` values of each of `outer` rows; stats keeps (mean, r) per row.
__kernel void layer_norm_forward(B(float, x), B(float, gamma), int has_gamma, B(float, beta), int has_beta, B(float, y),
                                 int outer, int inner, float eps) {
  const int o = get_global_id(0);
  if (o >= outer) return;
  __global const float* src = P(float, x) + o * inner;
  acc_t mean = 0;
  for (int i = 0; i < inner; ++i) mean += src[i];
  mean /= inner > 0 ? inner : 1;
  acc_t var = 0;
  for (int i = 0; i < inner; ++i) var += (src[i] - mean) * (src[i] - mean);
  var /= inner > 0 ? inner : 1;
  const acc_t r = 1.0 / sqrt(var + eps);
  for (int i = 0; i < inner; ++i) {
    acc_t v = (src[i] - mean) * r;
    if (has_gamma) v *= P(float, gamma)[i];
    if (has_beta) v += P(float, beta)[i];
    P(float, y)[o * inner + i] = (float)v;
  }
}

__kernel void layer_norm_backward_rows(B(float, x), B(float, gamma), int has_gamma, B(float, dy), B(float, dx),
                                       int has_dx, B(float, stats), int outer, int inner, float eps) {
  const int o = get_global_id(0);
  if (o >= outer) return;
  __global const float* src = P(float, x) + o * inner;
  __global const float* g = P(float, dy) + o * inner;
  acc_t mean = 0, var = 0;
  for (int i = 0; i < inner; ++i) mean += src[i];
  mean /= inner;
  for (int i = 0; i < inner; ++i) var += (src[i] - mean) * (src[i] - mean);
  var /= inner;
  const acc_t r = 1.0 / sqrt(var + eps);
  P(float, stats)[2 * o] = (float)mean;
  P(float, stats)[2 * o + 1] = (float)r;
  if (!has_dx) return;
  acc_t mean_g = 0, mean_g_xhat = 0;
  for (int i = 0; i < inner; ++i) {
    const acc_t xhat = (src[i] - mean) * r;
    const acc_t gi = has_gamma ? (acc_t)g[i] * P(float, gamma)[i] : (acc_t)g[i];
    mean_g += gi;
    mean_g_xhat += gi * xhat;
  }
  mean_g /= inner;
  mean_g_xhat /= inner;
  for (int i = 0; i < inner; ++i) {
    const acc_t xhat = (src[i] - mean) * r;
    const acc_t gi = has_gamma ? (acc_t)g[i] * P(float, gamma)[i] : (acc_t)g[i];
    P(float, dx)[o * inner + i] = (float)(r * (gi - mean_g - xhat * mean_g_xhat));
  }
}

// dgamma[i] = sum over rows of dy * xhat; dbeta[i] = sum of dy (stats from the rows kernel).
__kernel void layer_norm_backward_params(B(float, x), B(float, dy), B(float, stats), B(float, dgamma), int has_dgamma,
                                         B(float, dbeta), int has_dbeta, int outer, int inner) {
  const int i = get_global_id(0);
  if (i >= inner) return;
  acc_t sum_gamma = 0, sum_beta = 0;
  for (int o = 0; o < outer; ++o) {
    const acc_t g = P(float, dy)[o * inner + i];
    const acc_t xhat = ((acc_t)P(float, x)[o * inner + i] - P(float, stats)[2 * o]) * P(float, stats)[2 * o + 1];
    sum_gamma += (float)(g * xhat);
    sum_beta += g;
  }
  if (has_dgamma) P(float, dgamma)[i] = (float)sum_gamma;
  if (has_dbeta) P(float, dbeta)[i] = (float)sum_beta;
}

// ---- optimizer updates (ops/optimizer.cc), hyper-parameters read from their scalar tensors ----
__kernel void sgd_update(B(float, param), B(float, velocity), B(float, grad), B(float, lr), B(float, momentum),
                         B(float, decay), B(float, grad_scale), int has_scale, int n, int nesterov) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const float rate = P(float, lr)[0], mom = P(float, momentum)[0], wd = P(float, decay)[0];
  const float scale = has_scale ? P(float, grad_scale)[0] : 1.0f;
  const float p = P(float, param)[i];
  const float g = P(float, grad)[i] * scale + wd * p;
  const float v = P(float, velocity)[i] * mom + g;
  P(float, velocity)[i] = v;
  const float step = nesterov ? g + mom * v : v;
  P(float, param)[i] = p + -rate * step;
}

__kernel void adam_update(B(float, param), B(float, m), B(float, v), B(float, grad), B(float, lr), B(float, beta1),
                          B(float, beta2), B(float, eps), B(float, decay), B(float, step), B(float, grad_scale),
                          int has_scale, int n, int decoupled) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const float rate = P(float, lr)[0], b1 = P(float, beta1)[0], b2 = P(float, beta2)[0];
  const float e = P(float, eps)[0], wd = P(float, decay)[0], t = P(float, step)[0];
  if (!(t >= 1.0f)) return;  // adam_check_step flagged it: the parameters stay as they were
  const float scale = has_scale ? P(float, grad_scale)[0] : 1.0f;
  const acc_t correction1 = 1.0 - pow((acc_t)b1, (acc_t)t), correction2 = 1.0 - pow((acc_t)b2, (acc_t)t);
  const float step_size = (float)(rate / correction1);
  const float correction2_sqrt = (float)sqrt(correction2);
  const float keep = (float)(1.0 - (acc_t)rate * wd);
  float p = P(float, param)[i];
  if (decoupled) p *= keep;
  float g = P(float, grad)[i] * scale;
  if (!decoupled) g = g + wd * p;
  const float mi = P(float, m)[i] * b1 + (1.0f - b1) * g;
  const float vi = P(float, v)[i] * b2 + (1.0f - b2) * g * g;
  P(float, m)[i] = mi;
  P(float, v)[i] = vi;
  const float denominator = sqrt(vi) / correction2_sqrt + e;
  P(float, param)[i] = p + -step_size * (mi / denominator);
}

// A step < 1 cannot be bias-corrected: records it (code 2) like a bad label.
__kernel void adam_check_step(B(float, step), __global int* status, int node) {
  const float t = P(float, step)[0];
  if (!(t >= 1.0f) && atomic_cmpxchg(status, 0, 2) == 0) {
    status[1] = node;
    status[2] = 0;
    status[3] = (int)t;
  }
}

// ---- gradient clipping (ops/clip.cc) ----
__kernel void squared_norm_backward(B(float, x), B(float, dnorm), B(float, dx), int n) {
  const int i = get_global_id(0);
  if (i >= n) return;
  P(float, dx)[i] = 2.0f * P(float, dnorm)[0] * P(float, x)[i];
}

// scratch[0] = (first ? 0 : scratch[0]) + s: the sum of the squared norms, one launch per input.
__kernel void add_scalar(B(float, s), B(float, scratch), int first) {
  if (get_global_id(0) != 0) return;
  P(float, scratch)[0] = (first ? 0.0f : P(float, scratch)[0]) + P(float, s)[0];
}

__kernel void clip_scale_forward(B(float, max_norm), B(float, scratch), B(float, y)) {
  if (get_global_id(0) != 0) return;
  const acc_t coefficient = (acc_t)P(float, max_norm)[0] / (sqrt((acc_t)P(float, scratch)[0]) + 1e-6);
  P(float, y)[0] = (float)(coefficient < 1.0 ? coefficient : 1.0);
}

// which 0: d/dmax_norm; else d/ds_which. Zero where the scale is the constant 1.
__kernel void clip_scale_backward(B(float, max_norm), B(float, scratch), B(float, dy), B(float, dx), int which) {
  if (get_global_id(0) != 0) return;
  const acc_t norm = sqrt((acc_t)P(float, scratch)[0]), denominator = norm + 1e-6;
  const acc_t max_norm = P(float, max_norm)[0];
  if (max_norm / denominator >= 1.0) {
    P(float, dx)[0] = 0.0f;
    return;
  }
  const acc_t g = P(float, dy)[0];
  if (which == 0) {
    P(float, dx)[0] = (float)(g / denominator);
  } else {
    P(float, dx)[0] = (float)(norm > 0 ? g * -max_norm / (denominator * denominator) / (2.0 * norm) : 0.0);
  }
}
