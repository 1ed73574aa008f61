// MaxPool2D, AvgPool2D and GlobalAvgPool in NHWC.
//
//   MaxPool2D / AvgPool2D:  x: [N, H, W, C] -> y: [N, OH, OW, C]
//     OH = (H + pad_top + pad_bottom - kernel_h) / stride_h + 1   (OW likewise)
//     Each padding must be smaller than the kernel, so every window holds at least one real pixel.
//   GlobalAvgPool:          x: [N, H, W, C] -> y: [N, C] ([N, 1, 1, C] with keep_dims)
#include <cmath>
#include <limits>

#include "ops/op.h"

namespace preflight {
namespace {

Status check_pool_dim(const char* dim_name, int64_t in, int kernel, int stride, int pad_begin,
                      int pad_end, int64_t* out) {
  PF_CHECK(kernel >= 1, Error::kInvalidModel, "kernel_%s must be >= 1, got %d", dim_name, kernel);
  PF_CHECK(stride >= 1, Error::kInvalidModel, "stride_%s must be >= 1, got %d", dim_name, stride);
  PF_CHECK(pad_begin >= 0 && pad_end >= 0 && pad_begin < kernel && pad_end < kernel,
           Error::kInvalidModel, "padding along %s must be in [0, kernel_%s = %d), got %d and %d",
           dim_name, dim_name, kernel, pad_begin, pad_end);
  const int64_t padded = in + pad_begin + pad_end;
  PF_CHECK(padded >= kernel, Error::kInvalidModel,
           "kernel_%s %d is larger than the padded input extent %lld", dim_name, kernel,
           static_cast<long long>(padded));
  *out = (padded - kernel) / stride + 1;
  return Status::ok();
}

Status infer_pool2d(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc* out) {
  const Pool2dAttrs& a = attrs.pool;
  PF_CHECK_DTYPE(in[0], DType::F32, 0);
  PF_CHECK_RANK(in[0], 4, 0);
  int64_t out_h = 0, out_w = 0;
  PF_RETURN_IF_ERROR(check_pool_dim("h", in[0].dims[1], a.kernel_h, a.stride_h, a.pad_top, a.pad_bottom, &out_h));
  PF_RETURN_IF_ERROR(check_pool_dim("w", in[0].dims[2], a.kernel_w, a.stride_w, a.pad_left, a.pad_right, &out_w));
  out[0] = make_desc(DType::F32, {in[0].dims[0], out_h, out_w, in[0].dims[3]});
  return Status::ok();
}

template <bool kMax>
Status pool2d_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  const Pool2dAttrs& a = attrs.pool;
  const TensorDesc& xd = in[0].desc;
  const TensorDesc& yd = out[0].desc;
  const float* x = in[0].f32();
  float* y = out[0].f32();
  const int64_t batch = xd.dims[0], height = xd.dims[1], width = xd.dims[2], channels = xd.dims[3];
  const int64_t out_h = yd.dims[1], out_w = yd.dims[2];
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t oy = 0; oy < out_h; ++oy) {
      for (int64_t ox = 0; ox < out_w; ++ox) {
        const int64_t y0 = oy * a.stride_h - a.pad_top, x0 = ox * a.stride_w - a.pad_left;
        float* y_pixel = y + ((n * out_h + oy) * out_w + ox) * channels;
        for (int64_t c = 0; c < channels; ++c) {
          double acc = kMax ? -std::numeric_limits<double>::infinity() : 0.0;
          int64_t count = 0;
          for (int64_t iy = y0; iy < y0 + a.kernel_h; ++iy) {
            if (iy < 0 || iy >= height) continue;
            for (int64_t ix = x0; ix < x0 + a.kernel_w; ++ix) {
              if (ix < 0 || ix >= width) continue;
              const float value = x[((n * height + iy) * width + ix) * channels + c];
              if (kMax) {
                // NaN propagates, as in PyTorch.
                if (value > acc || std::isnan(value)) acc = value;
              } else {
                acc += value;
              }
              ++count;
            }
          }
          if (!kMax) {
            const int64_t divisor = a.count_include_pad ? static_cast<int64_t>(a.kernel_h) * a.kernel_w : count;
            acc /= static_cast<double>(divisor);
          }
          y_pixel[c] = static_cast<float>(acc);
        }
      }
    }
  }
  return Status::ok();
}

// MaxPool2D: the gradient goes to the pixel the forward picked (the first maximum of the window,
// found the same way). AvgPool2D: each pixel of the window gets dy / divisor.
template <bool kMax>
Status pool2d_backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView* out,
                       const TensorView* out_grad, TensorView* in_grad) {
  const Pool2dAttrs& a = attrs.pool;
  const TensorDesc& xd = in[0].desc;
  const TensorDesc& yd = out[0].desc;
  const float* x = in[0].f32();
  const float* dy = out_grad[0].f32();
  float* dx = in_grad[0].f32();
  if (!dx) return Status::ok();
  const int64_t batch = xd.dims[0], height = xd.dims[1], width = xd.dims[2], channels = xd.dims[3];
  const int64_t out_h = yd.dims[1], out_w = yd.dims[2];
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t oy = 0; oy < out_h; ++oy) {
      for (int64_t ox = 0; ox < out_w; ++ox) {
        const int64_t y0 = oy * a.stride_h - a.pad_top, x0 = ox * a.stride_w - a.pad_left;
        const float* dy_pixel = dy + ((n * out_h + oy) * out_w + ox) * channels;
        for (int64_t c = 0; c < channels; ++c) {
          double best = -std::numeric_limits<double>::infinity();
          int64_t best_offset = -1, count = 0;
          for (int64_t iy = y0; iy < y0 + a.kernel_h; ++iy) {
            if (iy < 0 || iy >= height) continue;
            for (int64_t ix = x0; ix < x0 + a.kernel_w; ++ix) {
              if (ix < 0 || ix >= width) continue;
              const int64_t offset = ((n * height + iy) * width + ix) * channels + c;
              if (kMax && (best_offset < 0 || x[offset] > best || std::isnan(x[offset]))) {
                best = x[offset];
                best_offset = offset;
              }
              ++count;
            }
          }
          if (kMax) {
            if (best_offset >= 0) dx[best_offset] += dy_pixel[c];
            continue;
          }
          const int64_t divisor = a.count_include_pad ? static_cast<int64_t>(a.kernel_h) * a.kernel_w : count;
          if (divisor == 0) continue;
          const float share = static_cast<float>(dy_pixel[c] / static_cast<double>(divisor));
          for (int64_t iy = y0; iy < y0 + a.kernel_h; ++iy) {
            if (iy < 0 || iy >= height) continue;
            for (int64_t ix = x0; ix < x0 + a.kernel_w; ++ix) {
              if (ix >= 0 && ix < width) dx[((n * height + iy) * width + ix) * channels + c] += share;
            }
          }
        }
      }
    }
  }
  return Status::ok();
}

Status infer_global_avg_pool(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc* out) {
  PF_CHECK_DTYPE(in[0], DType::F32, 0);
  PF_CHECK_RANK(in[0], 4, 0);
  out[0] = attrs.global_pool.keep_dims ? make_desc(DType::F32, {in[0].dims[0], 1, 1, in[0].dims[3]})
                                       : make_desc(DType::F32, {in[0].dims[0], in[0].dims[3]});
  return Status::ok();
}

Status global_avg_pool_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  const TensorDesc& xd = in[0].desc;
  const int64_t batch = xd.dims[0], pixels = xd.dims[1] * xd.dims[2], channels = xd.dims[3];
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      double acc = 0.0;
      const float* x = in[0].f32() + n * pixels * channels + c;
      for (int64_t p = 0; p < pixels; ++p) acc += x[p * channels];
      out[0].f32()[n * channels + c] = pixels > 0 ? static_cast<float>(acc / pixels) : 0.0f;
    }
  }
  return Status::ok();
}

// dx[n, h, w, c] += dy[n, c] / (H * W)
Status global_avg_pool_backward(const OpAttrs&, const TensorView* in, int, const TensorView*,
                                const TensorView* out_grad, TensorView* in_grad) {
  float* dx = in_grad[0].f32();
  if (!dx) return Status::ok();
  const TensorDesc& xd = in[0].desc;
  const int64_t batch = xd.dims[0], pixels = xd.dims[1] * xd.dims[2], channels = xd.dims[3];
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const float share = static_cast<float>(out_grad[0].f32()[n * channels + c] / static_cast<double>(pixels));
      for (int64_t p = 0; p < pixels; ++p) dx[(n * pixels + p) * channels + c] += share;
    }
  }
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::MaxPool2D>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::MaxPool2D);
    d.attrs_kind = fb::Attrs::Pool2dAttrs;
    d.attrs_required = true;
    d.infer = infer_pool2d;
    d.forward = pool2d_forward<true>;
    d.backward = PF_BACKWARD(pool2d_backward<true>);
    return d;
  }();
  return def;
}

template <>
const OpDef& op_def<OpType::AvgPool2D>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::AvgPool2D);
    d.attrs_kind = fb::Attrs::Pool2dAttrs;
    d.attrs_required = true;
    d.infer = infer_pool2d;
    d.forward = pool2d_forward<false>;
    d.backward = PF_BACKWARD(pool2d_backward<false>);
    return d;
  }();
  return def;
}

template <>
const OpDef& op_def<OpType::GlobalAvgPool>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::GlobalAvgPool);
    d.attrs_kind = fb::Attrs::GlobalPoolAttrs;
    d.infer = infer_global_avg_pool;
    d.forward = global_avg_pool_forward;
    d.backward = PF_BACKWARD(global_avg_pool_backward);
    return d;
  }();
  return def;
}

}  // namespace preflight
