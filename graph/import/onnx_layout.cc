// Layout tracking: ONNX values are NCHW; preflight's 4-D activations are NHWC. A Val says which
// it is stored in, and these convert (a Transpose node, or a constant permuted once).
#include "graph/import/onnx_importer.h"

#include <algorithm>

namespace preflight {
namespace graph {
namespace onnx_import {

std::vector<int64_t> Importer::onnx_dims(const Val& val) const {
  if (val.is_const) return val.c.dims;
  const TensorDesc& d = builder_.desc(val.v);
  std::vector<int64_t> dims(d.dims, d.dims + d.rank);
  if (val.nhwc) dims = {d.dims[0], d.dims[3], d.dims[1], d.dims[2]};
  return dims;
}

// A constant as a graph tensor (f32), in NHWC storage when `nhwc` (right-aligned to rank 4).
Value Importer::materialize(const Val& val, const std::string& name, bool nhwc) {
  if (!val.is_const) return val.v;
  std::vector<float> values(static_cast<size_t>(val.c.count()));
  for (int64_t k = 0; k < val.c.count(); ++k) values[static_cast<size_t>(k)] = static_cast<float>(val.c.at(k));
  std::vector<int64_t> dims = val.c.dims;
  if (nhwc && dims.size() <= 4) {
    while (dims.size() < 4) dims.insert(dims.begin(), 1);
    const std::vector<int64_t> nchw = dims;
    dims = {nchw[0], nchw[2], nchw[3], nchw[1]};
    std::vector<float> moved(values.size());
    for (int64_t n = 0; n < nchw[0]; ++n)
      for (int64_t c = 0; c < nchw[1]; ++c)
        for (int64_t h = 0; h < nchw[2]; ++h)
          for (int64_t w = 0; w < nchw[3]; ++w)
            moved[static_cast<size_t>(((n * nchw[2] + h) * nchw[3] + w) * nchw[1] + c)] =
                values[static_cast<size_t>(((n * nchw[1] + c) * nchw[2] + h) * nchw[3] + w)];
    values.swap(moved);
  }
  TensorDesc desc;
  desc.dtype = DType::F32;
  desc.rank = static_cast<int>(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) desc.dims[d] = dims[d];
  return builder_.constant(name, desc, values);
}

Value Importer::transpose(Value v, std::initializer_list<int> perm, const std::string& name) {
  OpAttrs attrs;
  attrs.kind = fb::Attrs::TransposeAttrs;
  attrs.transpose.rank = static_cast<int>(perm.size());
  std::copy(perm.begin(), perm.end(), attrs.transpose.perm);
  return builder_.node(OpType::Transpose, attrs, {v}, name);
}

Value Importer::reshape(Value v, const std::vector<int64_t>& shape, const std::string& name) {
  OpAttrs attrs;
  attrs.kind = fb::Attrs::ReshapeAttrs;
  attrs.reshape.rank = static_cast<int>(shape.size());
  std::copy(shape.begin(), shape.end(), attrs.reshape.shape);
  return builder_.node(OpType::Reshape, attrs, {v}, name);
}

Value Importer::nchw(Val* val, const std::string& name) {
  if (val->is_const) return materialize(*val, name, false);
  return val->nhwc ? transpose(val->v, {0, 3, 1, 2}, name + ".to_nchw") : val->v;
}

Value Importer::nhwc(Val* val, const std::string& name) {
  if (val->is_const) return materialize(*val, name, true);
  return val->nhwc ? val->v : transpose(val->v, {0, 2, 3, 1}, name + ".to_nhwc");
}

}  // namespace onnx_import
}  // namespace graph
}  // namespace preflight
