// The OpenCL backend's own interface, beside the Backend table (runtime/backend.h): which device
// it runs on, and its program cache. Tools print the first; the tests check the second.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/backends/gpu/lowering.h"
#include "core/status.h"

namespace preflight {
namespace opencl {

// The device the backend runs on ("NVIDIA H100 (NVIDIA CUDA, OpenCL 3.0)"), or the reason there
// is none ("no OpenCL platform: install an ICD, such as pocl-opencl-icd").
using DeviceInfo = gpu::DeviceInfo;
const DeviceInfo& device_info();

// Builds the kernels for the backend's device as the backend does, through the binary cache in
// `cache_dir` (created when missing): loads the binary that a build for the same device, driver
// and source left there, else builds from source and stores the binary (written atomically).
// *from_cache says which happened; *cache_file names the file. For tests and tools: the backend
// itself builds once per process with cache_folder().
Status build_program_for_test(const std::string& cache_dir, bool* from_cache, std::string* cache_file);

// How many times bytes crossed between host and device (uploads, downloads, reads of the status
// word) in this process: the tests count a train_step's.
uint64_t transfers();

// The cache folder: $PREFLIGHT_CACHE_DIR, else $XDG_CACHE_HOME/preflight, else
// $HOME/.cache/preflight; empty (no cache) when none is set.
std::string cache_folder();

}  // namespace opencl
}  // namespace preflight
