#include "ops/registry.h"
#include "core/flatbuffers_read.h"

#include "ops/selected_ops.h"

namespace preflight {

// The op list and flatc's enum are the same list: every value, and no op left out.
#define PF_CHECK_OP_VALUE(name, value)                         \
  static_assert(static_cast<int>(OpType::name) == (value), \
                "ops/op_list.h and schemas/model.fbs disagree on the value of " #name);
PREFLIGHT_OP_LIST(PF_CHECK_OP_VALUE)
#undef PF_CHECK_OP_VALUE
static_assert(kNumOps == static_cast<int>(OpType::MAX) + 1, "ops/op_list.h does not list every OpType of the schema");

// Every OpDef keeps within the arity bounds of op.h (tests/ops/op_checks_test.cc checks it).
// A selective build (CMake PREFLIGHT_OPS, the list `preflight ops-for MODEL` prints) sets
// PREFLIGHT_OP_<Name> to 0 for the ops it leaves out: find_op returns null for them, nothing
// references their kernels, and the linker drops them (--gc-sections). Models that use them are
// refused at load, naming the op.
const OpDef* find_op(OpType type) {
  switch (type) {
#define PF_FIND_OP(name, value) \
  case OpType::name: return PREFLIGHT_OP_##name ? &op_def<OpType::name>() : nullptr;
    PREFLIGHT_OP_LIST(PF_FIND_OP)
#undef PF_FIND_OP
  }
  return nullptr;
}

namespace {

void read_conv(const fb::Conv2dAttrs& t, Conv2dAttrs* a) {
  a->stride_h = t.stride_h();
  a->stride_w = t.stride_w();
  a->pad_top = t.pad_top();
  a->pad_left = t.pad_left();
  a->pad_bottom = t.pad_bottom();
  a->pad_right = t.pad_right();
  a->dilation_h = t.dilation_h();
  a->dilation_w = t.dilation_w();
  a->groups = t.groups();
}

void read_pool(const fb::Pool2dAttrs& t, Pool2dAttrs* a) {
  a->kernel_h = t.kernel_h();
  a->kernel_w = t.kernel_w();
  a->stride_h = t.stride_h();
  a->stride_w = t.stride_w();
  a->pad_top = t.pad_top();
  a->pad_left = t.pad_left();
  a->pad_bottom = t.pad_bottom();
  a->pad_right = t.pad_right();
  a->count_include_pad = t.count_include_pad();
}

}  // namespace

Status read_attrs(const OpDef& op, const fb::Node& node, OpAttrs* attrs) {
  *attrs = OpAttrs();
  attrs->kind = op.attrs_kind;
  const fb::Attrs kind = node.attrs_type();
  if (kind == fb::Attrs::NONE || node.attrs() == nullptr) {
    PF_CHECK(!op.attrs_required, Error::kInvalidModel, "%s needs attributes %s, the node has none",
             op.name, fb::EnumNameAttrs(op.attrs_kind));
    return Status::ok();
  }
  PF_CHECK(kind == op.attrs_kind, Error::kInvalidModel, "%s reads attributes %s, the node has %s",
           op.name, fb::EnumNameAttrs(op.attrs_kind),
           fb::EnumNameAttrs(kind)[0] ? fb::EnumNameAttrs(kind) : "an unknown attribute type");
  switch (kind) {
    case fb::Attrs::NONE: break;
    case fb::Attrs::MatMulAttrs: {
      const auto* t = node.attrs_as_MatMulAttrs();
      attrs->matmul.transpose_a = t->transpose_a();
      attrs->matmul.transpose_b = t->transpose_b();
      break;
    }
    case fb::Attrs::Conv2dAttrs: read_conv(*node.attrs_as_Conv2dAttrs(), &attrs->conv); break;
    case fb::Attrs::Pool2dAttrs: read_pool(*node.attrs_as_Pool2dAttrs(), &attrs->pool); break;
    case fb::Attrs::GlobalPoolAttrs:
      attrs->global_pool.keep_dims = node.attrs_as_GlobalPoolAttrs()->keep_dims();
      break;
    case fb::Attrs::ClampAttrs:
      attrs->clamp.min = node.attrs_as_ClampAttrs()->min();
      attrs->clamp.max = node.attrs_as_ClampAttrs()->max();
      break;
    case fb::Attrs::GeluAttrs:
      attrs->gelu.tanh_approximation = node.attrs_as_GeluAttrs()->tanh_approximation();
      break;
    case fb::Attrs::HardSigmoidAttrs:
      attrs->hard_sigmoid.alpha = node.attrs_as_HardSigmoidAttrs()->alpha();
      attrs->hard_sigmoid.beta = node.attrs_as_HardSigmoidAttrs()->beta();
      break;
    case fb::Attrs::ReduceAttrs:
      attrs->reduce.axes = node.attrs_as_ReduceAttrs()->axes();
      attrs->reduce.keep_dims = node.attrs_as_ReduceAttrs()->keep_dims();
      break;
    case fb::Attrs::SliceAttrs: {
      const auto* t = node.attrs_as_SliceAttrs();
      PF_CHECK(t->starts() && t->steps() && t->sizes(), Error::kInvalidModel, "Slice attributes need starts, steps and sizes");
      const uint32_t rank = t->starts()->size();
      PF_CHECK(rank <= static_cast<uint32_t>(kMaxRank) && t->steps()->size() == rank && t->sizes()->size() == rank,
               Error::kInvalidModel, "Slice attributes: starts, steps and sizes need one entry per dim (at most %d), got %u, %u, %u",
               kMaxRank, rank, t->steps()->size(), t->sizes()->size());
      attrs->slice.rank = static_cast<int>(rank);
      for (uint32_t d = 0; d < rank; ++d) {
        attrs->slice.start[d] = read_unaligned(*t->starts(), d);
        attrs->slice.step[d] = read_unaligned(*t->steps(), d);
        attrs->slice.size[d] = read_unaligned(*t->sizes(), d);
      }
      break;
    }
    case fb::Attrs::AlphaAttrs: attrs->alpha.alpha = node.attrs_as_AlphaAttrs()->alpha(); break;
    case fb::Attrs::AxisAttrs: attrs->axis.axis = node.attrs_as_AxisAttrs()->axis(); break;
    case fb::Attrs::ReshapeAttrs: {
      const auto* shape = node.attrs_as_ReshapeAttrs()->shape();
      PF_CHECK(shape != nullptr, Error::kInvalidModel, "Reshape attributes have no shape");
      PF_CHECK(shape->size() <= static_cast<uint32_t>(kMaxRank), Error::kInvalidModel,
               "Reshape target rank %u is above the limit %d", shape->size(), kMaxRank);
      attrs->reshape.rank = static_cast<int>(shape->size());
      for (int i = 0; i < attrs->reshape.rank; ++i) attrs->reshape.shape[i] = read_unaligned(*shape, static_cast<flatbuffers::uoffset_t>(i));
      break;
    }
    case fb::Attrs::TransposeAttrs: {
      const auto* perm = node.attrs_as_TransposeAttrs()->perm();
      PF_CHECK(perm != nullptr, Error::kInvalidModel, "Transpose attributes have no perm");
      PF_CHECK(perm->size() <= static_cast<uint32_t>(kMaxRank), Error::kInvalidModel,
               "Transpose perm length %u is above the limit %d", perm->size(), kMaxRank);
      attrs->transpose.rank = static_cast<int>(perm->size());
      for (int i = 0; i < attrs->transpose.rank; ++i) attrs->transpose.perm[i] = perm->Get(i);
      break;
    }
    case fb::Attrs::NormAttrs:
      attrs->norm.axis = node.attrs_as_NormAttrs()->axis();
      attrs->norm.epsilon = node.attrs_as_NormAttrs()->epsilon();
      break;
    case fb::Attrs::DropoutAttrs:
      attrs->dropout.ratio = node.attrs_as_DropoutAttrs()->ratio();
      attrs->dropout.training = node.attrs_as_DropoutAttrs()->training();
      attrs->dropout.stream = node.attrs_as_DropoutAttrs()->stream();
      break;
    case fb::Attrs::RunningStatsAttrs:
      attrs->running_stats.momentum = node.attrs_as_RunningStatsAttrs()->momentum();
      break;
    case fb::Attrs::LossAttrs: attrs->loss.reduction = node.attrs_as_LossAttrs()->reduction(); break;
    case fb::Attrs::SgdAttrs: attrs->sgd.nesterov = node.attrs_as_SgdAttrs()->nesterov(); break;
    case fb::Attrs::AdamAttrs:
      attrs->adam.decoupled_weight_decay = node.attrs_as_AdamAttrs()->decoupled_weight_decay();
      break;
  }
  return Status::ok();
}

}  // namespace preflight
