// The GPU kernels of ops/softmax.cc (their lowering: softmax.cc here):
// softmax along an axis seen as [outer, classes, inner].
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
