// What every op provides: attributes, shape inference with validation, a reference forward kernel.
//
// An op is described by an OpDef (see ops/registry.h). Its `infer` function runs at load time and in
// the graph builder: it checks arity-independent facts (dtypes, ranks, attribute values) and computes
// the output descriptions. Its `forward` function runs on the run path: it never allocates, never
// fails on shapes, and trusts what `infer` checked (TFLite Micro's Prepare/Eval split).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "ops/op_list.h"
#include "runtime/status.h"
#include "schemas/model_generated.h"

namespace preflight {

using fb::DType;
using fb::OpType;

constexpr int kMaxRank = 6;
// Bounds on a node's arity across all ops: callers size stack arrays of descriptions with these.
constexpr int kMaxNodeInputs = 64;
constexpr int kMaxNodeOutputs = 4;

// Bytes per element of a dtype; 0 for a value outside the enum.
size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

struct TensorDesc {
  DType dtype = DType::F32;
  int rank = 0;
  int64_t dims[kMaxRank] = {0};

  int64_t num_elements() const;  // callers have checked that the product does not overflow
  size_t num_bytes() const { return static_cast<size_t>(num_elements()) * dtype_size(dtype); }
  bool same_shape(const TensorDesc& other) const;
  bool operator==(const TensorDesc& other) const { return dtype == other.dtype && same_shape(other); }
  bool operator!=(const TensorDesc& other) const { return !(*this == other); }
};

// Formats "f32[2,3,4]" into buffer; returns buffer. Used in error messages.
const char* describe(const TensorDesc& desc, char* buffer, size_t capacity);

// Builds a desc from a list of dims: make_desc(DType::F32, {1, 8, 8, 1}).
TensorDesc make_desc(DType dtype, std::initializer_list<int64_t> dims);

struct TensorView {
  TensorDesc desc;
  void* data = nullptr;

  float* f32() const { return static_cast<float*>(data); }
  template <typename T>
  T* as() const { return static_cast<T*>(data); }
};

// Attribute families, one per table of the schema's Attrs union. Defaults equal the schema's.
struct MatMulAttrs { bool transpose_a = false; bool transpose_b = false; };
struct Conv2dAttrs {
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int dilation_h = 1, dilation_w = 1;
  int groups = 1;
};
struct Pool2dAttrs {
  int kernel_h = 0, kernel_w = 0;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool count_include_pad = false;
};
struct GlobalPoolAttrs { bool keep_dims = false; };
struct ClampAttrs { float min = 0.0f; float max = 0.0f; };
struct GeluAttrs { bool tanh_approximation = false; };
struct AxisAttrs { int axis = 0; };
struct ReshapeAttrs { int rank = 0; int64_t shape[kMaxRank] = {0}; };
struct TransposeAttrs { int rank = 0; int perm[kMaxRank] = {0}; };
struct NormAttrs { int axis = -1; float epsilon = 1e-5f; };
struct DropoutAttrs { float ratio = 0.5f; bool training = false; uint32_t stream = 0; };
struct RunningStatsAttrs { float momentum = 0.1f; };
struct LossAttrs { fb::Reduction reduction = fb::Reduction::Mean; };
struct SgdAttrs { bool nesterov = false; };
struct AdamAttrs { bool decoupled_weight_decay = false; };

// The attributes of one node. `kind` names the family that is set; an op reads only its own family.
struct OpAttrs {
  fb::Attrs kind = fb::Attrs::NONE;
  MatMulAttrs matmul;
  Conv2dAttrs conv;
  Pool2dAttrs pool;
  GlobalPoolAttrs global_pool;
  ClampAttrs clamp;
  GeluAttrs gelu;
  AxisAttrs axis;
  ReshapeAttrs reshape;
  TransposeAttrs transpose;
  NormAttrs norm;
  DropoutAttrs dropout;
  LossAttrs loss;
  SgdAttrs sgd;
  AdamAttrs adam;
  RunningStatsAttrs running_stats;
};

// Validates attributes and inputs, writes the output descriptions. Messages name the input index
// and expected vs actual; the caller prefixes the node and op.
using InferFn = Status (*)(const OpAttrs& attrs, const TensorDesc* inputs, int num_inputs,
                           TensorDesc* outputs);
// Reference forward kernel. Never allocates; `infer` has accepted these shapes, so it fails only on
// data that no shape check can see (a class label out of range), with a message naming the row.
using ForwardFn = Status (*)(const OpAttrs& attrs, const TensorView* inputs, int num_inputs,
                           TensorView* outputs);

// Reference backward kernel, llm.c style: from the forward inputs and outputs and the gradient of
// the loss with respect to each output, it *accumulates* (+=) the gradient with respect to each
// input i whose input_grads[i].data is non-null (zeroing is a separate step, so a tensor used
// twice sums both contributions). Gradients are f32 and have their input's shape. Never allocates.
using BackwardFn = Status (*)(const OpAttrs& attrs, const TensorView* inputs, int num_inputs,
                              const TensorView* outputs, const TensorView* output_grads,
                              TensorView* input_grads);

// An op's backward kernel as its OpDef names it: the kernel, or null in an inference-only device
// library (CMake PREFLIGHT_TRAINING=OFF, embedded profile), where nothing then references the
// backward kernels and the linker drops them; the loader refuses backward nodes there.
#ifdef PREFLIGHT_NO_TRAINING
#define PF_BACKWARD(kernel) (static_cast<void>(kernel), nullptr)  // named (not unused), never referenced
#else
#define PF_BACKWARD(kernel) kernel
#endif

// Every op of the schema, in enum order: PREFLIGHT_OP_LIST(X) calls X(Name, value) for each
// (generated by CMake from the OpType enum of schemas/model.fbs, the one place an op is declared).
constexpr int kNumOps = PREFLIGHT_NUM_OPS;
inline constexpr const char* kOpNames[kNumOps] = {
#define PF_OP_NAME(name, value) #name,
    PREFLIGHT_OP_LIST(PF_OP_NAME)
#undef PF_OP_NAME
};

// What an op is, by named fields; an op file fills the ones that differ from these defaults:
//   template <>
//   const OpDef& op_def<OpType::Relu>() {
//     static constexpr OpDef def = [] {
//       OpDef d(OpType::Relu);
//       d.infer = infer_same_f32;
//       ...
//       return d;
//     }();
//     return def;
//   }
struct OpDef {
  OpType type;
  const char* name;     // the schema's name of the op
  int min_inputs = 1;
  int max_inputs = 1;
  int num_outputs = 1;
  fb::Attrs attrs_kind = fb::Attrs::NONE;  // the union member this op reads; NONE when it has no attributes
  bool attrs_required = false;             // false: a node may leave attrs out and get the defaults
  InferFn infer = nullptr;
  ForwardFn forward = nullptr;
  BackwardFn backward = nullptr;  // nullptr for ops that are not differentiated (optimizer updates)
  int num_updated_inputs = 0;     // optimizer updates: the first N inputs are written in place

  constexpr explicit OpDef(OpType op) : type(op), name(kOpNames[static_cast<int>(op)]) {}
};

// The definition of op T, in the op's own file (ops/<op>.cc).
template <OpType T>
const OpDef& op_def();
#define PF_DECLARE_OP_DEF(name, value) \
  template <>                          \
  const OpDef& op_def<OpType::name>();
PREFLIGHT_OP_LIST(PF_DECLARE_OP_DEF)
#undef PF_DECLARE_OP_DEF

// The forward kernel of ops that pass their input's bytes through unchanged (Reshape, Flatten,
// Dropout at inference): copies input 0 to output 0.
Status copy_input_forward(const OpAttrs& attrs, const TensorView* inputs, int num_inputs, TensorView* outputs);

// Its backward: dx += dy, element by element (the bytes were passed through unchanged).
Status copy_input_backward(const OpAttrs& attrs, const TensorView* inputs, int num_inputs, const TensorView* outputs,
                           const TensorView* output_grads, TensorView* input_grads);

// A tensor seen as [outer, extent, inner] around one axis (possibly negative, already checked by
// infer): outer multiplies the dims before it, extent is its dim, inner multiplies the dims after.
struct AxisSplit {
  int axis = 0;
  int64_t outer = 1, extent = 1, inner = 1;
};
AxisSplit split_at_axis(const TensorDesc& desc, int axis);

// Normalises a possibly negative axis into [0, rank); false when out of range.
bool normalize_axis(int axis, int rank, int* normalized);

// The largest of x[0], x[stride], ..., x[(n - 1) * stride]; NaNs are skipped, -inf when there is
// none (softmax's and cross-entropy's shift). A comparison, not std::fmax: the same value, and
// aarch64 g++ 12 at -O3 crashes (an internal compiler error) vectorizing an fmax reduction.
inline float max_along(const float* x, int64_t n, int64_t stride) {
  float max_value = -__builtin_inff();
  for (int64_t k = 0; k < n; ++k) {
    if (x[k * stride] > max_value) max_value = x[k * stride];
  }
  return max_value;
}

// Checked arithmetic for sizes that come from untrusted files.
bool checked_mul(int64_t a, int64_t b, int64_t* out);
bool checked_add(int64_t a, int64_t b, int64_t* out);

}  // namespace preflight

#define PF_CHECK_DTYPE(desc, expected, index)                                              \
  PF_CHECK((desc).dtype == (expected), ::preflight::Error::kInvalidModel,                  \
           "input %d: expected dtype %s, got %s", (index), ::preflight::dtype_name(expected), \
           ::preflight::dtype_name((desc).dtype))

#define PF_CHECK_RANK(desc, expected, index)                                                \
  PF_CHECK((desc).rank == (expected), ::preflight::Error::kInvalidModel,                    \
           "input %d: expected rank %d, got rank %d", (index), (expected), (desc).rank)
