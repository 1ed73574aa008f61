// The GPU kernels of ops/transpose.cc (their lowering: transpose.cc here): layout.
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
