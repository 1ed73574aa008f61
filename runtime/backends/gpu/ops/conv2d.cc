// The GPU lowering of Conv2D (ops/conv2d.cc). Conv2D (NHWC input, OHWI weights): conv_forward and
// its two backward passes (a backend with cuDNN runs the Conv pass they carry instead), the bias
// gradient as column sums.
// Kernels: runtime/backends/gpu/ops/conv2d.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

std::vector<int> conv_geometry(const OpAttrs& attrs, const TensorDesc& x, const TensorDesc& w, const TensorDesc& y) {
  const Conv2dAttrs& a = attrs.conv;
  return {static_cast<int>(x.dims[0]), static_cast<int>(x.dims[1]), static_cast<int>(x.dims[2]), static_cast<int>(x.dims[3]),
          static_cast<int>(y.dims[1]), static_cast<int>(y.dims[2]), static_cast<int>(y.dims[3]), static_cast<int>(w.dims[1]),
          static_cast<int>(w.dims[2]), static_cast<int>(w.dims[3]), static_cast<int>(y.dims[3] / a.groups), a.stride_h,
          a.stride_w, a.pad_top, a.pad_left, a.dilation_h, a.dilation_w};
}

Conv conv_pass(Conv::Pass pass, const OpAttrs& attrs, const TensorView& x, const TensorView& w, const TensorView& y,
               const TensorView& bias) {
  Conv conv;
  conv.pass = pass;
  conv.attrs = attrs.conv;
  conv.x = x, conv.w = w, conv.y = y, conv.bias = bias;
  return conv;
}

Status conv2d_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const OpAttrs& attrs = node.attrs;
  int geometry = 0;
  PF_RETURN_IF_ERROR(int_table(p, conv_geometry(attrs, in[0].desc, in[1].desc, out[0].desc), &geometry));
  const bool bias = node.num_inputs > 2;
  Kernel call(p, "conv_forward");
  call.tensor(in[0]).tensor(in[1]).tensor(bias ? in[2] : TensorView()).i(bias).tensor(out[0]).table(geometry);
  call.conv(conv_pass(Conv::kForward, attrs, in[0], in[1], out[0], bias ? in[2] : TensorView()));
  return call.launch(out[0].desc.num_elements());
}

Status conv2d_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const OpAttrs& attrs = node.attrs;
  int geometry = 0;
  PF_RETURN_IF_ERROR(int_table(p, conv_geometry(attrs, in[0].desc, in[1].desc, out[0].desc), &geometry));
  if (node.wanted(0)) {
    Kernel call(p, "conv_backward_input");
    call.tensor(in[1]).tensor(dout[0]).tensor(grad[0]).table(geometry);
    call.conv(conv_pass(Conv::kBackwardInput, attrs, grad[0], in[1], dout[0], TensorView()));
    PF_RETURN_IF_ERROR(call.launch(in[0].desc.num_elements()));
  }
  if (node.wanted(1)) {
    Kernel call(p, "conv_backward_weight");
    call.tensor(in[0]).tensor(dout[0]).tensor(grad[1]).table(geometry);
    call.conv(conv_pass(Conv::kBackwardWeight, attrs, in[0], grad[1], dout[0], TensorView()));
    PF_RETURN_IF_ERROR(call.launch(in[1].desc.num_elements()));
  }
  if (node.wanted(2)) {
    const TensorDesc& y = out[0].desc;
    PF_RETURN_IF_ERROR(column_sums(p, dout[0], grad[2], y.dims[0] * y.dims[1] * y.dims[2], y.dims[3]));
  }
  return Status::ok();
}

constexpr OpLowering kConv2d = [] {
  OpLowering l;
  l.forward = conv2d_forward;
  l.backward = conv2d_backward;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::Conv2D>() { return kConv2d; }

}  // namespace gpu
}  // namespace preflight
