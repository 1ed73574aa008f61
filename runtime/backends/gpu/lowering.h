// What the GPU backends share: the lowering of a node (forward or backward) to the GPU kernels
// (kernels_common.cl and ops/<op>.cl here), as data; each op's lowering is in ops/<op>.cc here
// (lower.h). A backend turns the steps into its own launches: OpenCL sets kernel arguments; CUDA fills argument buffers for cudaLaunchKernel and runs the
// matrix products on cuBLAS and the convolutions on cuDNN (docs/gpu.md). One lowering, so the
// OpenCL tests on PoCL in CI check the argument lists the CUDA backend passes.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/backend.h"

namespace preflight {
namespace gpu {

// One kernel argument.
struct Arg {
  enum Kind : uint8_t { kTensor, kTable, kScratch, kInt, kUint, kFloat, kStatus };
  Kind kind = kInt;
  TensorView view;  // kTensor: a buffer and byte offset; data null: absent (the kernel is told not to touch it)
  int index = 0;    // kTable, kScratch: which of the node's own buffers (offset 0)
  int64_t i = 0;    // kInt (passed as a 32-bit int), kUint
  float f = 0.0f;   // kFloat
};

// C[j] = sum over the terms (A offset, B offset) of matrix j of A B, plus bias[n] (optional);
// A(m, k) = a[m * a_sm + k * a_sk], B(k, n) = b[k * b_sk + n * b_sn], C(m, n) = c[j * M * N + m * N + n]
// (offsets and strides in elements). One of each operand's two strides is 1.
struct Gemm {
  int64_t M = 0, N = 0, K = 0;
  int64_t a_sm = 0, a_sk = 0, b_sk = 0, b_sn = 0;
  std::vector<std::vector<std::pair<int64_t, int64_t>>> terms;
  TensorView a, b, c, bias;
};

// A convolution pass, for a backend that has a library for them (cuDNN): the step's kernel
// computes the same.
struct Conv {
  enum Pass : uint8_t { kForward, kBackwardInput, kBackwardWeight };
  Pass pass = kForward;
  Conv2dAttrs attrs;
  TensorView x, w, y;  // forward: y written (bias added by the kernel); backward: x or w written, y is dy
  TensorView bias;     // forward only, optional
};

struct Step {
  enum Kind : uint8_t { kKernel, kCopy, kGemm };
  Kind kind = kKernel;
  // kKernel: the GPU kernel `kernel` on `items` work-items, or one work-group of `group`
  // items when group > 0 (reduce_sum).
  const char* kernel = nullptr;
  std::vector<Arg> args;
  int64_t items = 0;
  int group = 0;
  bool has_conv = false;  // the kernel is this convolution pass
  Conv conv;
  TensorView from, to;  // kCopy: to's bytes from from
  Gemm gemm;            // kGemm
};

struct Lowered {
  std::vector<Step> steps;
  std::vector<std::vector<int>> tables;  // int tables (shapes, strides) the node's kernels read
  std::vector<int64_t> scratch;          // floats per scratch buffer of the node
};

// The device a GPU backend runs on, or the reason there is none.
struct DeviceInfo {
  bool available = false;
  std::string description;
};

// The status word kernels flag data errors in (ops/loss.cl, ops/optimizer.cl: code, node, row,
// value, limit; the first error wins).
constexpr int kStatusWords = 5;
// The error a status word holds (ok when its code is 0), with *node set to the node that flagged
// it (else -1).
Status flagged_error(const int* words, int* node);

// Whether the GPU backends run `node` (every op, forward and backward, on the dtypes each takes,
// tensors of fewer than 2^31 elements).
bool supports(const Model& model, const NodeInfo& node);

// The steps of `node` (node `index` of the model, named in errors a kernel flags) on the views
// of `args`, in order.
Status lower(const NodeInfo& node, int index, const PrepareArgs& args, Lowered* out);

}  // namespace gpu
}  // namespace preflight
