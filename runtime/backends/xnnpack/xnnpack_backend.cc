// The XNNPACK backend (Debian's libxnnpack-dev, its 2022 operator API): inference ops on
// XNNPACK's SIMD kernels. Each node is prepared once the program is bound: the operator is
// created there (weights packed into XNNPACK's layout) and set up with the fixed tensor
// addresses, so running it is xnn_run_operator alone, which allocates nothing.
//
// Runs: Linear (fully connected), Conv2D (grouped and depthwise included), MaxPool2D,
// GlobalAvgPool, Relu and Clamp, HardSwish, Add (broadcasting), Softmax over the last axis; float32,
// forward only. Weights that training updates are never packed (they would go stale after the
// first step): a Linear or Conv2D whose weight or bias a node of the model updates is left to
// the reference backend. A Relu or Clamp after a Linear or Conv2D runs as that operator's output
// clamp. Threads: a pthreadpool of num_threads() (none for one thread), taken at prepare.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <cmath>
#include <limits>
#include <new>

#include "runtime/backend.h"

namespace preflight {
namespace {

bool xnnpack_ready() {
  static const bool ready = xnn_initialize(nullptr) == xnn_status_success;
  return ready;
}

// One pool per thread count, made on first use and kept for the process (operators prepared with
// a pool keep using it).
pthreadpool_t threadpool_for(int threads) {
  if (threads <= 1) return nullptr;
  static pthreadpool_t pools[64] = {nullptr};
  const int slot = threads < 64 ? threads : 63;
  if (!pools[slot]) pools[slot] = pthreadpool_create(static_cast<size_t>(slot));
  return pools[slot];
}

struct State {
  xnn_operator_t op = nullptr;
  pthreadpool_t pool = nullptr;
};

Status run_state(void* state) {
  State* s = static_cast<State*>(state);
  const xnn_status status = xnn_run_operator(s->op, s->pool);
  PF_CHECK(status == xnn_status_success, Error::kInternal, "xnn_run_operator failed (status %d)", static_cast<int>(status));
  return Status::ok();
}

void destroy_state(void* state) {
  State* s = static_cast<State*>(state);
  if (s->op) xnn_delete_operator(s->op);
  delete s;
}

bool xnnpack_supports(const Model& model, const NodeInfo& node) {
  if (node.backward || !node.op || !all_f32(model, node) || !xnnpack_ready()) return false;
  const TensorDesc& x = model.tensors()[static_cast<size_t>(node.inputs[0])].desc;
  switch (node.op->type) {
    case OpType::Linear:
    case OpType::Conv2D:
      // Packed weights must not change under the operator.
      for (size_t i = 1; i < node.inputs.size(); ++i) {
        if (updated_by_training(model, node.inputs[i])) return false;
        if (model.tensors()[static_cast<size_t>(node.inputs[i])].data == nullptr) return false;  // fed at run time
      }
      return node.op->type == OpType::Linear ? x.rank >= 1 : x.rank == 4;
    case OpType::MaxPool2D:
    case OpType::GlobalAvgPool:
      return x.rank == 4;
    case OpType::Relu:
    case OpType::Clamp:
    case OpType::HardSwish:
    case OpType::Add:
      return x.rank >= 1;
    case OpType::Softmax: {
      const int axis = node.attrs.axis.axis < 0 ? node.attrs.axis.axis + x.rank : node.attrs.axis.axis;
      return x.rank >= 1 && axis == x.rank - 1;
    }
    default:
      return false;
  }
}

ForwardFn no_kernel(const Model&, const NodeInfo&) { return nullptr; }
BackwardFn no_backward(const Model&, const NodeInfo&) { return nullptr; }

// Fully connected and convolution operators clamp their output: a following Relu or Clamp is free.
bool xnnpack_fuses(const Model&, const NodeInfo& node, const NodeInfo& next) {
  return (node.op->type == OpType::Linear || node.op->type == OpType::Conv2D) &&
         (next.op->type == OpType::Relu || next.op->type == OpType::Clamp);
}

constexpr float kLowest = -std::numeric_limits<float>::infinity();
constexpr float kHighest = std::numeric_limits<float>::infinity();

Status check(xnn_status status, const char* what) {
  PF_CHECK(status == xnn_status_success, Error::kInternal, "XNNPACK %s failed (status %d)", what, static_cast<int>(status));
  return Status::ok();
}

Status xnnpack_prepare(const Model&, const NodeInfo& node, const PrepareArgs& args, PreparedKernel* prepared) {
  State* state = new (std::nothrow) State();
  PF_CHECK(state != nullptr, Error::kOutOfMemory, "cannot allocate the XNNPACK state");
  state->pool = threadpool_for(num_threads());
  const TensorView* in = args.inputs;
  const TensorView* out = args.outputs;
  const int num_inputs = args.num_inputs;
  const float out_min = args.clamp_min, out_max = args.clamp_max;
  prepared->state = state;
  prepared->run = run_state;
  prepared->destroy = destroy_state;
  const TensorDesc& x = in[0].desc;
  const float* input = in[0].f32();
  float* output = out[0].f32();
  const OpAttrs& attrs = node.attrs;
  switch (node.op->type) {
    case OpType::Linear: {
      const size_t in_features = static_cast<size_t>(x.dims[x.rank - 1]);
      const size_t out_features = static_cast<size_t>(in[1].desc.dims[0]);
      const size_t batch = static_cast<size_t>(x.num_elements()) / (in_features ? in_features : 1);
      PF_RETURN_IF_ERROR(check(xnn_create_fully_connected_nc_f32(in_features, out_features, in_features, out_features,
                                                                 in[1].f32(), num_inputs > 2 ? in[2].f32() : nullptr,
                                                                 out_min, out_max, 0, &state->op),
                               "create fully connected"));
      return check(xnn_setup_fully_connected_nc_f32(state->op, batch, input, output, state->pool), "setup fully connected");
    }
    case OpType::Conv2D: {
      const Conv2dAttrs& c = attrs.conv;
      const TensorDesc& w = in[1].desc;  // [O, KH, KW, C / groups]
      const size_t groups = static_cast<size_t>(c.groups);
      const size_t group_in = static_cast<size_t>(w.dims[3]), group_out = static_cast<size_t>(w.dims[0]) / groups;
      PF_RETURN_IF_ERROR(check(xnn_create_convolution2d_nhwc_f32(
                                   static_cast<uint32_t>(c.pad_top), static_cast<uint32_t>(c.pad_right),
                                   static_cast<uint32_t>(c.pad_bottom), static_cast<uint32_t>(c.pad_left),
                                   static_cast<uint32_t>(w.dims[1]), static_cast<uint32_t>(w.dims[2]),
                                   static_cast<uint32_t>(c.stride_h), static_cast<uint32_t>(c.stride_w),
                                   static_cast<uint32_t>(c.dilation_h), static_cast<uint32_t>(c.dilation_w),
                                   static_cast<uint32_t>(groups), group_in, group_out, groups * group_in,
                                   groups * group_out, in[1].f32(), num_inputs > 2 ? in[2].f32() : nullptr, out_min,
                                   out_max, 0, &state->op),
                               "create convolution"));
      return check(xnn_setup_convolution2d_nhwc_f32(state->op, static_cast<size_t>(x.dims[0]), static_cast<size_t>(x.dims[1]),
                                                    static_cast<size_t>(x.dims[2]), input, output, state->pool),
                   "setup convolution");
    }
    case OpType::MaxPool2D: {
      const Pool2dAttrs& p = attrs.pool;
      const size_t channels = static_cast<size_t>(x.dims[3]);
      PF_RETURN_IF_ERROR(check(xnn_create_max_pooling2d_nhwc_f32(
                                   static_cast<uint32_t>(p.pad_top), static_cast<uint32_t>(p.pad_right),
                                   static_cast<uint32_t>(p.pad_bottom), static_cast<uint32_t>(p.pad_left),
                                   static_cast<uint32_t>(p.kernel_h), static_cast<uint32_t>(p.kernel_w),
                                   static_cast<uint32_t>(p.stride_h), static_cast<uint32_t>(p.stride_w), 1, 1, channels,
                                   channels, channels, kLowest, kHighest, 0, &state->op),
                               "create max pooling"));
      return check(xnn_setup_max_pooling2d_nhwc_f32(state->op, static_cast<size_t>(x.dims[0]), static_cast<size_t>(x.dims[1]),
                                                    static_cast<size_t>(x.dims[2]), input, output, state->pool),
                   "setup max pooling");
    }
    case OpType::GlobalAvgPool: {
      const size_t channels = static_cast<size_t>(x.dims[3]);
      PF_RETURN_IF_ERROR(check(xnn_create_global_average_pooling_nwc_f32(channels, channels, channels, kLowest, kHighest, 0,
                                                                         &state->op),
                               "create global average pooling"));
      return check(xnn_setup_global_average_pooling_nwc_f32(state->op, static_cast<size_t>(x.dims[0]),
                                                            static_cast<size_t>(x.dims[1] * x.dims[2]), input, output,
                                                            state->pool),
                   "setup global average pooling");
    }
    case OpType::Relu:
    case OpType::Clamp: {
      // Elementwise: one row of all the elements.
      const size_t count = static_cast<size_t>(x.num_elements());
      const float low = node.op->type == OpType::Relu ? 0.0f : attrs.clamp.min;
      const float high = node.op->type == OpType::Relu ? kHighest : attrs.clamp.max;
      PF_RETURN_IF_ERROR(check(xnn_create_clamp_nc_f32(1, 1, 1, low, high, 0, &state->op), "create clamp"));
      return check(xnn_setup_clamp_nc_f32(state->op, count, input, output, state->pool), "setup clamp");
    }
    case OpType::HardSwish: {
      const size_t count = static_cast<size_t>(x.num_elements());
      PF_RETURN_IF_ERROR(check(xnn_create_hardswish_nc_f32(1, 1, 1, 0, &state->op), "create hardswish"));
      return check(xnn_setup_hardswish_nc_f32(state->op, count, input, output, state->pool), "setup hardswish");
    }
    case OpType::Add: {
      size_t a_shape[kMaxRank], b_shape[kMaxRank];
      const TensorDesc& b = in[1].desc;
      for (int d = 0; d < x.rank; ++d) a_shape[d] = static_cast<size_t>(x.dims[d]);
      for (int d = 0; d < b.rank; ++d) b_shape[d] = static_cast<size_t>(b.dims[d]);
      PF_RETURN_IF_ERROR(check(xnn_create_add_nd_f32(kLowest, kHighest, 0, &state->op), "create add"));
      return check(xnn_setup_add_nd_f32(state->op, static_cast<size_t>(x.rank), a_shape, static_cast<size_t>(b.rank), b_shape,
                                        input, in[1].f32(), output, state->pool),
                   "setup add");
    }
    case OpType::Softmax: {
      const size_t channels = static_cast<size_t>(x.dims[x.rank - 1]);
      const size_t rows = static_cast<size_t>(x.num_elements()) / (channels ? channels : 1);
      PF_RETURN_IF_ERROR(check(xnn_create_softmax_nc_f32(channels, channels, channels, 0, &state->op), "create softmax"));
      return check(xnn_setup_softmax_nc_f32(state->op, rows, input, output, state->pool), "setup softmax");
    }
    default:
      return Status::error(Error::kUnsupported, "XNNPACK has no kernel for %s", node.op->name);
  }
}

}  // namespace

const Backend* xnnpack_backend() {
  static constexpr Backend backend = [] {
    Backend b;
    b.name = "xnnpack";
    b.supports = xnnpack_supports;
    b.kernel = no_kernel;
    b.backward_kernel = no_backward;
    b.prepare = xnnpack_prepare;
    b.fuses = xnnpack_fuses;
    return b;
  }();
  return xnnpack_ready() ? &backend : nullptr;
}

}  // namespace preflight
