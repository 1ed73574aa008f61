// The GPU backends' lowering of every op to the kernels of kernels.cl (lowering.h). The kernels'
// arguments are listed here in the order kernels.cl declares them.
#include "runtime/backends/gpu/lowering.h"

#include "ops/broadcast.h"

namespace preflight {
namespace gpu {
namespace {

constexpr int kReduceGroup = 64;  // kernels.cl's REDUCE_GROUP

// Appends a kernel step: kernel("name").tensor(x).i(3)...launch(items).
class Kernel {
 public:
  Kernel(Lowered* lowered, const char* name) : lowered_(lowered) { step_.kernel = name; }
  Kernel& tensor(const TensorView& view) {
    Arg arg;
    arg.kind = Arg::kTensor;
    arg.view = view;
    return add(arg);
  }
  Kernel& table(int index) { return indexed(Arg::kTable, index); }
  Kernel& scratch(int index) { return indexed(Arg::kScratch, index); }
  Kernel& status() { return indexed(Arg::kStatus, 0); }
  Kernel& i(int64_t value) {
    Arg arg;
    arg.kind = Arg::kInt;
    arg.i = value;
    return add(arg);
  }
  Kernel& u(uint32_t value) {
    Arg arg;
    arg.kind = Arg::kUint;
    arg.i = value;
    return add(arg);
  }
  Kernel& f(float value) {
    Arg arg;
    arg.kind = Arg::kFloat;
    arg.f = value;
    return add(arg);
  }
  // The convolution pass this kernel computes (a backend may run it on a library instead).
  Kernel& conv(const Conv& pass) {
    step_.has_conv = true;
    step_.conv = pass;
    return *this;
  }
  // One work-item per item (none: nothing to compute, no step).
  Status launch(int64_t items) {
    step_.items = items;
    if (items > 0) lowered_->steps.push_back(std::move(step_));
    return Status::ok();
  }
  // One work-group of `size` items.
  Status launch_group(int size) {
    step_.group = size;
    step_.items = size;
    lowered_->steps.push_back(std::move(step_));
    return Status::ok();
  }

 private:
  Kernel& indexed(Arg::Kind kind, int index) {
    Arg arg;
    arg.kind = kind;
    arg.index = index;
    return add(arg);
  }
  Kernel& add(const Arg& arg) {
    step_.args.push_back(arg);
    return *this;
  }
  Lowered* lowered_;
  Step step_;
};

// Row-major strides of a shape.
void strides_of(const TensorDesc& desc, int64_t* strides) {
  int64_t stride = 1;
  for (int d = desc.rank - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= desc.dims[d];
  }
}

// C = a b (+ bias) as a Gemm step (docs in lowering.h).
Status gemm(Lowered* p, const TensorView& a, const TensorView& b, const TensorView& c, const TensorView* bias, Gemm g) {
  if (g.M == 0 || g.N == 0) return Status::ok();
  Step step;
  step.kind = Step::kGemm;
  g.a = a, g.b = b, g.c = c;
  if (bias) g.bias = *bias;
  step.gemm = std::move(g);
  p->steps.push_back(std::move(step));
  return Status::ok();
}

Gemm single(int64_t M, int64_t N, int64_t K, int64_t a_sm, int64_t a_sk, int64_t b_sk, int64_t b_sn) {
  Gemm g;
  g.M = M, g.N = N, g.K = K, g.a_sm = a_sm, g.a_sk = a_sk, g.b_sk = b_sk, g.b_sn = b_sn;
  g.terms = {{{0, 0}}};
  return g;
}

Status column_sums(Lowered* p, const TensorView& x, const TensorView& y, int64_t rows, int64_t cols) {
  Kernel call(p, "column_sums");
  call.tensor(x).tensor(y).i(rows).i(cols);
  return call.launch(cols);
}

Status reduce_sum(Lowered* p, const TensorView& x, const TensorView& y, float scale, bool square, bool accumulate) {
  Kernel call(p, "reduce_sum");
  call.tensor(x).tensor(y).i(x.desc.num_elements()).f(scale).i(square).i(accumulate);
  return call.launch_group(kReduceGroup);
}

// A scratch buffer of `count` floats of the node's own, addressed like a tensor: its index.
Status scratch(Lowered* p, int64_t count, int* out) {
  *out = static_cast<int>(p->scratch.size());
  p->scratch.push_back(count);
  return Status::ok();
}

// An int table of the node's own (shapes, strides): its index.
Status int_table(Lowered* p, std::vector<int> values, int* out) {
  *out = static_cast<int>(p->tables.size());
  p->tables.push_back(std::move(values));
  return Status::ok();
}

Status copy(Lowered* p, const TensorView& from, const TensorView& to) {
  if (to.desc.num_bytes() == 0) return Status::ok();
  Step step;
  step.kind = Step::kCopy;
  step.from = from;
  step.to = to;
  p->steps.push_back(std::move(step));
  return Status::ok();
}

int unary_code(OpType op, const OpAttrs& attrs) {
  switch (op) {
    case OpType::Relu: return 0;
    case OpType::Clamp: return 1;
    case OpType::Sigmoid: return 2;
    case OpType::Tanh: return 3;
    default: return attrs.gelu.tanh_approximation ? 5 : 4;
  }
}

int binary_code(OpType op) {
  switch (op) {
    case OpType::Add: return 0;
    case OpType::Sub: return 1;
    case OpType::Mul: return 2;
    default: return 3;
  }
}

// The strides of `desc` seen in the rank of `out` (aligned at the right; 0 where it broadcasts).
void broadcast_strides(const TensorDesc& desc, const TensorDesc& out, int64_t* strides) {
  int64_t own[kMaxRank];
  strides_of(desc, own);
  for (int d = 0; d < out.rank; ++d) {
    const int at = d - (out.rank - desc.rank);
    strides[d] = at < 0 || desc.dims[at] == 1 ? 0 : own[at];
  }
}

// The binary_backward table for the gradient of `target` (a or b).
std::vector<int> binary_gradient_table(const TensorDesc& a, const TensorDesc& b, const TensorDesc& y, const TensorDesc& target) {
  int64_t ys[kMaxRank], as[kMaxRank], bs[kMaxRank], ts[kMaxRank];
  strides_of(y, ys);
  broadcast_strides(a, y, as);
  broadcast_strides(b, y, bs);
  broadcast_strides(target, y, ts);
  std::vector<int> keep(25, 0), reduce(25, 0);
  for (int d = 0; d < y.rank; ++d) {
    std::vector<int>& part = ts[d] != 0 || y.dims[d] == 1 ? keep : reduce;
    const int slot = part[0]++;
    part[1 + slot] = static_cast<int>(y.dims[d]);
    part[7 + slot] = static_cast<int>(ys[d]);
    part[13 + slot] = static_cast<int>(as[d]);
    part[19 + slot] = static_cast<int>(bs[d]);
  }
  keep.insert(keep.end(), reduce.begin(), reduce.end());
  return keep;
}

// [outer, extent, inner] of a softmax or norm axis.
AxisSplit split(const TensorDesc& desc, int axis) { return split_at_axis(desc, axis); }

std::vector<int> conv_geometry(const OpAttrs& attrs, const TensorDesc& x, const TensorDesc& w, const TensorDesc& y) {
  const Conv2dAttrs& a = attrs.conv;
  return {static_cast<int>(x.dims[0]), static_cast<int>(x.dims[1]), static_cast<int>(x.dims[2]), static_cast<int>(x.dims[3]),
          static_cast<int>(y.dims[1]), static_cast<int>(y.dims[2]), static_cast<int>(y.dims[3]), static_cast<int>(w.dims[1]),
          static_cast<int>(w.dims[2]), static_cast<int>(w.dims[3]), static_cast<int>(y.dims[3] / a.groups), a.stride_h,
          a.stride_w, a.pad_top, a.pad_left, a.dilation_h, a.dilation_w};
}

std::vector<int> pool_geometry(const OpAttrs& attrs, const TensorDesc& x, const TensorDesc& y) {
  const Pool2dAttrs& a = attrs.pool;
  return {static_cast<int>(x.dims[0]), static_cast<int>(x.dims[1]), static_cast<int>(x.dims[2]), static_cast<int>(x.dims[3]),
          static_cast<int>(y.dims[1]), static_cast<int>(y.dims[2]), a.kernel_h, a.kernel_w, a.stride_h, a.stride_w,
          a.pad_top, a.pad_left, a.count_include_pad ? 1 : 0};
}

Conv conv_pass(Conv::Pass pass, const OpAttrs& attrs, const TensorView& x, const TensorView& w, const TensorView& y,
               const TensorView& bias) {
  Conv conv;
  conv.pass = pass;
  conv.attrs = attrs.conv;
  conv.x = x, conv.w = w, conv.y = y, conv.bias = bias;
  return conv;
}

int reduction_code(fb::Reduction reduction) {
  return reduction == fb::Reduction::None ? 0 : reduction == fb::Reduction::Sum ? 1 : 2;
}

// MatMul's batch: for output batch j, the A and B matrix indices (NumPy broadcasting).
void matmul_batches(const TensorDesc& a, const TensorDesc& b, const TensorDesc& y, std::vector<int64_t>* ia,
                    std::vector<int64_t>* ib) {
  TensorDesc batch_y = y, batch_a = a, batch_b = b;
  batch_y.rank -= 2;
  batch_a.rank -= 2;
  batch_b.rank -= 2;
  BroadcastIndexer index(batch_y, batch_a, batch_b);
  const int64_t batches = batch_y.num_elements();
  for (int64_t j = 0; j < batches; ++j, index.next()) {
    ia->push_back(index.offset_a());
    ib->push_back(index.offset_b());
  }
}

Status lower_forward(const NodeInfo& node, int index, const PrepareArgs& args, Lowered* p) {
  const TensorView* in = args.inputs;
  const TensorView* out = args.outputs;
  const OpAttrs& attrs = node.attrs;
  const OpType op = node.op->type;
  switch (op) {
    case OpType::Linear: {
      const int64_t k = in[1].desc.dims[1], o = in[1].desc.dims[0];
      const int64_t rows = k ? in[0].desc.num_elements() / k : 0;
      return gemm(p, in[0], in[1], out[0], args.num_inputs > 2 ? &in[2] : nullptr, single(rows, o, k, k, 1, 1, k));
    }
    case OpType::MatMul: {
      const TensorDesc &a = in[0].desc, &b = in[1].desc, &y = out[0].desc;
      const bool ta = attrs.matmul.transpose_a, tb = attrs.matmul.transpose_b;
      const int64_t m = y.dims[y.rank - 2], n = y.dims[y.rank - 1], k = ta ? a.dims[a.rank - 2] : a.dims[a.rank - 1];
      std::vector<int64_t> ia, ib;
      matmul_batches(a, b, y, &ia, &ib);
      Gemm g = single(m, n, k, ta ? 1 : k, ta ? m : 1, tb ? 1 : n, tb ? k : 1);
      g.terms.clear();
      for (size_t j = 0; j < ia.size(); ++j) g.terms.push_back({{ia[j] * m * k, ib[j] * k * n}});
      return gemm(p, in[0], in[1], out[0], nullptr, g);
    }
    case OpType::Conv2D: {
      int geometry = 0;
      PF_RETURN_IF_ERROR(int_table(p, conv_geometry(attrs, in[0].desc, in[1].desc, out[0].desc), &geometry));
      const bool bias = args.num_inputs > 2;
      Kernel call(p, "conv_forward");
      call.tensor(in[0]).tensor(in[1]).tensor(bias ? in[2] : TensorView()).i(bias).tensor(out[0]).table(geometry);
      call.conv(conv_pass(Conv::kForward, attrs, in[0], in[1], out[0], bias ? in[2] : TensorView()));
      return call.launch(out[0].desc.num_elements());
    }
    case OpType::MaxPool2D:
    case OpType::AvgPool2D: {
      int geometry = 0;
      PF_RETURN_IF_ERROR(int_table(p, pool_geometry(attrs, in[0].desc, out[0].desc), &geometry));
      Kernel call(p, "pool_forward");
      call.tensor(in[0]).tensor(out[0]).table(geometry).i(op == OpType::MaxPool2D);
      return call.launch(out[0].desc.num_elements());
    }
    case OpType::GlobalAvgPool: {
      const TensorDesc& x = in[0].desc;
      Kernel call(p, "global_pool_forward");
      call.tensor(in[0]).tensor(out[0]).i(x.dims[0]).i(x.dims[1] * x.dims[2]).i(x.dims[3]);
      return call.launch(x.dims[0] * x.dims[3]);
    }
    case OpType::Relu:
    case OpType::Clamp:
    case OpType::Sigmoid:
    case OpType::Tanh:
    case OpType::Gelu: {
      Kernel call(p, "unary_forward");
      call.tensor(in[0]).tensor(out[0]).i(in[0].desc.num_elements()).i(unary_code(op, attrs));
      call.f(attrs.clamp.min).f(attrs.clamp.max);
      return call.launch(in[0].desc.num_elements());
    }
    case OpType::Add:
    case OpType::Sub:
    case OpType::Mul:
    case OpType::Div: {
      const TensorDesc& y = out[0].desc;
      int64_t as[kMaxRank], bs[kMaxRank];
      broadcast_strides(in[0].desc, y, as);
      broadcast_strides(in[1].desc, y, bs);
      std::vector<int> meta(19, 0);
      meta[0] = y.rank;
      for (int d = 0; d < y.rank; ++d) {
        meta[1 + d] = static_cast<int>(y.dims[d]);
        meta[7 + d] = static_cast<int>(as[d]);
        meta[13 + d] = static_cast<int>(bs[d]);
      }
      int table = 0;
      PF_RETURN_IF_ERROR(int_table(p, meta, &table));
      Kernel call(p, "binary_forward");
      call.tensor(in[0]).tensor(in[1]).tensor(out[0]).table(table).i(y.num_elements()).i(binary_code(op));
      return call.launch(y.num_elements());
    }
    case OpType::Reshape:
    case OpType::Flatten: return copy(p, in[0], out[0]);
    case OpType::Dropout: {
      if (!attrs.dropout.training) return copy(p, in[0], out[0]);
      Kernel call(p, "dropout_mask");
      call.tensor(in[0]).tensor(in[1]).tensor(out[0]).i(in[0].desc.num_elements()).u(attrs.dropout.stream).f(attrs.dropout.ratio);
      return call.launch(in[0].desc.num_elements());
    }
    case OpType::Transpose: {
      const TensorDesc &x = in[0].desc, &y = out[0].desc;
      const int64_t words = static_cast<int64_t>(dtype_size(x.dtype) / 4);
      int64_t xs[kMaxRank];
      strides_of(x, xs);
      // In 4-byte words: an 8-byte element is a trailing dim of 2 that stays in place.
      std::vector<int> meta(13, 0);
      meta[0] = y.rank + (words > 1 ? 1 : 0);
      for (int d = 0; d < y.rank; ++d) {
        meta[1 + d] = static_cast<int>(y.dims[d]);
        meta[7 + d] = static_cast<int>(xs[attrs.transpose.perm[d]] * words);
      }
      if (words > 1) meta[1 + y.rank] = static_cast<int>(words), meta[7 + y.rank] = 1;
      int table = 0;
      PF_RETURN_IF_ERROR(int_table(p, meta, &table));
      Kernel call(p, "transpose_words");
      call.tensor(in[0]).tensor(out[0]).table(table).i(y.num_elements() * words);
      return call.launch(y.num_elements() * words);
    }
    case OpType::Concat: {
      const TensorDesc& y = out[0].desc;
      const AxisSplit s = split(y, attrs.axis.axis);
      const int64_t words = static_cast<int64_t>(dtype_size(y.dtype) / 4);
      int64_t column = 0;
      for (int i = 0; i < args.num_inputs; ++i) {
        const int64_t in_row = in[i].desc.dims[s.axis] * s.inner * words;
        Kernel call(p, "concat_slice");
        call.tensor(in[i]).tensor(out[0]).i(s.outer).i(in_row).i(s.extent * s.inner * words).i(column).i(0);
        PF_RETURN_IF_ERROR(call.launch(s.outer * in_row));
        column += in_row;
      }
      return Status::ok();
    }
    case OpType::Softmax:
    case OpType::LogSoftmax: {
      const AxisSplit s = split(in[0].desc, attrs.axis.axis);
      Kernel call(p, "softmax_forward");
      call.tensor(in[0]).tensor(out[0]).i(s.outer).i(s.extent).i(s.inner).i(op == OpType::LogSoftmax);
      return call.launch(s.outer * s.inner);
    }
    case OpType::BatchNorm: {
      const AxisSplit s = split(in[0].desc, attrs.norm.axis);
      Kernel call(p, "batch_norm_forward");
      call.tensor(in[0]).tensor(in[1]).tensor(in[2]).tensor(in[3]).tensor(in[4]).tensor(out[0]);
      call.i(in[0].desc.num_elements()).i(s.extent).i(s.inner).f(attrs.norm.epsilon);
      return call.launch(in[0].desc.num_elements());
    }
    case OpType::BatchNormTrain: {
      const AxisSplit s = split(in[0].desc, attrs.norm.axis);
      int stats;
      PF_RETURN_IF_ERROR(scratch(p, 2 * s.extent, &stats));
      Kernel call(p, "batch_norm_train_stats");
      call.tensor(in[0]).scratch(stats).tensor(out[1]).tensor(out[2]).i(s.outer).i(s.extent).i(s.inner).f(attrs.norm.epsilon);
      PF_RETURN_IF_ERROR(call.launch(s.extent));
      Kernel apply(p, "batch_norm_train_forward");
      apply.tensor(in[0]).scratch(stats).tensor(in[1]).tensor(in[2]).tensor(out[0]);
      apply.i(in[0].desc.num_elements()).i(s.extent).i(s.inner);
      return apply.launch(in[0].desc.num_elements());
    }
    case OpType::RunningStatsUpdate: {
      Kernel call(p, "running_stats_update");
      call.tensor(in[0]).tensor(in[1]).tensor(in[2]).tensor(in[3]).i(in[0].desc.num_elements()).f(attrs.running_stats.momentum);
      return call.launch(in[0].desc.num_elements());
    }
    case OpType::LayerNorm: {
      const AxisSplit s = split(in[0].desc, attrs.norm.axis);
      const bool gamma = args.num_inputs > 1, beta = args.num_inputs > 2;
      Kernel call(p, "layer_norm_forward");
      call.tensor(in[0]).tensor(gamma ? in[1] : TensorView()).i(gamma).tensor(beta ? in[2] : TensorView()).i(beta);
      call.tensor(out[0]).i(s.outer).i(s.extent * s.inner).f(attrs.norm.epsilon);
      return call.launch(s.outer);
    }
    case OpType::SoftmaxCrossEntropy: {
      const int64_t rows = in[0].desc.dims[0], classes = in[0].desc.dims[1];
      const bool none = attrs.loss.reduction == fb::Reduction::None;
      int losses;
      if (!none) PF_RETURN_IF_ERROR(scratch(p, rows, &losses));
      Kernel call(p, "cross_entropy_rows");
      call.tensor(in[0]).tensor(in[1]).i(in[1].desc.dtype == DType::I64);
      if (none) {
        call.tensor(out[0]);
      } else {
        call.scratch(losses);
      }
      call.i(rows).i(classes).status().i(index);
      PF_RETURN_IF_ERROR(call.launch(rows));
      if (none) return Status::ok();
      const float scale = attrs.loss.reduction == fb::Reduction::Mean && rows ? 1.0f / static_cast<float>(rows) : 1.0f;
      Kernel sum(p, "reduce_sum");
      sum.scratch(losses).tensor(out[0]).i(rows).f(scale).i(0).i(0);
      return sum.launch_group(kReduceGroup);
    }
    case OpType::MseLoss: {
      const int64_t count = in[0].desc.num_elements();
      const bool none = attrs.loss.reduction == fb::Reduction::None;
      int squares;
      if (!none) PF_RETURN_IF_ERROR(scratch(p, count, &squares));
      Kernel call(p, "squared_difference");
      call.tensor(in[0]).tensor(in[1]);
      if (none) {
        call.tensor(out[0]);
      } else {
        call.scratch(squares);
      }
      call.i(count);
      PF_RETURN_IF_ERROR(call.launch(count));
      if (none) return Status::ok();
      const float scale = attrs.loss.reduction == fb::Reduction::Mean && count ? 1.0f / static_cast<float>(count) : 1.0f;
      Kernel sum(p, "reduce_sum");
      sum.scratch(squares).tensor(out[0]).i(count).f(scale).i(0).i(0);
      return sum.launch_group(kReduceGroup);
    }
    case OpType::SgdUpdate: {
      const bool scaled = args.num_inputs > 6;
      Kernel call(p, "sgd_update");
      for (int i = 0; i < 6; ++i) call.tensor(in[i]);
      call.tensor(scaled ? in[6] : TensorView()).i(scaled).i(in[0].desc.num_elements()).i(attrs.sgd.nesterov);
      return call.launch(in[0].desc.num_elements());
    }
    case OpType::AdamUpdate: {
      Kernel check(p, "adam_check_step");
      check.tensor(in[9]).status().i(index);
      PF_RETURN_IF_ERROR(check.launch(1));
      const bool scaled = args.num_inputs > 10;
      Kernel call(p, "adam_update");
      for (int i = 0; i < 10; ++i) call.tensor(in[i]);
      call.tensor(scaled ? in[10] : TensorView()).i(scaled).i(in[0].desc.num_elements()).i(attrs.adam.decoupled_weight_decay);
      return call.launch(in[0].desc.num_elements());
    }
    case OpType::SquaredNorm: {
      for (int i = 0; i < args.num_inputs; ++i) PF_RETURN_IF_ERROR(reduce_sum(p, in[i], out[0], 1.0f, true, i > 0));
      return Status::ok();
    }
    case OpType::ClipScale: {
      int total;
      PF_RETURN_IF_ERROR(scratch(p, 1, &total));
      for (int i = 1; i < args.num_inputs; ++i) {
        Kernel add(p, "add_scalar");
        add.tensor(in[i]).scratch(total).i(i == 1);
        PF_RETURN_IF_ERROR(add.launch(1));
      }
      Kernel call(p, "clip_scale_forward");
      call.tensor(in[0]).scratch(total).tensor(out[0]);
      return call.launch(1);
    }
  }
  return Status::error(Error::kUnsupported, "the GPU backends have no kernel for %s", node.op->name);
}

Status lower_backward(const NodeInfo& node, int index, const PrepareArgs& args, Lowered* p) {
  const int forward_inputs = node.num_forward_inputs;
  const int forward_outputs = node.op->num_outputs;
  const TensorView* in = args.inputs;
  const TensorView* out = args.inputs + forward_inputs;
  const TensorView* dout = out + forward_outputs;
  const TensorView* grad = args.outputs;
  const auto wanted = [&](int i) { return i < args.num_outputs && grad[i].data != nullptr; };
  const OpAttrs& attrs = node.attrs;
  const OpType op = node.op->type;
  switch (op) {
    case OpType::Linear: {
      const int64_t k = in[1].desc.dims[1], o = in[1].desc.dims[0];
      const int64_t rows = k ? in[0].desc.num_elements() / k : 0;
      if (wanted(0)) PF_RETURN_IF_ERROR(gemm(p, dout[0], in[1], grad[0], nullptr, single(rows, k, o, o, 1, k, 1)));
      if (wanted(1)) PF_RETURN_IF_ERROR(gemm(p, dout[0], in[0], grad[1], nullptr, single(o, k, rows, 1, o, k, 1)));
      if (wanted(2)) PF_RETURN_IF_ERROR(column_sums(p, dout[0], grad[2], rows, o));
      return Status::ok();
    }
    case OpType::MatMul: {
      const TensorDesc &a = in[0].desc, &b = in[1].desc, &y = out[0].desc;
      const bool ta = attrs.matmul.transpose_a, tb = attrs.matmul.transpose_b;
      const int64_t m = y.dims[y.rank - 2], n = y.dims[y.rank - 1], k = ta ? a.dims[a.rank - 2] : a.dims[a.rank - 1];
      std::vector<int64_t> ia, ib;
      matmul_batches(a, b, y, &ia, &ib);
      if (wanted(0)) {
        // dA' = dY B'^T, summed over the batches that read the same A.
        TensorDesc batch_a = a;
        batch_a.rank -= 2;
        Gemm g;
        g.terms.assign(static_cast<size_t>(batch_a.num_elements()), {});
        if (!ta) {  // dA [m, k]: dY (m x n) times B'^T (n x k)
          g = single(m, k, n, n, 1, tb ? k : 1, tb ? 1 : n);
          g.terms.assign(static_cast<size_t>(batch_a.num_elements()), {});
          for (size_t j = 0; j < ia.size(); ++j) g.terms[static_cast<size_t>(ia[j])].push_back({static_cast<int64_t>(j) * m * n, ib[j] * k * n});
          PF_RETURN_IF_ERROR(gemm(p, dout[0], in[1], grad[0], nullptr, g));
        } else {  // dA stored [k, m]: B' (k x n) times dY^T (n x m)
          g = single(k, m, n, tb ? 1 : n, tb ? k : 1, 1, n);
          g.terms.assign(static_cast<size_t>(batch_a.num_elements()), {});
          for (size_t j = 0; j < ia.size(); ++j) g.terms[static_cast<size_t>(ia[j])].push_back({ib[j] * k * n, static_cast<int64_t>(j) * m * n});
          PF_RETURN_IF_ERROR(gemm(p, in[1], dout[0], grad[0], nullptr, g));
        }
      }
      if (wanted(1)) {
        TensorDesc batch_b = b;
        batch_b.rank -= 2;
        Gemm g;
        if (!tb) {  // dB [k, n]: A'^T (k x m) times dY (m x n)
          g = single(k, n, m, ta ? m : 1, ta ? 1 : k, n, 1);
          g.terms.assign(static_cast<size_t>(batch_b.num_elements()), {});
          for (size_t j = 0; j < ib.size(); ++j) g.terms[static_cast<size_t>(ib[j])].push_back({ia[j] * m * k, static_cast<int64_t>(j) * m * n});
          PF_RETURN_IF_ERROR(gemm(p, in[0], dout[0], grad[1], nullptr, g));
        } else {  // dB stored [n, k]: dY^T (n x m) times A' (m x k)
          g = single(n, k, m, 1, n, ta ? 1 : k, ta ? m : 1);
          g.terms.assign(static_cast<size_t>(batch_b.num_elements()), {});
          for (size_t j = 0; j < ib.size(); ++j) g.terms[static_cast<size_t>(ib[j])].push_back({static_cast<int64_t>(j) * m * n, ia[j] * m * k});
          PF_RETURN_IF_ERROR(gemm(p, dout[0], in[0], grad[1], nullptr, g));
        }
      }
      return Status::ok();
    }
    case OpType::Conv2D: {
      int geometry = 0;
      PF_RETURN_IF_ERROR(int_table(p, conv_geometry(attrs, in[0].desc, in[1].desc, out[0].desc), &geometry));
      if (wanted(0)) {
        Kernel call(p, "conv_backward_input");
        call.tensor(in[1]).tensor(dout[0]).tensor(grad[0]).table(geometry);
        call.conv(conv_pass(Conv::kBackwardInput, attrs, grad[0], in[1], dout[0], TensorView()));
        PF_RETURN_IF_ERROR(call.launch(in[0].desc.num_elements()));
      }
      if (wanted(1)) {
        Kernel call(p, "conv_backward_weight");
        call.tensor(in[0]).tensor(dout[0]).tensor(grad[1]).table(geometry);
        call.conv(conv_pass(Conv::kBackwardWeight, attrs, in[0], grad[1], dout[0], TensorView()));
        PF_RETURN_IF_ERROR(call.launch(in[1].desc.num_elements()));
      }
      if (wanted(2)) {
        const TensorDesc& y = out[0].desc;
        PF_RETURN_IF_ERROR(column_sums(p, dout[0], grad[2], y.dims[0] * y.dims[1] * y.dims[2], y.dims[3]));
      }
      return Status::ok();
    }
    case OpType::MaxPool2D:
    case OpType::AvgPool2D: {
      if (!wanted(0)) return Status::ok();
      int geometry = 0;
      PF_RETURN_IF_ERROR(int_table(p, pool_geometry(attrs, in[0].desc, out[0].desc), &geometry));
      Kernel call(p, "pool_backward");
      call.tensor(in[0]).tensor(dout[0]).tensor(grad[0]).table(geometry).i(op == OpType::MaxPool2D);
      return call.launch(in[0].desc.num_elements());
    }
    case OpType::GlobalAvgPool: {
      if (!wanted(0)) return Status::ok();
      const TensorDesc& x = in[0].desc;
      Kernel call(p, "global_pool_backward");
      call.tensor(dout[0]).tensor(grad[0]).i(x.dims[0]).i(x.dims[1] * x.dims[2]).i(x.dims[3]);
      return call.launch(x.num_elements());
    }
    case OpType::Relu:
    case OpType::Clamp:
    case OpType::Sigmoid:
    case OpType::Tanh:
    case OpType::Gelu: {
      if (!wanted(0)) return Status::ok();
      Kernel call(p, "unary_backward");
      call.tensor(in[0]).tensor(out[0]).tensor(dout[0]).tensor(grad[0]).i(in[0].desc.num_elements()).i(unary_code(op, attrs));
      call.f(attrs.clamp.min).f(attrs.clamp.max);
      return call.launch(in[0].desc.num_elements());
    }
    case OpType::Add:
    case OpType::Sub:
    case OpType::Mul:
    case OpType::Div: {
      for (int which = 0; which < 2; ++which) {
        if (!wanted(which)) continue;
        int table = 0;
        PF_RETURN_IF_ERROR(int_table(p, binary_gradient_table(in[0].desc, in[1].desc, out[0].desc, in[which].desc), &table));
        Kernel call(p, "binary_backward");
        call.tensor(in[0]).tensor(in[1]).tensor(dout[0]).tensor(grad[which]).table(table);
        call.i(in[which].desc.num_elements()).i(binary_code(op)).i(which);
        PF_RETURN_IF_ERROR(call.launch(in[which].desc.num_elements()));
      }
      return Status::ok();
    }
    case OpType::Reshape:
    case OpType::Flatten: return wanted(0) ? copy(p, dout[0], grad[0]) : Status::ok();
    case OpType::Dropout: {
      if (!wanted(0)) return Status::ok();
      if (!attrs.dropout.training) return copy(p, dout[0], grad[0]);
      Kernel call(p, "dropout_mask");
      call.tensor(dout[0]).tensor(in[1]).tensor(grad[0]).i(in[0].desc.num_elements()).u(attrs.dropout.stream).f(attrs.dropout.ratio);
      return call.launch(in[0].desc.num_elements());
    }
    case OpType::Transpose: {
      if (!wanted(0)) return Status::ok();
      // dx = dy transposed back: x's element at coordinates c is dy's at c[perm[d]] along d.
      const TensorDesc &x = in[0].desc, &y = out[0].desc;
      int64_t ys[kMaxRank];
      strides_of(y, ys);
      int inverse[kMaxRank] = {0};
      for (int d = 0; d < y.rank; ++d) inverse[attrs.transpose.perm[d]] = d;
      std::vector<int> meta(13, 0);
      meta[0] = x.rank;
      for (int e = 0; e < x.rank; ++e) {
        meta[1 + e] = static_cast<int>(x.dims[e]);
        meta[7 + e] = static_cast<int>(ys[inverse[e]]);
      }
      int table = 0;
      PF_RETURN_IF_ERROR(int_table(p, meta, &table));
      Kernel call(p, "transpose_words");
      call.tensor(dout[0]).tensor(grad[0]).table(table).i(x.num_elements());
      return call.launch(x.num_elements());
    }
    case OpType::Concat: {
      const TensorDesc& y = out[0].desc;
      const AxisSplit s = split(y, attrs.axis.axis);
      int64_t column = 0;
      for (int i = 0; i < forward_inputs; ++i) {
        const int64_t in_row = in[i].desc.dims[s.axis] * s.inner;
        if (wanted(i)) {
          Kernel call(p, "concat_slice");
          call.tensor(grad[i]).tensor(dout[0]).i(s.outer).i(in_row).i(s.extent * s.inner).i(column).i(1);
          PF_RETURN_IF_ERROR(call.launch(s.outer * in_row));
        }
        column += in_row;
      }
      return Status::ok();
    }
    case OpType::Softmax:
    case OpType::LogSoftmax: {
      if (!wanted(0)) return Status::ok();
      const AxisSplit s = split(in[0].desc, attrs.axis.axis);
      Kernel call(p, "softmax_backward");
      call.tensor(out[0]).tensor(dout[0]).tensor(grad[0]).i(s.outer).i(s.extent).i(s.inner).i(op == OpType::LogSoftmax);
      return call.launch(s.outer * s.inner);
    }
    case OpType::BatchNorm: {
      const AxisSplit s = split(in[0].desc, attrs.norm.axis);
      int bits = 0;
      for (int i = 1; i <= 4; ++i) bits |= wanted(i) ? 1 << i : 0;
      if (bits) {
        Kernel call(p, "batch_norm_backward_channels");
        call.tensor(in[0]).tensor(in[1]).tensor(in[3]).tensor(in[4]).tensor(dout[0]);
        for (int i = 1; i <= 4; ++i) call.tensor(wanted(i) ? grad[i] : TensorView());
        call.i(bits).i(s.outer).i(s.extent).i(s.inner).f(attrs.norm.epsilon);
        PF_RETURN_IF_ERROR(call.launch(s.extent));
      }
      if (!wanted(0)) return Status::ok();
      Kernel call(p, "batch_norm_backward_input");
      call.tensor(in[1]).tensor(in[4]).tensor(dout[0]).tensor(grad[0]).i(in[0].desc.num_elements()).i(s.extent).i(s.inner);
      call.f(attrs.norm.epsilon);
      return call.launch(in[0].desc.num_elements());
    }
    case OpType::BatchNormTrain: {
      const AxisSplit s = split(in[0].desc, attrs.norm.axis);
      int sums;
      PF_RETURN_IF_ERROR(scratch(p, 4 * s.extent, &sums));
      const int bits = (wanted(1) ? 2 : 0) | (wanted(2) ? 4 : 0);
      Kernel call(p, "batch_norm_train_backward_channels");
      call.tensor(in[0]).tensor(in[1]).tensor(dout[0]).scratch(sums).tensor(wanted(1) ? grad[1] : TensorView());
      call.tensor(wanted(2) ? grad[2] : TensorView()).i(bits).i(s.outer).i(s.extent).i(s.inner).f(attrs.norm.epsilon);
      PF_RETURN_IF_ERROR(call.launch(s.extent));
      if (!wanted(0)) return Status::ok();
      Kernel input(p, "batch_norm_train_backward_input");
      input.tensor(in[0]).tensor(in[1]).tensor(dout[0]).tensor(dout[1]).tensor(dout[2]).scratch(sums).tensor(grad[0]);
      input.i(in[0].desc.num_elements()).i(s.extent).i(s.inner);
      return input.launch(in[0].desc.num_elements());
    }
    case OpType::LayerNorm: {
      const AxisSplit s = split(in[0].desc, attrs.norm.axis);
      const bool gamma = forward_inputs > 1;
      int stats;
      PF_RETURN_IF_ERROR(scratch(p, 2 * s.outer, &stats));
      Kernel rows(p, "layer_norm_backward_rows");
      rows.tensor(in[0]).tensor(gamma ? in[1] : TensorView()).i(gamma).tensor(dout[0]).tensor(wanted(0) ? grad[0] : TensorView());
      rows.i(wanted(0)).scratch(stats).i(s.outer).i(s.extent * s.inner).f(attrs.norm.epsilon);
      PF_RETURN_IF_ERROR(rows.launch(s.outer));
      if (!wanted(1) && !wanted(2)) return Status::ok();
      Kernel params(p, "layer_norm_backward_params");
      params.tensor(in[0]).tensor(dout[0]).scratch(stats).tensor(wanted(1) ? grad[1] : TensorView()).i(wanted(1));
      params.tensor(wanted(2) ? grad[2] : TensorView()).i(wanted(2)).i(s.outer).i(s.extent * s.inner);
      return params.launch(s.extent * s.inner);
    }
    case OpType::SoftmaxCrossEntropy: {
      if (!wanted(0)) return Status::ok();
      const int64_t rows = in[0].desc.dims[0], classes = in[0].desc.dims[1];
      Kernel call(p, "cross_entropy_backward");
      call.tensor(in[0]).tensor(in[1]).i(in[1].desc.dtype == DType::I64).tensor(dout[0]).tensor(grad[0]).i(rows).i(classes);
      call.i(reduction_code(attrs.loss.reduction)).status().i(index);
      return call.launch(rows);
    }
    case OpType::MseLoss: {
      if (!wanted(0) && !wanted(1)) return Status::ok();
      Kernel call(p, "mse_backward");
      call.tensor(in[0]).tensor(in[1]).tensor(dout[0]).tensor(wanted(0) ? grad[0] : TensorView()).i(wanted(0));
      call.tensor(wanted(1) ? grad[1] : TensorView()).i(wanted(1)).i(in[0].desc.num_elements());
      call.i(reduction_code(attrs.loss.reduction));
      return call.launch(in[0].desc.num_elements());
    }
    case OpType::SquaredNorm: {
      for (int i = 0; i < forward_inputs; ++i) {
        if (!wanted(i)) continue;
        Kernel call(p, "squared_norm_backward");
        call.tensor(in[i]).tensor(dout[0]).tensor(grad[i]).i(in[i].desc.num_elements());
        PF_RETURN_IF_ERROR(call.launch(in[i].desc.num_elements()));
      }
      return Status::ok();
    }
    case OpType::ClipScale: {
      int total;
      PF_RETURN_IF_ERROR(scratch(p, 1, &total));
      for (int i = 1; i < forward_inputs; ++i) {
        Kernel add(p, "add_scalar");
        add.tensor(in[i]).scratch(total).i(i == 1);
        PF_RETURN_IF_ERROR(add.launch(1));
      }
      for (int i = 0; i < forward_inputs; ++i) {
        if (!wanted(i)) continue;
        Kernel call(p, "clip_scale_backward");
        call.tensor(in[0]).scratch(total).tensor(dout[0]).tensor(grad[i]).i(i);
        PF_RETURN_IF_ERROR(call.launch(1));
      }
      return Status::ok();
    }
    case OpType::SgdUpdate:
    case OpType::AdamUpdate:
    case OpType::RunningStatsUpdate: break;
  }
  return Status::error(Error::kUnsupported, "the GPU backends have no backward kernel for %s", node.op->name);
}

bool small_enough(const TensorDesc& desc) { return desc.num_elements() < (int64_t{1} << 31); }

}  // namespace

bool supports(const Model& model, const NodeInfo& node) {
  if (node.op == nullptr || (node.backward && node.op->backward == nullptr)) return false;
  const auto& tensors = model.tensors();
  for (int t : node.inputs) {
    if (!small_enough(tensors[static_cast<size_t>(t)].desc)) return false;
  }
  for (int t : node.outputs) {
    if (!small_enough(tensors[static_cast<size_t>(t)].desc)) return false;
  }
  const TensorDesc& first = tensors[static_cast<size_t>(node.inputs[0])].desc;
  switch (node.op->type) {
    case OpType::Reshape:
    case OpType::Flatten: return !node.backward || first.dtype == DType::F32;
    case OpType::Transpose:  // 4-byte words: an 8-byte element takes a dim of its own
      return node.backward ? first.dtype == DType::F32 : dtype_size(first.dtype) == 4 || (dtype_size(first.dtype) == 8 && first.rank < kMaxRank);
    case OpType::Concat: return node.backward ? first.dtype == DType::F32 : dtype_size(first.dtype) % 4 == 0;
    case OpType::Dropout:
    case OpType::SoftmaxCrossEntropy: return first.dtype == DType::F32;
    default: return all_f32(model, node);
  }
}


Status flagged_error(const int* words, int* node) {
  *node = words[0] == 0 ? -1 : words[1];
  switch (words[0]) {
    case 0: return Status::ok();
    case 1: return Status::error(Error::kInvalidArgument, "label %d in row %d is outside [0, %d)", words[3], words[2], words[4]);
    case 2: return Status::error(Error::kInvalidArgument, "step must be >= 1 (Adam's bias correction), got %d", words[3]);
    default: return Status::error(Error::kInternal, "a kernel flagged an unknown error code %d", words[0]);
  }
}

Status lower(const NodeInfo& node, int index, const PrepareArgs& args, Lowered* out) {
  return node.backward ? lower_backward(node, index, args, out) : lower_forward(node, index, args, out);
}

}  // namespace gpu
}  // namespace preflight
