// The GPU kernels of ops/reduce.cc (their lowering: reduce.cc here).
// meta: kept rank, kept dims, their strides (6 each), reduced rank, reduced dims, their strides,
// elements per output. op: 0 mean, 1 sum, 2 max, 3 min, 4 l2.

PF_DEVICE int reduce_offset(__global const int* m, int index) {  // m: rank, dims (6), strides (6)
  int at = 0;
  for (int d = m[0] - 1; d >= 0; --d) {
    at += (index % m[1 + d]) * m[7 + d];
    index /= m[1 + d];
  }
  return at;
}

__kernel void reduce_forward(B(float, x), B(float, y), B(int, meta), int n, int op) {
  const int o = get_global_id(0);
  if (o >= n) return;
  __global const int* m = P(int, meta);
  __global const float* group = P(float, x) + reduce_offset(m, o);
  const int count = m[26];
  acc_t acc = op == 2 || op == 3 ? (acc_t)group[0] : 0.0;
  for (int r = 0; r < count; ++r) {
    const acc_t v = group[reduce_offset(m + 13, r)];
    if (op == 2) acc = isnan(v) || v > acc ? v : acc;
    else if (op == 3) acc = isnan(v) || v < acc ? v : acc;
    else if (op == 4) acc += v * v;
    else acc += v;
  }
  if (op == 0) acc /= (acc_t)count;
  if (op == 4) acc = sqrt(acc);
  P(float, y)[o] = (float)acc;
}

// dx = dy times 1 / count (mean), 1 (sum), x / y (l2), or shared by the ties of the result (max, min).
__kernel void reduce_backward(B(float, x), B(float, y), B(float, dy), B(float, dx), B(int, meta), int n, int op) {
  const int o = get_global_id(0);
  if (o >= n) return;
  __global const int* m = P(int, meta);
  const int base = reduce_offset(m, o), count = m[26];
  __global const float* xs = P(float, x);
  const float result = P(float, y)[o];
  const acc_t g = P(float, dy)[o];
  acc_t share = op == 0 ? g / (acc_t)count : g;
  if (op == 2 || op == 3) {
    int ties = 0;
    for (int r = 0; r < count; ++r) ties += xs[base + reduce_offset(m + 13, r)] == result ? 1 : 0;
    share = ties ? g / (acc_t)ties : 0.0;
  }
  for (int r = 0; r < count; ++r) {
    const int at = base + reduce_offset(m + 13, r);
    float d;
    if (op == 2 || op == 3) d = xs[at] == result ? (float)share : 0.0f;
    else if (op == 4) d = result != 0.0f ? (float)(g * xs[at] / result) : 0.0f;
    else d = (float)share;
    P(float, dx)[at] = d;
  }
}
