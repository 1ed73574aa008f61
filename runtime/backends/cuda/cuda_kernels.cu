// The CUDA backend's own kernels: runtime/backends/opencl/kernels.cl compiled as CUDA C++, with the
// few OpenCL names it uses mapped here. One source for both GPU backends, so the OpenCL tests on
// PoCL (CI) check the code the CUDA backend runs besides cuBLAS and cuDNN. This file includes no
// preflight header: runtime/backends/cuda/cuda_backend.cc looks the kernels up by name.
#include <cuda_runtime.h>

#include <cmath>
#include <cstring>

typedef unsigned int uint;
typedef unsigned long ulong;
#define __kernel extern "C" __global__
#define __global
#define __local __shared__
#define PF_DEVICE __device__
#define CLK_LOCAL_MEM_FENCE 0
#define barrier(fence) __syncthreads()
#define atomic_cmpxchg(p, compare, value) atomicCAS(p, compare, value)

__device__ inline size_t get_global_id(int d) {
  return d == 0 ? blockIdx.x * blockDim.x + threadIdx.x
       : d == 1 ? blockIdx.y * blockDim.y + threadIdx.y
                : blockIdx.z * blockDim.z + threadIdx.z;
}
__device__ inline size_t get_local_id(int d) { return d == 0 ? threadIdx.x : d == 1 ? threadIdx.y : threadIdx.z; }
__device__ inline size_t get_group_id(int d) { return d == 0 ? blockIdx.x : d == 1 ? blockIdx.y : blockIdx.z; }

#include "runtime/backends/opencl/kernels.cl"

namespace preflight {
namespace cuda {

struct KernelEntry {
  const char* name;
  const void* function;
};

#define PF_KERNEL(name) {#name, reinterpret_cast<const void*>(&name)}
// Every kernel of kernels.cl, for cuda_backend.cc (which launches them with cudaLaunchKernel).
extern const KernelEntry kKernels[] = {
    PF_KERNEL(unary_forward), PF_KERNEL(unary_backward), PF_KERNEL(dropout_mask),
    PF_KERNEL(binary_forward), PF_KERNEL(binary_backward), PF_KERNEL(transpose_words), PF_KERNEL(concat_slice),
    PF_KERNEL(gemm), PF_KERNEL(add_row_vector), PF_KERNEL(column_sums), PF_KERNEL(conv_forward),
    PF_KERNEL(conv_backward_input), PF_KERNEL(conv_backward_weight), PF_KERNEL(pool_forward), PF_KERNEL(pool_backward),
    PF_KERNEL(global_pool_forward), PF_KERNEL(global_pool_backward), PF_KERNEL(softmax_forward),
    PF_KERNEL(softmax_backward), PF_KERNEL(reduce_sum), PF_KERNEL(cross_entropy_rows), PF_KERNEL(cross_entropy_backward),
    PF_KERNEL(squared_difference), PF_KERNEL(mse_backward), PF_KERNEL(batch_norm_forward),
    PF_KERNEL(batch_norm_backward_channels), PF_KERNEL(batch_norm_backward_input), PF_KERNEL(batch_norm_train_stats),
    PF_KERNEL(batch_norm_train_forward), PF_KERNEL(batch_norm_train_backward_channels),
    PF_KERNEL(batch_norm_train_backward_input), PF_KERNEL(running_stats_update), PF_KERNEL(layer_norm_forward),
    PF_KERNEL(layer_norm_backward_rows), PF_KERNEL(layer_norm_backward_params), PF_KERNEL(sgd_update),
    PF_KERNEL(adam_update), PF_KERNEL(adam_check_step), PF_KERNEL(squared_norm_backward), PF_KERNEL(add_scalar),
    PF_KERNEL(clip_scale_forward), PF_KERNEL(clip_scale_backward), {nullptr, nullptr}};

}  // namespace cuda
}  // namespace preflight
