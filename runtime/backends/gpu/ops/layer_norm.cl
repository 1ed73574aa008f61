// The GPU kernels of ops/layer_norm.cc (their lowering: layer_norm.cc here).
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
