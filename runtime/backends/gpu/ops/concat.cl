// The GPU kernels of ops/concat.cc (their lowering: concat.cc here).
// One concat input as [outer, in_row] words at column `column` of the [outer, out_row] output;
// to_slice = 1 copies the other way (the backward).
__kernel void concat_slice(B(uint, part), B(uint, whole), int outer, int in_row, int out_row, int column, int to_slice) {
  const int i = get_global_id(0);
  if (i >= outer * in_row) return;
  const int o = i / in_row, j = i % in_row;
  if (to_slice) {
    P(uint, part)[i] = P(uint, whole)[o * out_row + column + j];
  } else {
    P(uint, whole)[o * out_row + column + j] = P(uint, part)[i];
  }
}
