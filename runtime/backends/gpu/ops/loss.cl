// The GPU kernels of ops/loss.cc (their lowering: loss.cc here): losses.
// Per row: the cross-entropy of its logits against its label (i64 or i32 labels); a label out of
// range records (node, row, label) in the device's status word and gives NaN.
PF_DEVICE long read_label(__global const char* labels, int label64, int r) {
  return label64 ? ((__global const long*)labels)[r] : ((__global const int*)labels)[r];
}

PF_DEVICE void report_label(__global int* status, int node, int r, long label, int classes) {
  if (atomic_cmpxchg(status, 0, 1) == 0) {
    status[1] = node;
    status[2] = r;
    status[3] = (int)label;
    status[4] = classes;
  }
}

// A row of logits: its largest value (the shift) and the sum of exp(logit - largest).
PF_DEVICE acc_t row_sum_exp(__global const float* l, int classes, float* max_value) {
  *max_value = -INFINITY;
  for (int c = 0; c < classes; ++c) {
    if (l[c] > *max_value) *max_value = l[c];
  }
  acc_t sum = 0;
  for (int c = 0; c < classes; ++c) sum += exp((acc_t)l[c] - *max_value);
  return sum;
}

__kernel void cross_entropy_rows(B(float, logits), B(char, labels), int label64, B(float, losses), int rows,
                                 int classes, __global int* status, int node) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  const long label = read_label(P(char, labels), label64, r);
  if (label < 0 || label >= classes) {
    report_label(status, node, r, label, classes);
    P(float, losses)[r] = NAN;
    return;
  }
  __global const float* l = P(float, logits) + r * classes;
  float max_value;
  const acc_t sum = row_sum_exp(l, classes, &max_value);
  P(float, losses)[r] = (float)(log(sum) + max_value - l[label]);
}

// reduction: 0 none (dloss per row), 1 sum, 2 mean
__kernel void cross_entropy_backward(B(float, logits), B(char, labels), int label64, B(float, dloss),
                                     B(float, dlogits), int rows, int classes, int reduction, __global int* status,
                                     int node) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  const long label = read_label(P(char, labels), label64, r);
  __global float* d = P(float, dlogits) + r * classes;
  if (label < 0 || label >= classes) {
    report_label(status, node, r, label, classes);
    for (int c = 0; c < classes; ++c) d[c] = NAN;
    return;
  }
  const acc_t g = reduction == 0 ? (acc_t)P(float, dloss)[r]
                  : reduction == 1 ? (acc_t)P(float, dloss)[0]
                                   : (acc_t)P(float, dloss)[0] / rows;
  __global const float* l = P(float, logits) + r * classes;
  float max_value;
  const acc_t sum = row_sum_exp(l, classes, &max_value);
  for (int c = 0; c < classes; ++c) {
    const acc_t probability = exp((acc_t)l[c] - max_value) / sum;
    d[c] = (float)(g * (probability - (c == label ? 1.0 : 0.0)));
  }
}

__kernel void squared_difference(B(float, a), B(float, b), B(float, y), int n) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const acc_t d = (acc_t)P(float, a)[i] - P(float, b)[i];
  P(float, y)[i] = (float)(d * d);
}

// dp (and dt = -dp) of the MSE; reduction as cross_entropy_backward. Null gradients: has_* = 0.
__kernel void mse_backward(B(float, a), B(float, b), B(float, dloss), B(float, da), int has_da, B(float, db), int has_db,
                           int n, int reduction) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const acc_t g = reduction == 0 ? (acc_t)P(float, dloss)[i]
                  : reduction == 1 ? (acc_t)P(float, dloss)[0]
                                   : (acc_t)P(float, dloss)[0] / n;
  const acc_t d = 2.0 * g * ((acc_t)P(float, a)[i] - P(float, b)[i]);
  if (has_da) P(float, da)[i] = (float)d;
  if (has_db) P(float, db)[i] = (float)-d;
}
