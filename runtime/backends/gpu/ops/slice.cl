// The GPU kernels of ops/slice.cc (their lowering: slice.cc here).
// meta: rank, then per dim (6 each): input dims, starts, steps, sizes, output strides.

__kernel void slice_forward(B(float, x), B(float, y), B(int, meta), int n) {
  const int o = get_global_id(0);
  if (o >= n) return;
  __global const int* m = P(int, meta);
  int rest = o, at = 0, stride = 1;
  for (int d = m[0] - 1; d >= 0; --d) {
    at += (m[7 + d] + (rest % m[19 + d]) * m[13 + d]) * stride;
    rest /= m[19 + d];
    stride *= m[1 + d];
  }
  P(float, y)[o] = P(float, x)[at];
}

// dx at input element i: dy where every coordinate is start + k step with 0 <= k < size, else 0.
__kernel void slice_backward(B(float, dy), B(float, dx), B(int, meta), int n) {
  const int i = get_global_id(0);
  if (i >= n) return;
  __global const int* m = P(int, meta);
  int rest = i, at = 0;
  bool inside = true;
  for (int d = m[0] - 1; d >= 0; --d) {
    const int c = rest % m[1 + d] - m[7 + d], step = m[13 + d];
    rest /= m[1 + d];
    const int k = c / step;
    inside = inside && c % step == 0 && k >= 0 && k < m[19 + d];
    at += k * m[25 + d];
  }
  P(float, dx)[i] = inside ? P(float, dy)[at] : 0.0f;
}
