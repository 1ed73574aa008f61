// The GPU backends' lowering (lowering.h): the table of every op's lowering, derived from the op
// list, the rules they share, and the step builders of lower.h. Each op's own lowering is in
// runtime/backends/gpu/ops/<op>.cc (docs/adding-an-op.md).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

const OpLowering* lowering_of(OpType type) {
  switch (type) {
#define PF_LOWERING_OF(name, value) \
  case OpType::name: return &op_lowering<OpType::name>();
    PREFLIGHT_OP_LIST(PF_LOWERING_OF)
#undef PF_LOWERING_OF
  }
  return nullptr;
}

bool small_enough(const TensorDesc& desc) { return desc.num_elements() < (int64_t{1} << 31); }

}  // namespace

const TensorDesc& first_input(const Model& model, const NodeInfo& node) {
  return model.tensors()[static_cast<size_t>(node.inputs[0])].desc;
}

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

bool supports(const Model& model, const NodeInfo& node) {
  if (node.op == nullptr || (node.backward && node.op->backward == nullptr)) return false;
  const OpLowering* lowering = lowering_of(node.op->type);
  if (lowering == nullptr || (node.backward ? lowering->backward : lowering->forward) == nullptr) return false;
  const auto& tensors = model.tensors();
  for (int t : node.inputs) {
    if (!small_enough(tensors[static_cast<size_t>(t)].desc)) return false;
  }
  for (int t : node.outputs) {
    if (!small_enough(tensors[static_cast<size_t>(t)].desc)) return false;
  }
  return lowering->supports ? lowering->supports(model, node) : all_f32(model, node);
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
  const OpLowering* lowering = lowering_of(node.op->type);
  GpuNode n{node.op->type, node.attrs};
  n.index = index;
  n.in = args.inputs;
  if (!node.backward) {
    n.num_inputs = args.num_inputs;
    n.out = args.outputs;
    if (lowering == nullptr || lowering->forward == nullptr) {
      return Status::error(Error::kUnsupported, "the GPU backends have no kernel for %s", node.op->name);
    }
    return lowering->forward(n, out);
  }
  n.num_inputs = node.num_forward_inputs;
  n.out = args.inputs + node.num_forward_inputs;
  n.dout = n.out + node.op->num_outputs;
  n.grad = args.outputs;
  n.num_grads = args.num_outputs;
  if (lowering == nullptr || lowering->backward == nullptr) {
    return Status::error(Error::kUnsupported, "the GPU backends have no backward kernel for %s", node.op->name);
  }
  return lowering->backward(n, out);
}

}  // namespace gpu
}  // namespace preflight
