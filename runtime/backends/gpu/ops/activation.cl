// The GPU kernels of ops/activation.cc (their lowering: activation.cc here):
// elementwise maps (copies are buffer copies, not kernels).

// op: 0 relu, 1 clamp, 2 sigmoid, 3 tanh, 4 gelu (erf), 5 gelu (tanh approximation), 6 hardswish,
// 7 hardsigmoid, 8 leaky relu, 9 elu, 10 sqrt, 11 exp, 12 log, 13 neg, 14 abs, 15 reciprocal, 16 erf, 17 silu
// (lo, hi: Clamp's bounds, HardSigmoid's alpha and beta, or LeakyRelu's and Elu's alpha in lo)
__kernel void unary_forward(B(float, x), B(float, y), int n, int op, float lo, float hi) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const float v = P(float, x)[i];
  float r;
  switch (op) {
    case 0: r = v > 0.0f ? v : 0.0f; break;
    case 1: r = fmin(fmax(v, lo), hi); break;
    case 2: r = (float)(1.0 / (1.0 + exp(-(acc_t)v))); break;
    case 3: r = (float)tanh((acc_t)v); break;
    case 4: r = (float)(0.5 * (acc_t)v * (1.0 + erf((acc_t)v * 0.7071067811865476))); break;
    case 6: r = (float)((acc_t)v * fmin(fmax((acc_t)v + 3.0, 0.0), 6.0) / 6.0); break;
    case 7: r = isnan(v) ? v : (float)fmin(fmax((acc_t)lo * v + (acc_t)hi, 0.0), 1.0); break;
    case 8: r = v < 0.0f ? (float)((acc_t)lo * v) : v; break;
    case 9: r = v < 0.0f ? (float)((acc_t)lo * expm1((acc_t)v)) : v; break;
    case 10: r = (float)sqrt((acc_t)v); break;
    case 11: r = (float)exp((acc_t)v); break;
    case 12: r = (float)log((acc_t)v); break;
    case 13: r = -v; break;
    case 14: r = fabs(v); break;
    case 15: r = (float)(1.0 / (acc_t)v); break;
    case 16: r = (float)erf((acc_t)v); break;
    case 17: r = (float)((acc_t)v / (1.0 + exp(-(acc_t)v))); break;
    default: {
      const acc_t z = v;
      r = (float)(0.5 * z * (1.0 + tanh(0.7978845608028654 * (z + 0.044715 * z * z * z))));
    }
  }
  P(float, y)[i] = r;
}

__kernel void unary_backward(B(float, x), B(float, y), B(float, dy), B(float, dx), int n, int op, float lo, float hi) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const float v = P(float, x)[i], out = P(float, y)[i];
  float d;
  switch (op) {
    case 0: d = v > 0.0f ? 1.0f : 0.0f; break;
    case 1: d = v >= lo && v <= hi ? 1.0f : 0.0f; break;
    case 2: d = out * (1.0f - out); break;
    case 3: d = 1.0f - out * out; break;
    case 4: {
      const acc_t z = v;
      d = (float)(0.5 * (1.0 + erf(z * 0.7071067811865476)) + z * 0.3989422804014327 * exp(-0.5 * z * z));
      break;
    }
    case 6: d = v < -3.0f ? 0.0f : (v <= 3.0f ? (float)((acc_t)v / 3.0 + 0.5) : 1.0f); break;
    case 7: {
      const acc_t z = (acc_t)lo * v + (acc_t)hi;
      d = z > 0.0 && z < 1.0 ? lo : 0.0f;
      break;
    }
    case 8: d = v > 0.0f ? 1.0f : lo; break;
    case 9: d = v > 0.0f ? 1.0f : out + lo; break;
    case 10: d = (float)(0.5 / (acc_t)out); break;
    case 11: d = out; break;
    case 12: d = (float)(1.0 / (acc_t)v); break;
    case 13: d = -1.0f; break;
    case 14: d = v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f); break;
    case 15: d = -out * out; break;
    case 16: d = (float)(1.1283791670955126 * exp(-(acc_t)v * (acc_t)v)); break;
    case 17: {
      const acc_t s = 1.0 / (1.0 + exp(-(acc_t)v));
      d = (float)(s * (1.0 + (acc_t)v * (1.0 - s)));
      break;
    }
    default: {
      const acc_t z = v, c = 0.7978845608028654;
      const acc_t t = tanh(c * (z + 0.044715 * z * z * z));
      d = (float)(0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * z * z));
    }
  }
  P(float, dx)[i] = P(float, dy)[i] * d;
}
