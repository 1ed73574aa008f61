// Dropout: the identity at inference. Training (issue: training) adds a seeded counter-based mask.
//
//   x: any shape, f32   ->   y: x
#include "ops/op.h"

namespace preflight {
namespace {

Status infer_dropout(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc* out) {
  PF_CHECK_DTYPE(in[0], DType::F32, 0);
  // `!(ratio >= 0 && ratio < 1)` also rejects NaN.
  PF_CHECK(attrs.dropout.ratio >= 0.0f && attrs.dropout.ratio < 1.0f, Error::kInvalidModel,
           "ratio must be in [0, 1), got %g", static_cast<double>(attrs.dropout.ratio));
  out[0] = in[0];
  return Status::ok();
}

}  // namespace

const OpDef& dropout_op() {
  static const OpDef def = {OpType::Dropout, "Dropout", 1, 1, 1, fb::Attrs::DropoutAttrs, false, infer_dropout,
                            copy_input_forward,
                            copy_input_backward, 0};
  return def;
}

}  // namespace preflight
