// The oneDNN backend (Debian's libdnnl-dev 2.6, its C++ API): forward and backward primitives on
// oneDNN's JIT kernels (AVX2/AVX-512 on x86-64, chosen by oneDNN for the CPU it runs on).
//
// Every node is prepared once the program is bound: primitive descriptors, primitives, reorders,
// packed weights and scratchpads are made there, with the tensors' fixed addresses wrapped as
// oneDNN memory objects; running is dnnl_primitive_execute on argument arrays built at prepare.
// Activations stay NHWC (channels last, as the rest of preflight) between nodes; weights take the
// layout oneDNN prefers (`format_tag::any`): packed once when constant, re-packed by a reorder at
// every run when training updates them (never stale). A Relu, Clamp, Silu or HardSwish after a
// convolution or fully connected layer runs as its eltwise post-op.
//
// Forward: Linear, Conv2D (grouped and depthwise included), MaxPool2D, AvgPool2D, GlobalAvgPool,
// Relu, Clamp, HardSwish, HardSigmoid (linear, then clip in place), Sigmoid, Silu (eltwise_swish),
// Gelu, Sqrt, Exp, Log, Abs, LeakyRelu, Elu, Softmax over the last axis, Add and Mul (one input
// broadcasting into the other's shape: a squeeze-excitation's [N, 1, 1, C] scale), Sub and Div
// (the second broadcasting into the first), the reductions (ReduceMean, Sum, Max, Min, L2),
// Transpose and Slice (reorders; Slice with forward steps), Concat (any axis), BatchNorm
// (inference, channels last), LayerNorm (over the trailing dims).
// Backward (training): Conv2D (data, weights and bias), Linear (data, weights and bias),
// MaxPool2D (recomputing its forward for the workspace of argmax positions), AvgPool2D,
// GlobalAvgPool, Relu, HardSwish, Sigmoid, Silu, Softmax over the last axis. float32 only.
//
// The device library builds without exceptions; this file alone is compiled with them (oneDNN's
// C++ API throws dnnl::error): every exception is caught here, at prepare, and becomes a Status.
// The run path calls oneDNN's C API, which returns status codes.
#include <omp.h>

#include <dnnl.hpp>
#include <limits>
#include <new>
#include <utility>
#include <vector>

#include "runtime/backend.h"

namespace preflight {
namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  static dnnl::stream stream(cpu_engine());
  return stream;
}

bool onednn_ready() {
  static const bool ready = [] {
    try {
      cpu_stream();
      return true;
    } catch (...) {
      return false;
    }
  }();
  return ready;
}

// One primitive execution: the primitive and its arguments, built at prepare.
struct Exec {
  dnnl::primitive primitive;
  std::vector<dnnl_exec_arg_t> args;
  const char* what;
};

struct State {
  std::vector<memory> memories;  // every memory an argument names stays alive with the state
  std::vector<Exec> execs;       // run in order
  void add(const char* what, const dnnl::primitive& primitive, const std::vector<std::pair<int, memory>>& args) {
    Exec exec{primitive, {}, what};
    for (const auto& arg : args) {
      memories.push_back(arg.second);
      exec.args.push_back(dnnl_exec_arg_t{arg.first, arg.second.get()});
    }
    execs.push_back(std::move(exec));
  }
};

Status run_state(void* state) {
  // OpenMP's thread count is per calling thread: set here, where the work starts.
  if (omp_get_max_threads() != num_threads()) omp_set_num_threads(num_threads());
  for (const Exec& exec : static_cast<State*>(state)->execs) {
    const dnnl_status_t status = dnnl_primitive_execute(exec.primitive.get(), cpu_stream().get(),
                                                        static_cast<int>(exec.args.size()), exec.args.data());
    PF_CHECK(status == dnnl_success, Error::kInternal, "oneDNN %s failed (status %d)", exec.what, static_cast<int>(status));
  }
  const dnnl_status_t status = dnnl_stream_wait(cpu_stream().get());
  PF_CHECK(status == dnnl_success, Error::kInternal, "oneDNN stream wait failed (status %d)", static_cast<int>(status));
  return Status::ok();
}

void destroy_state(void* state) { delete static_cast<State*>(state); }

// ---- which nodes ----

bool softmax_on_last_axis(const NodeInfo& node, const TensorDesc& x) {
  const int axis = node.attrs.axis.axis < 0 ? node.attrs.axis.axis + x.rank : node.attrs.axis.axis;
  return x.rank >= 1 && axis == x.rank - 1;
}

// Add broadcasts b into a's shape (oneDNN's binary primitive broadcasts the second source only),
// and not along the innermost dim unless b is one value: oneDNN 2.6 runs that broadcast (a
// [N, H, W, 1] mean subtracted from [N, H, W, C], convnext's layer norms) on a slow generic path,
// 3x the whole model's time, where the reference is fast.
bool add_broadcasts_into_first(const TensorDesc& a, const TensorDesc& b) {
  if (b.rank > a.rank) return false;
  if (b.num_elements() != 1 && a.rank >= 1 && (b.rank == 0 || b.dims[b.rank - 1] != a.dims[a.rank - 1])) return false;
  for (int d = 0; d < b.rank; ++d) {
    const int64_t bd = b.dims[d], ad = a.dims[a.rank - b.rank + d];
    if (bd != ad && bd != 1) return false;
  }
  return a.rank >= 1;
}

bool onednn_supports(const Model& model, const NodeInfo& node) {
  if (!node.op || !all_f32(model, node) || !onednn_ready()) return false;
  const TensorDesc& x = model.tensors()[static_cast<size_t>(node.inputs[0])].desc;
  if (node.backward) {
    // Gradients are written, not accumulated: a forward input used twice would need both.
    for (int i = 0; i < node.num_forward_inputs; ++i) {
      for (int j = 0; j < i; ++j) {
        if (node.inputs[static_cast<size_t>(i)] == node.inputs[static_cast<size_t>(j)]) return false;
      }
    }
  }
  switch (node.op->type) {
    case OpType::Linear:
      return x.rank >= 1;
    case OpType::Conv2D:
    case OpType::MaxPool2D:
    case OpType::AvgPool2D:
    case OpType::GlobalAvgPool:
      return x.rank == 4;
    case OpType::Relu:
    case OpType::HardSwish:
    case OpType::Sigmoid:
    case OpType::Silu:
      return x.rank >= 1;
    case OpType::Clamp:
      return !node.backward && x.rank >= 1;  // its gradient at the bounds differs from PyTorch's rule
    case OpType::HardSigmoid:
      return !node.backward && x.rank >= 1;  // oneDNN 2.6 has no hardsigmoid: no backward to compose
    case OpType::Gelu:
    case OpType::Sqrt:
    case OpType::Exp:
    case OpType::Log:
    case OpType::Abs:
    case OpType::LeakyRelu:
    case OpType::Elu:  // forward: the gradients' conventions at kinks stay the reference's
    case OpType::ReduceMean:
    case OpType::ReduceSum:
    case OpType::ReduceMax:
    case OpType::ReduceMin:
    case OpType::ReduceL2:
      return !node.backward && x.rank >= 1;
    case OpType::Softmax:
      return softmax_on_last_axis(node, x);
    case OpType::Transpose:
      return !node.backward && x.rank >= 1;
    case OpType::Slice: {  // a reorder from a strided view; forward steps only
      for (int d = 0; d < node.attrs.slice.rank; ++d) {
        if (node.attrs.slice.step[d] < 1) return false;
      }
      return !node.backward && x.rank >= 1;
    }
    case OpType::Concat:  // float32, any axis (as [outer, extent, inner] each)
      return !node.backward && x.rank >= 1;
    case OpType::LayerNorm:  // forward: over the trailing dims, as [rows, normalized]
      return !node.backward && x.rank >= 1;
    case OpType::BatchNorm: {  // the channels last: [rows, C] (NHWC, or [N, C])
      const int axis = node.attrs.norm.axis < 0 ? node.attrs.norm.axis + x.rank : node.attrs.norm.axis;
      return !node.backward && x.rank >= 2 && axis == x.rank - 1;
    }
    case OpType::Add:
    case OpType::Mul: {  // commutative: either input may be the one that broadcasts
      const TensorDesc& b = model.tensors()[static_cast<size_t>(node.inputs[1])].desc;
      return !node.backward && (add_broadcasts_into_first(x, b) || add_broadcasts_into_first(b, x));
    }
    case OpType::Sub:
    case OpType::Div:  // the second input broadcasting into the first only
      return !node.backward && add_broadcasts_into_first(x, model.tensors()[static_cast<size_t>(node.inputs[1])].desc);
    default:
      return false;
  }
}

// A Relu, Clamp, Silu or HardSwish after a convolution or fully connected layer is its eltwise
// post-op (the activation's pass over memory saved: efficientnet's SiLUs, mobilenet_v3's
// HardSwishes).
// A Relu after an inference batch norm is the batch norm's fuse_norm_relu (densenet's BN-ReLU
// before every conv).
bool onednn_fuses(const Model&, const NodeInfo& node, const NodeInfo& next) {
  const OpType act = next.op->type;
  if (node.op->type == OpType::BatchNorm) return act == OpType::Relu;
  return (node.op->type == OpType::Linear || node.op->type == OpType::Conv2D) &&
         (act == OpType::Relu || act == OpType::Clamp || act == OpType::Silu || act == OpType::HardSwish);
}

ForwardFn no_kernel(const Model&, const NodeInfo&) { return nullptr; }
BackwardFn no_backward(const Model&, const NodeInfo&) { return nullptr; }

// ---- memory descriptions ----

memory::desc nhwc(const TensorDesc& d) {
  return memory::desc({d.dims[0], d.dims[3], d.dims[1], d.dims[2]}, memory::data_type::f32, tag::nhwc);
}

memory::desc plain(const memory::dims& dims) {
  static const tag tags[] = {tag::a, tag::a, tag::ab, tag::abc, tag::abcd, tag::abcde, tag::abcdef};
  return memory::desc(dims, memory::data_type::f32, tags[dims.size()]);
}

// All of a tensor's elements as rows of its last dim: [rows, last].
memory::desc rows(const TensorDesc& d) {
  const int64_t last = d.rank ? d.dims[d.rank - 1] : 1;
  return plain({last ? d.num_elements() / last : 0, last});
}

memory::desc flat(const TensorDesc& d) { return plain({d.num_elements()}); }

// Conv2D weights [O, KH, KW, C / groups] as oneDNN sees them: OIHW dims in OHWI order.
memory::desc conv_weights(const TensorDesc& w, int groups, tag layout = tag::undef) {
  const int64_t o = w.dims[0], kh = w.dims[1], kw = w.dims[2], i = w.dims[3];
  if (groups == 1) return memory::desc({o, i, kh, kw}, memory::data_type::f32, layout == tag::any ? tag::any : tag::ohwi);
  return memory::desc({groups, o / groups, i, kh, kw}, memory::data_type::f32, layout == tag::any ? tag::any : tag::gohwi);
}

memory::desc any_like(const memory::desc& d) { return memory::desc(d.dims(), memory::data_type::f32, tag::any); }

memory wrap(const memory::desc& d, const TensorView& view) { return memory(d, cpu_engine(), view.data); }
memory owned(const memory::desc& d) { return memory(d, cpu_engine()); }

dnnl::primitive_attr scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::primitive_attr clamp_attr(const PrepareArgs& args) {
  dnnl::primitive_attr attr = scratchpad_attr();
  if (args.fused && (args.fused_op == OpType::Silu || args.fused_op == OpType::HardSwish)) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, args.fused_op == OpType::Silu ? algorithm::eltwise_swish : algorithm::eltwise_hardswish, 1.0f, 0.0f);
    attr.set_post_ops(ops);
  } else if (args.fused_clamp) {
    dnnl::post_ops ops;
    if (args.clamp_min == 0.0f && args.clamp_max == std::numeric_limits<float>::infinity()) {
      ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
    } else {
      ops.append_eltwise(1.0f, algorithm::eltwise_clip, args.clamp_min, args.clamp_max);
    }
    attr.set_post_ops(ops);
  }
  return attr;
}

// The primitive's own weights memory: `user` itself when the layouts agree, else a buffer of the
// primitive's layout filled by a reorder, once now (`every_run` false) or before every run.
memory weights_for(State* state, const memory& user, const memory::desc& wanted, bool every_run) {
  if (wanted == user.get_desc()) return user;
  memory packed = owned(wanted);
  dnnl::reorder reorder(user, packed);
  if (every_run) {
    state->add("weights reorder", reorder, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, packed}});
  } else {
    reorder.execute(cpu_stream(), {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, packed}});
    cpu_stream().wait();
    state->memories.push_back(packed);
  }
  return packed;
}

// A gradient the primitive writes in its own layout, reordered into `user` after it ran (call
// finish_gradient after adding the primitive).
memory gradient_for(const memory& user, const memory::desc& produced) {
  return produced == user.get_desc() ? user : owned(produced);
}
void finish_gradient(State* state, const memory& user, const memory& produced) {
  if (produced.get() == user.get()) return;
  state->add("gradient reorder", dnnl::reorder(produced, user), {{DNNL_ARG_FROM, produced}, {DNNL_ARG_TO, user}});
}

template <typename PrimitiveDesc>
memory scratchpad(const PrimitiveDesc& pd) {
  return owned(pd.scratchpad_desc());
}

// ---- forward ----

struct ConvGeometry {
  memory::dims strides, dilates, pad_l, pad_r;
};
ConvGeometry geometry(const Conv2dAttrs& c) {
  // oneDNN counts dilation from 0 (no dilation), preflight and ONNX from 1.
  return {{c.stride_h, c.stride_w}, {c.dilation_h - 1, c.dilation_w - 1}, {c.pad_top, c.pad_left}, {c.pad_bottom, c.pad_right}};
}
ConvGeometry geometry(const Pool2dAttrs& p) {
  return {{p.stride_h, p.stride_w}, {0, 0}, {p.pad_top, p.pad_left}, {p.pad_bottom, p.pad_right}};
}

bool constant_weights(const Model& model, const NodeInfo& node, int input) {
  const int t = node.inputs[static_cast<size_t>(input)];
  return model.tensors()[static_cast<size_t>(t)].data != nullptr && !updated_by_training(model, t);
}

void conv_forward(const Model& model, const NodeInfo& node, const PrepareArgs& args, State* state) {
  const TensorView* in = args.inputs;
  const Conv2dAttrs& c = node.attrs.conv;
  const ConvGeometry g = geometry(c);
  const bool has_bias = args.num_inputs > 2;
  const memory::desc src = nhwc(in[0].desc), dst = nhwc(args.outputs[0].desc);
  const memory::desc user_weights = conv_weights(in[1].desc, c.groups);
  const memory::desc bias = has_bias ? plain({in[1].desc.dims[0]}) : memory::desc();
  const dnnl::convolution_forward::desc desc(prop_kind::forward_inference, algorithm::convolution_direct, src,
                                             any_like(user_weights), bias, dst, g.strides, g.dilates, g.pad_l, g.pad_r);
  const dnnl::convolution_forward::primitive_desc pd(desc, clamp_attr(args), cpu_engine());
  const memory weights = weights_for(state, wrap(user_weights, in[1]), pd.weights_desc(), !constant_weights(model, node, 1));
  std::vector<std::pair<int, memory>> run_args = {{DNNL_ARG_SRC, wrap(src, in[0])},
                                                  {DNNL_ARG_WEIGHTS, weights},
                                                  {DNNL_ARG_DST, wrap(dst, args.outputs[0])},
                                                  {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}};
  if (has_bias) run_args.push_back({DNNL_ARG_BIAS, wrap(bias, in[2])});
  state->add("convolution", dnnl::convolution_forward(pd), run_args);
}

// Fully connected weights that training updates, of 1 MiB or more, are used as they lie: oneDNN's
// GEMM takes them plain, where re-packing 2 x 4 MB every step (and reordering the gradient back)
// cost W5 15%. Smaller ones are re-packed for the faster blocked kernels: the GEMM's own buffers
// (3.7 MB touched on W3, whose weights are 5 KB) would cost more memory than the copy costs time.
bool plain_trained_weights(const Model& model, const NodeInfo& node) {
  const int t = node.inputs[1];
  return model.tensors()[static_cast<size_t>(t)].desc.num_bytes() >= (size_t{1} << 20) && updated_by_training(model, t);
}

void linear_forward(const Model& model, const NodeInfo& node, const PrepareArgs& args, State* state) {
  const TensorView* in = args.inputs;
  const bool has_bias = args.num_inputs > 2;
  const memory::desc src = rows(in[0].desc), dst = rows(args.outputs[0].desc);
  const memory::desc user_weights = plain({in[1].desc.dims[0], in[1].desc.dims[1]});
  const memory::desc bias = has_bias ? plain({in[1].desc.dims[0]}) : memory::desc();
  const bool constant = constant_weights(model, node, 1);
  const dnnl::inner_product_forward::desc desc(prop_kind::forward_inference, src,
                                               plain_trained_weights(model, node) ? user_weights : any_like(user_weights),
                                               bias, dst);
  const dnnl::inner_product_forward::primitive_desc pd(desc, clamp_attr(args), cpu_engine());
  const memory weights = weights_for(state, wrap(user_weights, in[1]), pd.weights_desc(), !constant);
  std::vector<std::pair<int, memory>> run_args = {{DNNL_ARG_SRC, wrap(src, in[0])},
                                                  {DNNL_ARG_WEIGHTS, weights},
                                                  {DNNL_ARG_DST, wrap(dst, args.outputs[0])},
                                                  {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}};
  if (has_bias) run_args.push_back({DNNL_ARG_BIAS, wrap(bias, in[2])});
  state->add("inner product", dnnl::inner_product_forward(pd), run_args);
}

// Pooling of every kind as oneDNN sees it: the algorithm, the window, and the output desc (a
// global pool's [N, C] or [N, 1, 1, C] output is NHWC [N, C, 1, 1]).
struct Pooling {
  algorithm kind;
  memory::dims kernel;
  ConvGeometry geometry;
  memory::desc src, dst;
};
Pooling pooling(const NodeInfo& node, const TensorDesc& x) {
  const memory::desc src = nhwc(x);
  if (node.op->type == OpType::GlobalAvgPool) {
    const memory::desc dst({x.dims[0], x.dims[3], 1, 1}, memory::data_type::f32, tag::nhwc);
    return {algorithm::pooling_avg_exclude_padding, {x.dims[1], x.dims[2]}, {{1, 1}, {0, 0}, {0, 0}, {0, 0}}, src, dst};
  }
  const Pool2dAttrs& p = node.attrs.pool;
  const ConvGeometry g = geometry(p);
  const int64_t oh = (x.dims[1] + p.pad_top + p.pad_bottom - p.kernel_h) / p.stride_h + 1;
  const int64_t ow = (x.dims[2] + p.pad_left + p.pad_right - p.kernel_w) / p.stride_w + 1;
  const memory::desc dst({x.dims[0], x.dims[3], oh, ow}, memory::data_type::f32, tag::nhwc);
  const algorithm kind = node.op->type == OpType::MaxPool2D ? algorithm::pooling_max
                         : p.count_include_pad              ? algorithm::pooling_avg_include_padding
                                                            : algorithm::pooling_avg_exclude_padding;
  return {kind, {p.kernel_h, p.kernel_w}, g, src, dst};
}

dnnl::pooling_forward::primitive_desc pooling_pd(const Pooling& p, prop_kind kind) {
  const dnnl::pooling_forward::desc desc(kind, p.kind, p.src, p.dst, p.geometry.strides, p.kernel, p.geometry.pad_l,
                                         p.geometry.pad_r);
  return dnnl::pooling_forward::primitive_desc(desc, scratchpad_attr(), cpu_engine());
}

void pool_forward(const NodeInfo& node, const PrepareArgs& args, State* state) {
  const Pooling p = pooling(node, args.inputs[0].desc);
  const auto pd = pooling_pd(p, prop_kind::forward_inference);
  state->add("pooling", dnnl::pooling_forward(pd),
             {{DNNL_ARG_SRC, wrap(p.src, args.inputs[0])},
              {DNNL_ARG_DST, wrap(p.dst, args.outputs[0])},
              {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}});
}

// The eltwise algorithm of an activation, with its alpha and beta.
struct Eltwise {
  algorithm kind;
  float alpha = 0.0f, beta = 0.0f;
};

Eltwise eltwise_of(const NodeInfo& node) {
  switch (node.op->type) {
    case OpType::Relu: return {algorithm::eltwise_relu};
    case OpType::HardSwish: return {algorithm::eltwise_hardswish};  // x relu6(x + 3) / 6 in oneDNN 2.6
    case OpType::Sigmoid: return {algorithm::eltwise_logistic};
    case OpType::Gelu: return {node.attrs.gelu.tanh_approximation ? algorithm::eltwise_gelu_tanh : algorithm::eltwise_gelu_erf};
    case OpType::Sqrt: return {algorithm::eltwise_sqrt};
    case OpType::Exp: return {algorithm::eltwise_exp};
    case OpType::Log: return {algorithm::eltwise_log};
    case OpType::Abs: return {algorithm::eltwise_abs};
    case OpType::LeakyRelu: return {algorithm::eltwise_relu, node.attrs.alpha.alpha};  // alpha: the negative slope
    case OpType::Elu: return {algorithm::eltwise_elu, node.attrs.alpha.alpha};
    case OpType::Silu: return {algorithm::eltwise_swish, 1.0f};  // x sigmoid(alpha x)
    case OpType::HardSigmoid:  // alpha x + beta, then the clip to [0, 1] in place (eltwise_forward)
      return {algorithm::eltwise_linear, node.attrs.hard_sigmoid.alpha, node.attrs.hard_sigmoid.beta};
    default: return {algorithm::eltwise_clip, node.attrs.clamp.min, node.attrs.clamp.max};
  }
}

dnnl::eltwise_forward::primitive_desc eltwise_pd(const NodeInfo& node, const memory::desc& data, prop_kind kind) {
  const Eltwise e = eltwise_of(node);
  const dnnl::eltwise_forward::desc desc(kind, e.kind, data, e.alpha, e.beta);
  return dnnl::eltwise_forward::primitive_desc(desc, scratchpad_attr(), cpu_engine());
}

void eltwise_forward(const NodeInfo& node, const PrepareArgs& args, State* state) {
  const memory::desc data = flat(args.inputs[0].desc);
  const auto pd = eltwise_pd(node, data, prop_kind::forward_inference);
  state->add("eltwise", dnnl::eltwise_forward(pd),
             {{DNNL_ARG_SRC, wrap(data, args.inputs[0])},
              {DNNL_ARG_DST, wrap(data, args.outputs[0])},
              {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}});
  if (node.op->type == OpType::HardSigmoid) {
    // oneDNN 2.6 has no hardsigmoid: clip(alpha x + beta, 0, 1) as a second eltwise, in place.
    const dnnl::eltwise_forward::desc clip(prop_kind::forward_inference, algorithm::eltwise_clip, data, 0.0f, 1.0f);
    const dnnl::eltwise_forward::primitive_desc clip_pd(clip, scratchpad_attr(), cpu_engine());
    state->add("eltwise clip", dnnl::eltwise_forward(clip_pd),
               {{DNNL_ARG_SRC, wrap(data, args.outputs[0])},
                {DNNL_ARG_DST, wrap(data, args.outputs[0])},
                {DNNL_ARG_SCRATCHPAD, scratchpad(clip_pd)}});
  }
}

dnnl::softmax_forward::primitive_desc softmax_pd(const memory::desc& data, prop_kind kind) {
  const dnnl::softmax_forward::desc desc(kind, data, 1);
  return dnnl::softmax_forward::primitive_desc(desc, scratchpad_attr(), cpu_engine());
}

void softmax_forward(const PrepareArgs& args, State* state) {
  const memory::desc data = rows(args.inputs[0].desc);
  const auto pd = softmax_pd(data, prop_kind::forward_inference);
  state->add("softmax", dnnl::softmax_forward(pd),
             {{DNNL_ARG_SRC, wrap(data, args.inputs[0])},
              {DNNL_ARG_DST, wrap(data, args.outputs[0])},
              {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}});
}

void binary_forward(const NodeInfo& node, const PrepareArgs& args, State* state) {
  // oneDNN broadcasts its second source only: the input that broadcasts goes second (Add and Mul
  // commute; torchvision's squeeze-excitation writes scale * x).
  const bool swap = !add_broadcasts_into_first(args.inputs[0].desc, args.inputs[1].desc);
  const TensorView& first = args.inputs[swap ? 1 : 0];
  const TensorView& second = args.inputs[swap ? 0 : 1];
  const TensorDesc& a = first.desc;
  const TensorDesc& b = second.desc;
  memory::dims a_dims(a.dims, a.dims + a.rank), b_dims(static_cast<size_t>(a.rank), 1);
  for (int d = 0; d < b.rank; ++d) b_dims[static_cast<size_t>(a.rank - b.rank + d)] = b.dims[d];
  const memory::desc src0 = plain(a_dims), src1 = plain(b_dims);
  const OpType op = node.op->type;
  const algorithm kind = op == OpType::Add   ? algorithm::binary_add
                         : op == OpType::Mul ? algorithm::binary_mul
                         : op == OpType::Sub ? algorithm::binary_sub
                                             : algorithm::binary_div;
  const dnnl::binary::desc desc(kind, src0, src1, src0);
  const dnnl::binary::primitive_desc pd(desc, scratchpad_attr(), cpu_engine());
  state->add("binary", dnnl::binary(pd),
             {{DNNL_ARG_SRC_0, wrap(src0, first)},
              {DNNL_ARG_SRC_1, wrap(src1, second)},
              {DNNL_ARG_DST, wrap(src0, args.outputs[0])},
              {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}});
}

// A slice is a reorder: the input's window read through its strides times the steps, from the
// first element's address, into the dense output.
void slice_forward(const NodeInfo& node, const PrepareArgs& args, State* state) {
  const TensorDesc &x = args.inputs[0].desc, &y = args.outputs[0].desc;
  const SliceAttrs& s = node.attrs.slice;
  memory::dims dims(y.dims, y.dims + y.rank), strides(static_cast<size_t>(y.rank));
  int64_t stride = 1, first = 0;
  for (int d = x.rank - 1; d >= 0; --d) {
    strides[static_cast<size_t>(d)] = stride * s.step[d];
    first += s.start[d] * stride;
    stride *= x.dims[d];
  }
  const memory::desc src(dims, memory::data_type::f32, strides), dst = plain(dims);
  TensorView window = args.inputs[0];
  window.data = static_cast<float*>(window.data) + first;
  const dnnl::reorder::primitive_desc pd(cpu_engine(), src, cpu_engine(), dst, scratchpad_attr());
  state->add("slice", dnnl::reorder(pd),
             {{DNNL_ARG_FROM, wrap(src, window)}, {DNNL_ARG_TO, wrap(dst, args.outputs[0])}, {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}});
}

// Layer norm over the dims from `axis` on: [rows, normalized], oneDNN's layer normalization over
// the last dim, with the scale and shift the node has.
void layer_norm_forward(const NodeInfo& node, const PrepareArgs& args, State* state) {
  const TensorDesc& x = args.inputs[0].desc;
  const int axis = node.attrs.norm.axis < 0 ? node.attrs.norm.axis + x.rank : node.attrs.norm.axis;
  int64_t normalized = 1;
  for (int d = axis; d < x.rank; ++d) normalized *= x.dims[d];
  const memory::desc data = plain({x.num_elements() / normalized, normalized}), weights = plain({normalized});
  auto flags = dnnl::normalization_flags::none;
  if (args.num_inputs > 1) flags = flags | dnnl::normalization_flags::use_scale;
  if (args.num_inputs > 2) flags = flags | dnnl::normalization_flags::use_shift;
  const dnnl::layer_normalization_forward::desc desc(prop_kind::forward_inference, data, node.attrs.norm.epsilon, flags);
  const dnnl::layer_normalization_forward::primitive_desc pd(desc, scratchpad_attr(), cpu_engine());
  std::vector<std::pair<int, memory>> run_args = {{DNNL_ARG_SRC, wrap(data, args.inputs[0])},
                                                  {DNNL_ARG_DST, wrap(data, args.outputs[0])},
                                                  {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}};
  if (args.num_inputs > 1) run_args.push_back({DNNL_ARG_SCALE, wrap(weights, args.inputs[1])});
  if (args.num_inputs > 2) run_args.push_back({DNNL_ARG_SHIFT, wrap(weights, args.inputs[2])});
  state->add("layer norm", dnnl::layer_normalization_forward(pd), run_args);
}

// A reduction: the output as the input's dims with the reduced ones 1 (keep_dims or not, the
// same bytes). L2 is oneDNN's norm_lp_sum with p = 2.
void reduce_forward(const NodeInfo& node, const PrepareArgs& args, State* state) {
  const TensorDesc& x = args.inputs[0].desc;
  memory::dims dims(x.dims, x.dims + x.rank), kept = dims;
  for (int d = 0; d < x.rank; ++d) {
    if ((node.attrs.reduce.axes >> d) & 1u) kept[static_cast<size_t>(d)] = 1;
  }
  const OpType op = node.op->type;
  const algorithm kind = op == OpType::ReduceMean  ? algorithm::reduction_mean
                         : op == OpType::ReduceSum ? algorithm::reduction_sum
                         : op == OpType::ReduceMax ? algorithm::reduction_max
                         : op == OpType::ReduceMin ? algorithm::reduction_min
                                                   : algorithm::reduction_norm_lp_sum;
  const memory::desc src = plain(dims), dst = plain(kept);
  const dnnl::reduction::desc desc(kind, src, dst, op == OpType::ReduceL2 ? 2.0f : 0.0f, 0.0f);
  const dnnl::reduction::primitive_desc pd(desc, scratchpad_attr(), cpu_engine());
  state->add("reduction", dnnl::reduction(pd),
             {{DNNL_ARG_SRC, wrap(src, args.inputs[0])}, {DNNL_ARG_DST, wrap(dst, args.outputs[0])}, {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}});
}

// Concat along any axis: each input as [outer, extent_i, inner], joined along dim 1.
void concat_forward(const NodeInfo& node, const PrepareArgs& args, State* state) {
  const TensorDesc& y = args.outputs[0].desc;
  const int axis = node.attrs.axis.axis < 0 ? node.attrs.axis.axis + y.rank : node.attrs.axis.axis;
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= y.dims[d];
  for (int d = axis + 1; d < y.rank; ++d) inner *= y.dims[d];
  // NHWC channels (densenet's, googlenet's) as oneDNN's nhwc, concatenated along its dim 1.
  const bool channels = y.rank == 4 && axis == 3;
  std::vector<memory::desc> sources;
  std::vector<std::pair<int, memory>> run_args;
  for (int i = 0; i < args.num_inputs; ++i) {
    sources.push_back(channels ? nhwc(args.inputs[i].desc) : plain({outer, args.inputs[i].desc.dims[axis], inner}));
    run_args.push_back({DNNL_ARG_MULTIPLE_SRC + i, wrap(sources.back(), args.inputs[i])});
  }
  const memory::desc dst = channels ? nhwc(y) : plain({outer, y.dims[axis], inner});
  const dnnl::concat::primitive_desc pd(dst, 1, sources, cpu_engine(), scratchpad_attr());
  run_args.push_back({DNNL_ARG_DST, wrap(dst, args.outputs[0])});
  run_args.push_back({DNNL_ARG_SCRATCHPAD, scratchpad(pd)});
  state->add("concat", dnnl::concat(pd), run_args);
}

// Inference batch norm with the running statistics, channels last: [rows, C].
void batch_norm_forward(const NodeInfo& node, const PrepareArgs& args, State* state) {
  // 4-D as NHWC (oneDNN's JIT kernels take nhwc; a [rows, C] view of it ran slower than the reference).
  const TensorDesc& x = args.inputs[0].desc;
  const memory::desc data = x.rank == 4 ? nhwc(x) : rows(x);
  const memory::desc channel = plain({x.dims[x.rank - 1]});
  auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
               dnnl::normalization_flags::use_shift;
  if (args.fused && args.fused_op == OpType::Relu) flags = flags | dnnl::normalization_flags::fuse_norm_relu;
  const dnnl::batch_normalization_forward::desc desc(prop_kind::forward_inference, data, node.attrs.norm.epsilon, flags);
  const dnnl::batch_normalization_forward::primitive_desc pd(desc, scratchpad_attr(), cpu_engine());
  state->add("batch norm", dnnl::batch_normalization_forward(pd),
             {{DNNL_ARG_SRC, wrap(data, args.inputs[0])},
              {DNNL_ARG_SCALE, wrap(channel, args.inputs[1])},
              {DNNL_ARG_SHIFT, wrap(channel, args.inputs[2])},
              {DNNL_ARG_MEAN, wrap(channel, args.inputs[3])},
              {DNNL_ARG_VARIANCE, wrap(channel, args.inputs[4])},
              {DNNL_ARG_DST, wrap(data, args.outputs[0])},
              {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}});
}

// A transpose is a reorder: the input read with its strides permuted into the output's order.
void transpose_forward(const NodeInfo& node, const PrepareArgs& args, State* state) {
  const TensorDesc& x = args.inputs[0].desc;
  memory::dims x_strides(static_cast<size_t>(x.rank), 1), dims(static_cast<size_t>(x.rank)), strides(static_cast<size_t>(x.rank));
  for (int d = x.rank - 2; d >= 0; --d) x_strides[static_cast<size_t>(d)] = x_strides[static_cast<size_t>(d + 1)] * x.dims[d + 1];
  for (int d = 0; d < x.rank; ++d) {
    const int from = node.attrs.transpose.perm[d];
    dims[static_cast<size_t>(d)] = x.dims[from];
    strides[static_cast<size_t>(d)] = x_strides[static_cast<size_t>(from)];
  }
  const memory::desc src(dims, memory::data_type::f32, strides), dst = plain(dims);
  const dnnl::reorder::primitive_desc pd(cpu_engine(), src, cpu_engine(), dst, scratchpad_attr());
  state->add("transpose", dnnl::reorder(pd),
             {{DNNL_ARG_FROM, wrap(src, args.inputs[0])},
              {DNNL_ARG_TO, wrap(dst, args.outputs[0])},
              {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}});
}

// ---- backward: inputs are the forward inputs, outputs and output gradients; outputs the input
// gradients (data null where not asked for) ----

// The memory a gradient is written to: the caller's, or a scratch buffer when not asked for.
memory gradient_view(const memory::desc& d, const TensorView& view) { return view.data ? wrap(d, view) : owned(d); }

// The two backward steps of a convolution or fully connected layer, whichever primitive `pd`
// describes. Data: dy and the weights (re-packed into the primitive's layout every run) -> dx.
template <typename Primitive>
void add_backward_data(State* state, const char* what, const typename Primitive::primitive_desc& pd,
                       const memory::desc& user_weights, const TensorView& w, const memory::desc& src,
                       const memory::desc& dst, const TensorView& dy, const TensorView& dx) {
  const memory weights = weights_for(state, wrap(user_weights, w), pd.weights_desc(), true);
  state->add(what, Primitive(pd),
             {{DNNL_ARG_DIFF_DST, wrap(dst, dy)},
              {DNNL_ARG_WEIGHTS, weights},
              {DNNL_ARG_DIFF_SRC, wrap(src, dx)},
              {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}});
}

// Weights: x and dy -> dw (reordered into the caller's layout when the primitive's differs) and,
// with a bias, db. `grads` are the node's gradient views (x, w, bias).
template <typename Primitive>
void add_backward_weights(State* state, const char* what, const typename Primitive::primitive_desc& pd,
                          const memory::desc& user_weights, const memory::desc& bias, bool has_bias,
                          const memory::desc& src, const TensorView& x, const memory::desc& dst, const TensorView& dy,
                          const TensorView* grads) {
  const memory user = gradient_view(user_weights, grads[1]);
  const memory produced = gradient_for(user, pd.diff_weights_desc());
  std::vector<std::pair<int, memory>> run_args = {{DNNL_ARG_SRC, wrap(src, x)},
                                                  {DNNL_ARG_DIFF_DST, wrap(dst, dy)},
                                                  {DNNL_ARG_DIFF_WEIGHTS, produced},
                                                  {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}};
  if (has_bias) run_args.push_back({DNNL_ARG_DIFF_BIAS, gradient_view(bias, grads[2])});
  state->add(what, Primitive(pd), run_args);
  if (grads[1].data) finish_gradient(state, user, produced);
}

void conv_backward(const NodeInfo& node, const PrepareArgs& args, State* state) {
  const int forward_inputs = node.num_forward_inputs;
  const TensorView* in = args.inputs;
  const TensorView& dy = in[forward_inputs + 1];
  const TensorView* grads = args.outputs;
  const Conv2dAttrs& c = node.attrs.conv;
  const ConvGeometry g = geometry(c);
  const bool has_bias = forward_inputs > 2;
  const memory::desc src = nhwc(in[0].desc), dst = nhwc(dy.desc);
  const memory::desc user_weights = conv_weights(in[1].desc, c.groups);
  const memory::desc bias = has_bias ? plain({in[1].desc.dims[0]}) : memory::desc();
  const dnnl::convolution_forward::desc forward(prop_kind::forward_training, algorithm::convolution_direct, src,
                                                any_like(user_weights), bias, dst, g.strides, g.dilates, g.pad_l, g.pad_r);
  const dnnl::convolution_forward::primitive_desc hint(forward, cpu_engine());
  if (grads[0].data) {
    const dnnl::convolution_backward_data::desc desc(algorithm::convolution_direct, src, any_like(user_weights), dst,
                                                     g.strides, g.dilates, g.pad_l, g.pad_r);
    const dnnl::convolution_backward_data::primitive_desc pd(desc, scratchpad_attr(), cpu_engine(), hint);
    add_backward_data<dnnl::convolution_backward_data>(state, "convolution backward data", pd, user_weights, in[1], src,
                                                       dst, dy, grads[0]);
  }
  if (grads[1].data || (has_bias && grads[2].data)) {
    const dnnl::convolution_backward_weights::desc desc(algorithm::convolution_direct, src, any_like(user_weights), bias, dst,
                                                        g.strides, g.dilates, g.pad_l, g.pad_r);
    const dnnl::convolution_backward_weights::primitive_desc pd(desc, scratchpad_attr(), cpu_engine(), hint);
    add_backward_weights<dnnl::convolution_backward_weights>(state, "convolution backward weights", pd, user_weights, bias,
                                                             has_bias, src, in[0], dst, dy, grads);
  }
}

void linear_backward(const Model& model, const NodeInfo& node, const PrepareArgs& args, State* state) {
  const int forward_inputs = node.num_forward_inputs;
  const TensorView* in = args.inputs;
  const TensorView& dy = in[forward_inputs + 1];
  const TensorView* grads = args.outputs;
  const bool has_bias = forward_inputs > 2;
  const memory::desc src = rows(in[0].desc), dst = rows(dy.desc);
  const memory::desc user_weights = plain({in[1].desc.dims[0], in[1].desc.dims[1]});
  const memory::desc bias = has_bias ? plain({in[1].desc.dims[0]}) : memory::desc();
  const bool plain = plain_trained_weights(model, node);
  const dnnl::inner_product_forward::desc forward(prop_kind::forward_training, src,
                                                  plain ? user_weights : any_like(user_weights), bias, dst);
  const dnnl::inner_product_forward::primitive_desc hint(forward, cpu_engine());
  if (grads[0].data) {
    const dnnl::inner_product_backward_data::desc desc(src, plain ? user_weights : any_like(user_weights), dst);
    const dnnl::inner_product_backward_data::primitive_desc pd(desc, scratchpad_attr(), cpu_engine(), hint);
    add_backward_data<dnnl::inner_product_backward_data>(state, "inner product backward data", pd, user_weights, in[1],
                                                         src, dst, dy, grads[0]);
  }
  if (grads[1].data || (has_bias && grads[2].data)) {
    // Plain weights and gradients with the plain forward: no reorder either side.
    const dnnl::inner_product_backward_weights::desc desc(src, plain ? user_weights : any_like(user_weights), bias, dst);
    const dnnl::inner_product_backward_weights::primitive_desc pd(desc, scratchpad_attr(), cpu_engine(), hint);
    add_backward_weights<dnnl::inner_product_backward_weights>(state, "inner product backward weights", pd, user_weights,
                                                               bias, has_bias, src, in[0], dst, dy, grads);
  }
}

void pool_backward(const NodeInfo& node, const PrepareArgs& args, State* state) {
  const TensorView* in = args.inputs;
  const TensorView& dy = in[2];
  if (!args.outputs[0].data) return;
  const Pooling p = pooling(node, in[0].desc);
  const auto hint = pooling_pd(p, prop_kind::forward_training);
  memory workspace;
  if (p.kind == algorithm::pooling_max) {
    // The backward primitive needs the forward's argmax workspace: recompute the forward here.
    // Its output goes to the input gradient's buffer (at least as large), which the backward
    // primitive then overwrites whole: no buffer of its own.
    workspace = owned(hint.workspace_desc());
    state->add("pooling forward (for its workspace)", dnnl::pooling_forward(hint),
               {{DNNL_ARG_SRC, wrap(p.src, in[0])},
                {DNNL_ARG_DST, wrap(p.dst, args.outputs[0])},
                {DNNL_ARG_WORKSPACE, workspace},
                {DNNL_ARG_SCRATCHPAD, scratchpad(hint)}});
  }
  const dnnl::pooling_backward::desc desc(p.kind, p.src, p.dst, p.geometry.strides, p.kernel, p.geometry.pad_l,
                                          p.geometry.pad_r);
  const dnnl::pooling_backward::primitive_desc pd(desc, scratchpad_attr(), cpu_engine(), hint);
  if (p.kind == algorithm::pooling_max) {
    state->add("pooling backward", dnnl::pooling_backward(pd),
               {{DNNL_ARG_DIFF_DST, wrap(p.dst, dy)},
                {DNNL_ARG_WORKSPACE, workspace},
                {DNNL_ARG_DIFF_SRC, wrap(p.src, args.outputs[0])},
                {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}});
  } else {
    state->add("pooling backward", dnnl::pooling_backward(pd),
               {{DNNL_ARG_DIFF_DST, wrap(p.dst, dy)},
                {DNNL_ARG_DIFF_SRC, wrap(p.src, args.outputs[0])},
                {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}});
  }
}

void eltwise_backward(const NodeInfo& node, const PrepareArgs& args, State* state) {
  if (!args.outputs[0].data) return;
  const memory::desc data = flat(args.inputs[0].desc);
  const auto hint = eltwise_pd(node, data, prop_kind::forward_training);
  const Eltwise e = eltwise_of(node);
  const dnnl::eltwise_backward::desc desc(e.kind, data, data, e.alpha, e.beta);
  const dnnl::eltwise_backward::primitive_desc pd(desc, scratchpad_attr(), cpu_engine(), hint);
  state->add("eltwise backward", dnnl::eltwise_backward(pd),
             {{DNNL_ARG_SRC, wrap(data, args.inputs[0])},
              {DNNL_ARG_DIFF_DST, wrap(data, args.inputs[2])},
              {DNNL_ARG_DIFF_SRC, wrap(data, args.outputs[0])},
              {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}});
}

void softmax_backward(const PrepareArgs& args, State* state) {
  if (!args.outputs[0].data) return;
  const memory::desc data = rows(args.inputs[0].desc);
  const auto hint = softmax_pd(data, prop_kind::forward_training);
  const dnnl::softmax_backward::desc desc(data, data, 1);
  const dnnl::softmax_backward::primitive_desc pd(desc, scratchpad_attr(), cpu_engine(), hint);
  state->add("softmax backward", dnnl::softmax_backward(pd),
             {{DNNL_ARG_DST, wrap(data, args.inputs[1])},
              {DNNL_ARG_DIFF_DST, wrap(data, args.inputs[2])},
              {DNNL_ARG_DIFF_SRC, wrap(data, args.outputs[0])},
              {DNNL_ARG_SCRATCHPAD, scratchpad(pd)}});
}

void prepare_node(const Model& model, const NodeInfo& node, const PrepareArgs& args, State* state) {
  const OpType type = node.op->type;
  if (node.backward) {
    if (type == OpType::Conv2D) return conv_backward(node, args, state);
    if (type == OpType::Linear) return linear_backward(model, node, args, state);
    if (type == OpType::Relu || type == OpType::HardSwish || type == OpType::Sigmoid || type == OpType::Silu) {
      return eltwise_backward(node, args, state);
    }
    if (type == OpType::Softmax) return softmax_backward(args, state);
    return pool_backward(node, args, state);
  }
  switch (type) {
    case OpType::Conv2D: return conv_forward(model, node, args, state);
    case OpType::Linear: return linear_forward(model, node, args, state);
    case OpType::Relu:
    case OpType::Clamp:
    case OpType::HardSwish:
    case OpType::HardSigmoid:
    case OpType::Sigmoid:
    case OpType::Silu:
    case OpType::Gelu:
    case OpType::Sqrt:
    case OpType::Exp:
    case OpType::Log:
    case OpType::Abs:
    case OpType::LeakyRelu:
    case OpType::Elu: return eltwise_forward(node, args, state);
    case OpType::Softmax: return softmax_forward(args, state);
    case OpType::Add:
    case OpType::Mul:
    case OpType::Sub:
    case OpType::Div: return binary_forward(node, args, state);
    case OpType::ReduceMean:
    case OpType::ReduceSum:
    case OpType::ReduceMax:
    case OpType::ReduceMin:
    case OpType::ReduceL2: return reduce_forward(node, args, state);
    case OpType::Transpose: return transpose_forward(node, args, state);
    case OpType::Concat: return concat_forward(node, args, state);
    case OpType::Slice: return slice_forward(node, args, state);
    case OpType::BatchNorm: return batch_norm_forward(node, args, state);
    case OpType::LayerNorm: return layer_norm_forward(node, args, state);
    default: return pool_forward(node, args, state);
  }
}

Status onednn_prepare(const Model& model, const NodeInfo& node, const PrepareArgs& args, PreparedKernel* prepared) {
  State* state = new (std::nothrow) State();
  PF_CHECK(state != nullptr, Error::kOutOfMemory, "cannot allocate the oneDNN state");
  prepared->state = state;
  prepared->run = run_state;
  prepared->destroy = destroy_state;
  try {
    prepare_node(model, node, args, state);
  } catch (const dnnl::error& e) {
    return Status::error(Error::kInternal, "oneDNN refused the node: %s (status %d)", e.what(), static_cast<int>(e.status));
  } catch (const std::bad_alloc&) {
    return Status::error(Error::kOutOfMemory, "out of memory while preparing the oneDNN primitives");
  } catch (const std::exception& e) {
    return Status::error(Error::kInternal, "oneDNN: %s", e.what());
  }
  return Status::ok();
}

}  // namespace

const Backend* onednn_backend() {
  static constexpr Backend backend = [] {
    Backend b;
    b.name = "onednn";
    b.supports = onednn_supports;
    b.kernel = no_kernel;
    b.backward_kernel = no_backward;
    b.prepare = onednn_prepare;
    b.fuses = onednn_fuses;
    return b;
  }();
  return onednn_ready() ? &backend : nullptr;
}

}  // namespace preflight
