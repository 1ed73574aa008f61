// The GPU kernels of ops/batch_norm.cc (their lowering: batch_norm.cc here): normalization.
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
