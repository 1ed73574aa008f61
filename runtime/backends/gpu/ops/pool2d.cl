// The GPU kernels of ops/pool2d.cc (their lowering: pool2d.cc here): pooling, NHWC.
// geometry: N, H, W, C, OH, OW, KH, KW, stride h w, pad top left, count_include_pad
#define POOL_GEOMETRY                                                                                                  \
  __global const int* g = P(int, geometry);                                                                            \
  const int N = g[0], H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5], KH = g[6], KW = g[7], SH = g[8], SW = g[9], \
            PT = g[10], PL = g[11], INCLUDE_PAD = g[12];

// The element of the window of output (n, oy, ox, c) that max pooling picks (the reference's
// rule: the first largest, a NaN wins), or -1.
PF_DEVICE int max_pool_pick(__global const float* x, int n, int oy, int ox, int c, int H, int W, int C, int KH, int KW, int SH,
                  int SW, int PT, int PL) {
  int best = -1;
  float best_value = 0.0f;
  for (int iy = oy * SH - PT; iy < oy * SH - PT + KH; ++iy) {
    if (iy < 0 || iy >= H) continue;
    for (int ix = ox * SW - PL; ix < ox * SW - PL + KW; ++ix) {
      if (ix < 0 || ix >= W) continue;
      const int at = ((n * H + iy) * W + ix) * C + c;
      if (best < 0 || x[at] > best_value || isnan(x[at])) {
        best = at;
        best_value = x[at];
      }
    }
  }
  return best;
}

PF_DEVICE int pool_count(int oy, int ox, int H, int W, int KH, int KW, int SH, int SW, int PT, int PL, int include_pad) {
  if (include_pad) return KH * KW;
  const int y0 = oy * SH - PT, x0 = ox * SW - PL;
  const int rows = min(y0 + KH, H) - max(y0, 0), cols = min(x0 + KW, W) - max(x0, 0);
  return rows > 0 && cols > 0 ? rows * cols : 0;
}

__kernel void pool_forward(B(float, x), B(float, y), B(int, geometry), int is_max) {
  POOL_GEOMETRY
  const int i = get_global_id(0);
  if (i >= N * OH * OW * C) return;
  const int c = i % C, ox = (i / C) % OW, oy = (i / C / OW) % OH, n = i / C / OW / OH;
  __global const float* xp = P(float, x);
  if (is_max) {
    const int at = max_pool_pick(xp, n, oy, ox, c, H, W, C, KH, KW, SH, SW, PT, PL);
    P(float, y)[i] = at >= 0 ? xp[at] : -INFINITY;
    return;
  }
  acc_t sum = 0;
  for (int iy = max(oy * SH - PT, 0); iy < min(oy * SH - PT + KH, H); ++iy) {
    for (int ix = max(ox * SW - PL, 0); ix < min(ox * SW - PL + KW, W); ++ix) sum += xp[((n * H + iy) * W + ix) * C + c];
  }
  const int count = pool_count(oy, ox, H, W, KH, KW, SH, SW, PT, PL, INCLUDE_PAD);
  P(float, y)[i] = (float)(count ? sum / count : sum);
}

// dx[n, iy, ix, c]: the outputs whose windows hold it (max: those that picked it).
__kernel void pool_backward(B(float, x), B(float, dy), B(float, dx), B(int, geometry), int is_max) {
  POOL_GEOMETRY
  const int i = get_global_id(0);
  if (i >= N * H * W * C) return;
  const int c = i % C, ix = (i / C) % W, iy = (i / C / W) % H, n = i / C / W / H;
  // Outputs oy with oy * SH - PT <= iy < oy * SH - PT + KH.
  const int oy_first = max(0, (iy + PT - KH + SH) / SH), ox_first = max(0, (ix + PL - KW + SW) / SW);
  float acc = 0.0f;
  for (int oy = oy_first; oy < OH && oy * SH - PT <= iy; ++oy) {
    if (iy >= oy * SH - PT + KH) continue;
    for (int ox = ox_first; ox < OW && ox * SW - PL <= ix; ++ox) {
      if (ix >= ox * SW - PL + KW) continue;
      const float g = P(float, dy)[((n * OH + oy) * OW + ox) * C + c];
      if (is_max) {
        if (max_pool_pick(P(float, x), n, oy, ox, c, H, W, C, KH, KW, SH, SW, PT, PL) == i) acc += g;
      } else {
        const int count = pool_count(oy, ox, H, W, KH, KW, SH, SW, PT, PL, INCLUDE_PAD);
        if (count) acc += (float)((acc_t)g / count);
      }
    }
  }
  P(float, dx)[i] = acc;
}

__kernel void global_pool_forward(B(float, x), B(float, y), int N, int pixels, int C) {
  const int i = get_global_id(0);
  if (i >= N * C) return;
  const int n = i / C, c = i % C;
  acc_t sum = 0;
  for (int p = 0; p < pixels; ++p) sum += P(float, x)[(n * pixels + p) * C + c];
  P(float, y)[i] = pixels > 0 ? (float)(sum / pixels) : 0.0f;
}

__kernel void global_pool_backward(B(float, dy), B(float, dx), int N, int pixels, int C) {
  const int i = get_global_id(0);
  if (i >= N * pixels * C) return;
  const int c = i % C, n = i / C / pixels;
  P(float, dx)[i] = (float)((acc_t)P(float, dy)[n * C + c] / pixels);
}
