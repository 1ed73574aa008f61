// The GPU kernels of ops/binary.cc (their lowering: binary.cc here):
// broadcasting binary ops: 0 add, 1 sub, 2 mul, 3 div.
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
