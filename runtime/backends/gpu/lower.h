// What the GPU lowering files share (runtime/backends/gpu/ops/<op>.cc): the node as the lowering
// sees it, the table entry each op gives, and the builders of the steps of lowering.h. An op's
// GPU code lives in two files named after its file in ops/: ops/<op>.cc (its lowering, forward
// beside backward, and the entry `op_lowering<OpType::Name>()`) and ops/<op>.cl (its kernels,
// which CMake joins after kernels_common.cl into the one source both GPU backends build).
#pragma once

#include <utility>
#include <vector>

#include "runtime/backends/gpu/lowering.h"

namespace preflight {
namespace gpu {

constexpr int kReduceGroup = 64;  // kernels_common.cl's REDUCE_GROUP

// A node as its lowering sees it. Forward: `in` (num_inputs) and `out`. Backward: `in` (the
// forward inputs, num_inputs), `out` (the forward outputs), `dout` (their gradients) and `grad`
// (one view per forward input; wanted(i) says whether gradient i is asked for).
struct GpuNode {
  OpType op = OpType::Linear;
  const OpAttrs& attrs;
  int index = 0;  // the node's index in the model, for the errors a kernel flags
  const TensorView* in = nullptr;
  int num_inputs = 0;
  const TensorView* out = nullptr;
  const TensorView* dout = nullptr;
  const TensorView* grad = nullptr;
  int num_grads = 0;

  bool wanted(int i) const { return i < num_grads && grad[i].data != nullptr; }
};

using LowerFn = Status (*)(const GpuNode& node, Lowered* p);

// One op on the GPU backends, by named fields (ops/<op>.cc):
//   constexpr OpLowering kUnary = [] {
//     OpLowering l;
//     l.forward = unary_forward;
//     l.backward = unary_backward;
//     return l;
//   }();
//   template <>
//   const OpLowering& op_lowering<OpType::Relu>() { return kUnary; }
struct OpLowering {
  LowerFn forward = nullptr;
  LowerFn backward = nullptr;  // null: the op has no backward (optimizer updates)
  // Whether the GPU backends run this node beyond the common rules (tensors under 2^31
  // elements); null: when every input and output is float32.
  bool (*supports)(const Model& model, const NodeInfo& node) = nullptr;
};

// Every op of the list has one, defined in its ops/<op>.cc: an op without one is a link error,
// not a node that falls through a switch at run time.
template <OpType T>
const OpLowering& op_lowering();
#define PF_DECLARE_OP_LOWERING(name, value) \
  template <>                               \
  const OpLowering& op_lowering<OpType::name>();
PREFLIGHT_OP_LIST(PF_DECLARE_OP_LOWERING)
#undef PF_DECLARE_OP_LOWERING

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

// The node's first input (the dtype rules of `supports`).
const TensorDesc& first_input(const Model& model, const NodeInfo& node);

// Row-major strides of a shape.
void strides_of(const TensorDesc& desc, int64_t* strides);
// C = a b (+ bias) as a Gemm step (lowering.h); none when M or N is 0.
Status gemm(Lowered* p, const TensorView& a, const TensorView& b, const TensorView& c, const TensorView* bias, Gemm g);
// One matrix product of one term.
Gemm single(int64_t M, int64_t N, int64_t K, int64_t a_sm, int64_t a_sk, int64_t b_sk, int64_t b_sn);
// y[c] = sum over rows of x[r, c].
Status column_sums(Lowered* p, const TensorView& x, const TensorView& y, int64_t rows, int64_t cols);
// y[0] = (accumulate ? y[0] : 0) + scale * sum of x (of its squares when square).
Status reduce_sum(Lowered* p, const TensorView& x, const TensorView& y, float scale, bool square, bool accumulate);
// A scratch buffer of `count` floats of the node's own, addressed like a tensor: its index.
Status scratch(Lowered* p, int64_t count, int* out);
// An int table of the node's own (shapes, strides): its index.
Status int_table(Lowered* p, std::vector<int> values, int* out);
// to's bytes from from (a buffer copy, no kernel); none when empty.
Status copy(Lowered* p, const TensorView& from, const TensorView& to);
// [outer, extent, inner] of a softmax or norm axis.
inline AxisSplit split(const TensorDesc& desc, int axis) { return split_at_axis(desc, axis); }

}  // namespace gpu
}  // namespace preflight
