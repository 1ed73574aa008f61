// The GPU kernels of ops/clip.cc (their lowering: clip.cc here): gradient clipping (ops/clip.cc).
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
