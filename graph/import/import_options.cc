// The parts of the ONNX importer's interface that need no ONNX library: the command line's
// --input-shape and --bind parsing and the .onnx extension test (also in builds without libonnx,
// PREFLIGHT_ONNX=OFF, where graph/import/no_onnx.cc stands in for the importer).
#include "graph/import/onnx_import.h"

#include <algorithm>
#include <cstdlib>

namespace preflight {
namespace graph {

namespace {

// "NAME=V0,V1,..." as a name and integers (positive ones only with `positive`).
Status parse_assignment(const std::string& text, const char* flag, bool positive, std::string* name,
                        std::vector<int64_t>* values) {
  const size_t equals = text.find('=');
  PF_CHECK(equals != std::string::npos && equals > 0, Error::kInvalidArgument, "%s takes NAME=D0,D1,..., got '%.80s'",
           flag, text.c_str());
  *name = text.substr(0, equals);
  size_t at = equals + 1;
  while (at <= text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    const std::string field = text.substr(at, comma - at);
    char* end = nullptr;
    const long long value = std::strtoll(field.c_str(), &end, 10);
    PF_CHECK(!field.empty() && end && *end == '\0' && (!positive || value > 0), Error::kInvalidArgument,
             "%s %.80s: '%.20s' is not a%s", flag, text.c_str(), field.c_str(),
             positive ? " positive dimension" : "n integer");
    values->push_back(value);
    at = comma + 1;
  }
  PF_CHECK(values->size() <= static_cast<size_t>(kMaxRank) || !positive, Error::kInvalidArgument, "%s %.80s: rank above %d",
           flag, text.c_str(), kMaxRank);
  return Status::ok();
}

}  // namespace

Status parse_input_shape(const std::string& text, OnnxImportOptions* options) {
  std::string name;
  std::vector<int64_t> dims;
  PF_RETURN_IF_ERROR(parse_assignment(text, "--input-shape", true, &name, &dims));
  options->input_shapes[name] = dims;
  return Status::ok();
}

Status parse_bound_input(const std::string& text, OnnxImportOptions* options) {
  std::string name;
  std::vector<int64_t> values;
  PF_RETURN_IF_ERROR(parse_assignment(text, "--bind", false, &name, &values));
  OnnxImportOptions::Bound bound;
  bound.values.assign(values.begin(), values.end());
  bound.dims = {static_cast<int64_t>(values.size())};
  options->constant_inputs[name] = bound;
  return Status::ok();
}

bool is_onnx_path(const std::string& path) {
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".onnx") == 0;
}

std::string describe(const UnsupportedNodes& nodes) {
  std::string text = std::to_string(nodes.count) + (nodes.count == 1 ? " node (" : " nodes (") + nodes.op + ", opset " +
                     std::to_string(nodes.opset) + "): " + nodes.reason + ":";
  for (size_t i = 0; i < nodes.first_nodes.size(); ++i) text += (i ? ", '" : " '") + nodes.first_nodes[i] + "'";
  const int more = nodes.count - static_cast<int>(nodes.first_nodes.size());
  if (more > 0) text += " and " + std::to_string(more) + " more";
  return text;
}

}  // namespace graph
}  // namespace preflight
