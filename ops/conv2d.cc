// Conv2D in NHWC with OHWI weights; groups cover depthwise (groups == in channels).
//
//   x: [N, H, W, C]   W: [O, KH, KW, C / groups]   b: [O] (optional)   ->   y: [N, OH, OW, O]
//   OH = (H + pad_top + pad_bottom - dilation_h * (KH - 1) - 1) / stride_h + 1   (OW likewise)
#include "ops/op.h"

namespace preflight {
namespace {

enum { kInput = 0, kWeight = 1, kBias = 2 };

// Output extent of one spatial dim; fails when the window does not fit.
Status conv_out_dim(const char* dim_name, int64_t in, int64_t kernel, int stride, int pad_begin,
                    int pad_end, int dilation, int64_t* out) {
  PF_CHECK(stride >= 1, Error::kInvalidModel, "stride_%s must be >= 1, got %d", dim_name, stride);
  PF_CHECK(dilation >= 1, Error::kInvalidModel, "dilation_%s must be >= 1, got %d", dim_name, dilation);
  PF_CHECK(pad_begin >= 0 && pad_end >= 0, Error::kInvalidModel,
           "padding along %s must be >= 0, got %d and %d", dim_name, pad_begin, pad_end);
  const int64_t span = static_cast<int64_t>(dilation) * (kernel - 1) + 1;
  const int64_t padded = in + pad_begin + pad_end;
  PF_CHECK(kernel >= 1 && padded >= span, Error::kInvalidModel,
           "kernel %s extent %lld (dilated) does not fit the padded input extent %lld", dim_name,
           static_cast<long long>(span), static_cast<long long>(padded));
  *out = (padded - span) / stride + 1;
  return Status::ok();
}

Status infer_conv2d(const OpAttrs& attrs, const TensorDesc* in, int num_inputs, TensorDesc* out) {
  const Conv2dAttrs& a = attrs.conv;
  const TensorDesc& x = in[kInput];
  const TensorDesc& w = in[kWeight];
  PF_CHECK_DTYPE(x, DType::F32, kInput);
  PF_CHECK_DTYPE(w, DType::F32, kWeight);
  PF_CHECK_RANK(x, 4, kInput);
  PF_CHECK_RANK(w, 4, kWeight);
  PF_CHECK(a.groups >= 1, Error::kInvalidModel, "groups must be >= 1, got %d", a.groups);
  const int64_t channels = x.dims[3], out_channels = w.dims[0];
  PF_CHECK(channels % a.groups == 0 && out_channels % a.groups == 0, Error::kInvalidModel,
           "groups %d must divide input channels %lld and output channels %lld", a.groups,
           static_cast<long long>(channels), static_cast<long long>(out_channels));
  PF_CHECK(w.dims[3] == channels / a.groups, Error::kInvalidModel,
           "input 1: weight is OHWI with I = channels / groups = %lld, got I = %lld",
           static_cast<long long>(channels / a.groups), static_cast<long long>(w.dims[3]));
  if (num_inputs > kBias) {
    PF_CHECK_DTYPE(in[kBias], DType::F32, kBias);
    PF_CHECK(in[kBias].rank == 1 && in[kBias].dims[0] == out_channels, Error::kInvalidModel,
             "input 2: bias must be [%lld]", static_cast<long long>(out_channels));
  }
  int64_t out_h = 0, out_w = 0;
  PF_RETURN_IF_ERROR(conv_out_dim("h", x.dims[1], w.dims[1], a.stride_h, a.pad_top, a.pad_bottom,
                                  a.dilation_h, &out_h));
  PF_RETURN_IF_ERROR(conv_out_dim("w", x.dims[2], w.dims[2], a.stride_w, a.pad_left, a.pad_right,
                                  a.dilation_w, &out_w));
  out[0] = make_desc(DType::F32, {x.dims[0], out_h, out_w, out_channels});
  return Status::ok();
}

Status conv2d_forward(const OpAttrs& attrs, const TensorView* in, int num_inputs, TensorView* out) {
  const Conv2dAttrs& a = attrs.conv;
  const TensorDesc& xd = in[kInput].desc;
  const TensorDesc& wd = in[kWeight].desc;
  const TensorDesc& yd = out[0].desc;
  const float* x = in[kInput].f32();
  const float* w = in[kWeight].f32();
  const float* b = num_inputs > kBias ? in[kBias].f32() : nullptr;
  float* y = out[0].f32();
  const int64_t batch = xd.dims[0], height = xd.dims[1], width = xd.dims[2], channels = xd.dims[3];
  const int64_t kernel_h = wd.dims[1], kernel_w = wd.dims[2], group_in = wd.dims[3];
  const int64_t out_h = yd.dims[1], out_w = yd.dims[2], out_channels = yd.dims[3];
  const int64_t group_out = out_channels / a.groups;
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t oy = 0; oy < out_h; ++oy) {
      for (int64_t ox = 0; ox < out_w; ++ox) {
        float* y_pixel = y + ((n * out_h + oy) * out_w + ox) * out_channels;
        for (int64_t oc = 0; oc < out_channels; ++oc) {
          const int64_t first_in = (oc / group_out) * group_in;
          double acc = b ? b[oc] : 0.0;
          for (int64_t ky = 0; ky < kernel_h; ++ky) {
            const int64_t iy = oy * a.stride_h - a.pad_top + ky * a.dilation_h;
            if (iy < 0 || iy >= height) continue;
            for (int64_t kx = 0; kx < kernel_w; ++kx) {
              const int64_t ix = ox * a.stride_w - a.pad_left + kx * a.dilation_w;
              if (ix < 0 || ix >= width) continue;
              const float* x_pixel = x + ((n * height + iy) * width + ix) * channels + first_in;
              const float* w_tap = w + ((oc * kernel_h + ky) * kernel_w + kx) * group_in;
              for (int64_t ic = 0; ic < group_in; ++ic) acc += static_cast<double>(x_pixel[ic]) * w_tap[ic];
            }
          }
          y_pixel[oc] = static_cast<float>(acc);
        }
      }
    }
  }
  return Status::ok();
}

// Differentiates the forward loop term by term: for each y[n, oy, ox, oc] and each tap it read,
//   dx[n, iy, ix, first_in + ic] += dy * w[oc, ky, kx, ic]    dw[oc, ky, kx, ic] += dy * x[...]
//   db[oc] += dy
Status conv2d_backward(const OpAttrs& attrs, const TensorView* in, int num_inputs, const TensorView* out,
                       const TensorView* out_grad, TensorView* in_grad) {
  const Conv2dAttrs& a = attrs.conv;
  const TensorDesc& xd = in[kInput].desc;
  const TensorDesc& wd = in[kWeight].desc;
  const TensorDesc& yd = out[0].desc;
  const float* x = in[kInput].f32();
  const float* w = in[kWeight].f32();
  const float* dy = out_grad[0].f32();
  float* dx = in_grad[kInput].f32();
  float* dw = in_grad[kWeight].f32();
  float* db = num_inputs > kBias ? in_grad[kBias].f32() : nullptr;
  const int64_t batch = xd.dims[0], height = xd.dims[1], width = xd.dims[2], channels = xd.dims[3];
  const int64_t kernel_h = wd.dims[1], kernel_w = wd.dims[2], group_in = wd.dims[3];
  const int64_t out_h = yd.dims[1], out_w = yd.dims[2], out_channels = yd.dims[3];
  const int64_t group_out = out_channels / a.groups;
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t oy = 0; oy < out_h; ++oy) {
      for (int64_t ox = 0; ox < out_w; ++ox) {
        const float* dy_pixel = dy + ((n * out_h + oy) * out_w + ox) * out_channels;
        for (int64_t oc = 0; oc < out_channels; ++oc) {
          const float g = dy_pixel[oc];
          if (db) db[oc] += g;
          const int64_t first_in = (oc / group_out) * group_in;
          for (int64_t ky = 0; ky < kernel_h; ++ky) {
            const int64_t iy = oy * a.stride_h - a.pad_top + ky * a.dilation_h;
            if (iy < 0 || iy >= height) continue;
            for (int64_t kx = 0; kx < kernel_w; ++kx) {
              const int64_t ix = ox * a.stride_w - a.pad_left + kx * a.dilation_w;
              if (ix < 0 || ix >= width) continue;
              const int64_t x_offset = ((n * height + iy) * width + ix) * channels + first_in;
              const int64_t w_offset = ((oc * kernel_h + ky) * kernel_w + kx) * group_in;
              for (int64_t ic = 0; ic < group_in; ++ic) {
                if (dx) dx[x_offset + ic] += g * w[w_offset + ic];
                if (dw) dw[w_offset + ic] += g * x[x_offset + ic];
              }
            }
          }
        }
      }
    }
  }
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::Conv2D>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Conv2D);
    d.min_inputs = 2;
    d.max_inputs = 3;
    d.attrs_kind = fb::Attrs::Conv2dAttrs;
    d.infer = infer_conv2d;
    d.forward = conv2d_forward;
    d.backward = PF_BACKWARD(conv2d_backward);
    return d;
  }();
  return def;
}

}  // namespace preflight
