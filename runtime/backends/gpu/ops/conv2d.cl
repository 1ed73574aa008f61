// The GPU kernels of ops/conv2d.cc (their lowering: conv2d.cc here):
// convolution, NHWC input, OHWI weights.
// geometry: N, H, W, C, OH, OW, O, KH, KW, group_in, group_out, stride h w, pad top left, dilation h w
#define CONV_GEOMETRY                                                                                                  \
  __global const int* g = P(int, geometry);                                                                            \
  const int N = g[0], H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5], O = g[6], KH = g[7], KW = g[8], GI = g[9], \
            GO = g[10], SH = g[11], SW = g[12], PT = g[13], PL = g[14], DH = g[15], DW = g[16];

__kernel void conv_forward(B(float, x), B(float, w), B(float, bias), int has_bias, B(float, y), B(int, geometry)) {
  CONV_GEOMETRY
  const int i = get_global_id(0);
  if (i >= N * OH * OW * O) return;
  const int oc = i % O, ox = (i / O) % OW, oy = (i / O / OW) % OH, n = i / O / OW / OH;
  const int first_in = (oc / GO) * GI;
  float acc = has_bias ? P(float, bias)[oc] : 0.0f;
  for (int ky = 0; ky < KH; ++ky) {
    const int iy = oy * SH - PT + ky * DH;
    if (iy < 0 || iy >= H) continue;
    for (int kx = 0; kx < KW; ++kx) {
      const int ix = ox * SW - PL + kx * DW;
      if (ix < 0 || ix >= W) continue;
      __global const float* xp = P(float, x) + ((n * H + iy) * W + ix) * C + first_in;
      __global const float* wp = P(float, w) + ((oc * KH + ky) * KW + kx) * GI;
      for (int ic = 0; ic < GI; ++ic) acc += xp[ic] * wp[ic];
    }
  }
  P(float, y)[i] = acc;
}

// dx[n, iy, ix, c]: every output pixel and channel of c's group whose window read it.
__kernel void conv_backward_input(B(float, w), B(float, dy), B(float, dx), B(int, geometry)) {
  CONV_GEOMETRY
  const int i = get_global_id(0);
  if (i >= N * H * W * C) return;
  const int c = i % C, ix = (i / C) % W, iy = (i / C / W) % H, n = i / C / W / H;
  const int group = c / GI, ic = c % GI;
  float acc = 0.0f;
  for (int ky = 0; ky < KH; ++ky) {
    const int ty = iy + PT - ky * DH;
    if (ty < 0 || ty % SH != 0 || ty / SH >= OH) continue;
    const int oy = ty / SH;
    for (int kx = 0; kx < KW; ++kx) {
      const int tx = ix + PL - kx * DW;
      if (tx < 0 || tx % SW != 0 || tx / SW >= OW) continue;
      const int ox = tx / SW;
      __global const float* dyp = P(float, dy) + ((n * OH + oy) * OW + ox) * O;
      for (int oc = group * GO; oc < (group + 1) * GO; ++oc) {
        acc += dyp[oc] * P(float, w)[((oc * KH + ky) * KW + kx) * GI + ic];
      }
    }
  }
  P(float, dx)[i] = acc;
}

// dw[oc, ky, kx, ic]: over every output pixel.
__kernel void conv_backward_weight(B(float, x), B(float, dy), B(float, dw), B(int, geometry)) {
  CONV_GEOMETRY
  const int i = get_global_id(0);
  if (i >= O * KH * KW * GI) return;
  const int ic = i % GI, kx = (i / GI) % KW, ky = (i / GI / KW) % KH, oc = i / GI / KW / KH;
  const int c = (oc / GO) * GI + ic;
  acc_t acc = 0;
  for (int n = 0; n < N; ++n) {
    for (int oy = 0; oy < OH; ++oy) {
      const int iy = oy * SH - PT + ky * DH;
      if (iy < 0 || iy >= H) continue;
      for (int ox = 0; ox < OW; ++ox) {
        const int ix = ox * SW - PL + kx * DW;
        if (ix < 0 || ix >= W) continue;
        acc += P(float, dy)[((n * OH + oy) * OW + ox) * O + oc] * P(float, x)[((n * H + iy) * W + ix) * C + c];
      }
    }
  }
  P(float, dw)[i] = (float)acc;
}
