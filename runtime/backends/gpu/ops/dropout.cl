// The GPU kernels of ops/dropout.cc (their lowering: dropout.cc here).
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
