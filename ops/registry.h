// The op registry: one OpDef per schema OpType, looked up by the enum.
//
// Each op file defines the OpDef of its ops as a specialization of op_def (declared here for every
// op of the list). Lookup is a switch derived from the op list (ops/registry.cc), not static
// self-registration, so that linkers keep every op that is named and a selective build can drop
// the ones that are not. Backends (runtime/backends/) look ops up here and provide their own
// kernels; they never change an op. docs/adding-an-op.md walks through a new op.
#pragma once

#include "ops/op.h"

namespace preflight {

// nullptr for a value that is not an op of this build.
const OpDef* find_op(OpType type);

// Reads a node's attribute table from the file into OpAttrs (no semantic checks: those are the
// op's `infer`). Fails when the union member is not the one the op reads, or a required table is
// missing, or a list attribute is longer than kMaxRank.
Status read_attrs(const OpDef& op, const fb::Node& node, OpAttrs* attrs);

}  // namespace preflight
