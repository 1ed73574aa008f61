// The ONNX importer of a build without libonnx (PREFLIGHT_ONNX=OFF: the cross-compiled host
// tools, where Debian's libonnx-dev of the target cannot be installed beside the build machine's).
// Every call says so; .pfb files, made on any machine, load as usual.
#include "graph/import/onnx_import.h"

namespace preflight {
namespace graph {

namespace {

Status no_importer(const std::string& source) {
  return Status::error(Error::kUnsupported,
                       "%s: this build of preflight has no ONNX importer (configured with PREFLIGHT_ONNX=OFF); "
                       "convert the model to .pfb with a build that has one (`preflight convert`)",
                       source.c_str());
}

}  // namespace

Result<Graph> import_onnx_bytes(const uint8_t*, size_t, const std::string&, const std::string& source,
                                const OnnxImportOptions&) {
  return no_importer(source);
}

Result<Graph> import_onnx(const std::string& path, const OnnxImportOptions&) { return no_importer(path); }

}  // namespace graph
}  // namespace preflight
