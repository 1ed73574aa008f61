// The GPU kernels of ops/optimizer.cc (their lowering: optimizer.cc here):
// optimizer updates (ops/optimizer.cc), hyper-parameters read from their scalar tensors.
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
