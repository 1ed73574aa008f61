// What the fuzz targets share: the limits they load with, and a model's methods run on zeros.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "runtime/session.h"

namespace preflight {
namespace fuzz {

// Limits that keep one input to milliseconds: a model this small still reaches every check of the
// loader (the limits themselves are checks: an input over one is refused naming it).
inline LoadLimits limits() {
  LoadLimits l;
  l.max_file_bytes = 1 << 20;
  l.max_tensors = 256;
  l.max_nodes = 256;
  l.max_methods = 8;
  l.max_tensor_elements = 1 << 16;
  l.max_arena_bytes = 16 << 20;
  return l;
}

// A copy of `size` bytes at an address aligned for Model::load_bytes, freed with the object.
class AlignedBytes {
 public:
  AlignedBytes(const uint8_t* data, size_t size) : size_(size) {
    bytes_ = static_cast<uint8_t*>(std::aligned_alloc(64, (size + 63) / 64 * 64 + 64));
    if (size) std::memcpy(bytes_, data, size);
  }
  ~AlignedBytes() { std::free(bytes_); }
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  uint8_t* data() const { return bytes_; }
  size_t size() const { return size_; }

 private:
  uint8_t* bytes_;
  size_t size_;
};

// A bound on the multiply-adds a run of the model's nodes costs: the harness runs models below
// 2^26 of them (a valid model can ask for billions; that is a slow input, not a bug).
inline double estimated_work(const Model& model) {
  double work = 0;
  for (const NodeInfo& node : model.nodes()) {
    double out = 0;
    for (int t : node.outputs) out += static_cast<double>(model.tensors()[static_cast<size_t>(t)].desc.num_elements());
    for (int t : node.inputs) work += static_cast<double>(model.tensors()[static_cast<size_t>(t)].desc.num_elements());
    double inner = 1;
    const TensorDesc& first = model.tensors()[static_cast<size_t>(node.inputs.empty() ? 0 : node.inputs[0])].desc;
    switch (node.op->type) {
      case fb::OpType::Linear:
      case fb::OpType::MatMul: inner = static_cast<double>(first.rank ? first.dims[first.rank - 1] : 1); break;
      case fb::OpType::Conv2D:
        if (node.inputs.size() > 1) {
          const TensorDesc& w = model.tensors()[static_cast<size_t>(node.inputs[1])].desc;
          inner = static_cast<double>(w.num_elements()) / static_cast<double>(w.dims[0] > 0 ? w.dims[0] : 1);
        }
        break;
      case fb::OpType::MaxPool2D:
      case fb::OpType::AvgPool2D: inner = static_cast<double>(node.attrs.pool.kernel_h) * node.attrs.pool.kernel_w; break;
      case fb::OpType::Softmax:
      case fb::OpType::LogSoftmax:
      case fb::OpType::SoftmaxCrossEntropy:
      case fb::OpType::BatchNorm:
      case fb::OpType::BatchNormTrain:
      case fb::OpType::LayerNorm: inner = 4; break;
      default: break;
    }
    // A backward node costs about twice its forward.
    work += out * inner * (node.backward ? 2 : 1);
    if (node.backward) {
      for (int t : node.inputs) work += static_cast<double>(model.tensors()[static_cast<size_t>(t)].desc.num_elements()) * inner;
    }
  }
  return work;
}

// Runs every method of `session` once on zero inputs of the declared shapes (errors are fine:
// a run must fail cleanly or succeed, never crash).
inline void run_every_method(Session& session) {
  const Model& model = session.model();
  if (estimated_work(model) > static_cast<double>(1 << 26)) return;
  for (const MethodInfo& method : model.methods()) {
    std::vector<std::vector<uint8_t>> storage;
    std::vector<TensorView> inputs, outputs;
    for (int t : method.inputs) {
      const TensorDesc& desc = model.tensors()[static_cast<size_t>(t)].desc;
      storage.emplace_back(desc.num_bytes() + 1, 0);
      inputs.push_back(TensorView{desc, storage.back().data()});
    }
    for (int t : method.outputs) {
      const TensorDesc& desc = model.tensors()[static_cast<size_t>(t)].desc;
      storage.emplace_back(desc.num_bytes() + 1, 0);
      outputs.push_back(TensorView{desc, storage.back().data()});
    }
    (void)session.run(method.name, inputs.data(), static_cast<int>(inputs.size()), outputs.data(),
                      static_cast<int>(outputs.size()));
  }
}

}  // namespace fuzz
}  // namespace preflight
