// Fuzz target 4: the ONNX importer. ONNX bytes -> import (external data resolved in an empty
// folder) -> when it imports, serialize and load the .pfb: what the importer writes, the loader
// must accept or refuse cleanly (docs/reliability.md).
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "graph/import/onnx_import.h"
#include "graph/serialize.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace preflight;
  static const std::string empty = [] {
    const std::string dir = "/dev/shm/preflight-fuzz-onnx-" + std::to_string(getpid());
    ::mkdir(dir.c_str(), 0700);
    return dir;
  }();
  graph::OnnxImportOptions options;
  Result<graph::Graph> g = graph::import_onnx_bytes(data, size, empty, "fuzz.onnx", options);
  if (!g.is_ok()) return 0;
  const Bytes bytes = graph::serialize(*g);
  fuzz::AlignedBytes aligned(bytes.data(), bytes.size());
  Result<Model> model = Model::load_bytes(aligned.data(), aligned.size(), fuzz::limits());
  (void)model;
  return 0;
}
