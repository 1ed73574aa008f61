// ONNX conformance: the ONNX backend tests (onnx/backend/test/data: the node folder and the model
// folders; the cases of the ops the importer takes are copied by
// tests/onnx_conformance/select_node_tests.py, every case is a line of the MANIFEST) through import
// and run. Each case is pass, fail, unsupported (refused by the importer with its reason, or an op
// without a converter) or not run (the MANIFEST says why); no case may fail. The per-case list and the per-op totals land in build/tests/onnx_conformance.md
// (docs/onnx.md carries a copy).
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "graph/import/onnx_import.h"
#include "graph/serialize.h"
#include "test_util.h"

namespace preflight {
namespace {

bool read_proto(const std::string& path, onnx::TensorProto* tensor) {
  std::ifstream file(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return file.good() || file.eof() ? tensor->ParseFromString(bytes) : false;
}

// The float values of a TensorProto; false when it is not float.
bool floats_of(const onnx::TensorProto& tensor, std::vector<float>* values) {
  if (tensor.data_type() != onnx::TensorProto::FLOAT) return false;
  if (!tensor.raw_data().empty()) {
    values->resize(tensor.raw_data().size() / sizeof(float));
    std::memcpy(values->data(), tensor.raw_data().data(), values->size() * sizeof(float));
  } else {
    values->assign(tensor.float_data().begin(), tensor.float_data().end());
  }
  return true;
}

struct Outcome {
  std::string verdict, reason;
};

// The values of an int64 or int32 TensorProto; false for other types.
bool ints_of(const onnx::TensorProto& tensor, std::vector<double>* values) {
  values->clear();
  if (tensor.data_type() == onnx::TensorProto::INT64) {
    if (!tensor.raw_data().empty()) {
      std::vector<int64_t> v(tensor.raw_data().size() / 8);
      std::memcpy(v.data(), tensor.raw_data().data(), v.size() * 8);
      values->assign(v.begin(), v.end());
    } else {
      values->assign(tensor.int64_data().begin(), tensor.int64_data().end());
    }
    return true;
  }
  if (tensor.data_type() == onnx::TensorProto::INT32) {
    if (!tensor.raw_data().empty()) {
      std::vector<int32_t> v(tensor.raw_data().size() / 4);
      std::memcpy(v.data(), tensor.raw_data().data(), v.size() * 4);
      values->assign(v.begin(), v.end());
    } else {
      values->assign(tensor.int32_data().begin(), tensor.int32_data().end());
    }
    return true;
  }
  return false;
}

Outcome run_case(const std::string& dir) {
  Result<Bytes> bytes = graph::read_file(dir + "/model.onnx");
  if (!bytes.is_ok()) return {"fail", bytes.status().message()};
  onnx::ModelProto proto;
  if (!proto.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) return {"fail", "model.onnx does not parse"};
  // Float inputs are fed at run time; integer inputs (shapes, axes, indices) are bound as
  // constants at conversion, as a static graph takes them.
  std::set<std::string> initializers;
  for (const auto& init : proto.graph().initializer()) initializers.insert(init.name());
  graph::OnnxImportOptions options;
  std::map<std::string, std::vector<float>> feeds;
  int index = 0;
  for (const auto& input : proto.graph().input()) {
    if (initializers.count(input.name())) continue;
    onnx::TensorProto tensor;
    const std::string file = dir + "/test_data_set_0/input_" + std::to_string(index++) + ".pb";
    if (!read_proto(file, &tensor)) return {"fail", "cannot read " + file};
    std::vector<float> values;
    std::vector<double> ints;
    if (floats_of(tensor, &values)) {
      feeds[input.name()] = values;
    } else if (ints_of(tensor, &ints)) {
      graph::OnnxImportOptions::Bound bound;
      bound.dims.assign(tensor.dims().begin(), tensor.dims().end());
      bound.values = ints;
      options.constant_inputs[input.name()] = bound;
    } else {
      return {"unsupported", "input '" + input.name() + "' has ONNX type " + std::to_string(tensor.data_type())};
    }
  }
  Result<graph::Graph> graph = graph::import_onnx_bytes(bytes->data(), bytes->size(), dir, "model.onnx", options);
  if (!graph.is_ok()) {
    const bool refused = graph.status().code() == Error::kUnsupported ||
                         test::contains(graph.status().message(), "is dynamic");
    return {refused ? "unsupported" : "fail", graph.status().message()};
  }
  const graph::Method& infer = graph->methods[static_cast<size_t>(graph->find_method("infer"))];
  std::vector<TensorView> views;
  for (int t : infer.inputs) {
    const graph::Tensor& tensor = graph->tensors[static_cast<size_t>(t)];
    auto feed = feeds.find(tensor.name);
    if (feed == feeds.end()) return {"fail", "no test data for input '" + tensor.name + "'"};
    if (static_cast<int64_t>(feed->second.size()) != tensor.desc.num_elements()) return {"fail", "input '" + tensor.name + "' size"};
    views.push_back(TensorView{tensor.desc, feed->second.data()});
  }
  Bytes model_bytes = graph::serialize(*graph);
  Result<Model> model = Model::load_bytes(model_bytes.data(), model_bytes.size());
  if (!model.is_ok()) return {"fail", model.status().message()};
  Result<Session> session = Session::open(std::move(model).value());
  if (!session.is_ok()) return {"fail", session.status().message()};
  std::vector<std::vector<uint8_t>> results(infer.outputs.size());
  std::vector<TensorView> outputs;
  for (size_t o = 0; o < infer.outputs.size(); ++o) {
    const TensorDesc& desc = graph->tensors[static_cast<size_t>(infer.outputs[o])].desc;
    results[o].resize(desc.num_bytes());
    outputs.push_back(TensorView{desc, results[o].data()});
  }
  const Status status = session->run("infer", views.data(), static_cast<int>(views.size()), outputs.data(), static_cast<int>(outputs.size()));
  if (!status.is_ok()) return {"fail", status.message()};
  for (size_t o = 0; o < results.size(); ++o) {
    onnx::TensorProto tensor;
    if (!read_proto(dir + "/test_data_set_0/output_" + std::to_string(o) + ".pb", &tensor)) return {"fail", "output_" + std::to_string(o) + ".pb"};
    std::vector<float> expected;
    std::vector<double> expected_ints;
    const TensorDesc& desc = outputs[o].desc;
    if (floats_of(tensor, &expected)) {
      if (desc.dtype != DType::F32 || static_cast<int64_t>(expected.size()) != desc.num_elements()) {
        return {"fail", "output " + std::to_string(o) + ": " + std::to_string(desc.num_elements()) + " values, expected " +
                            std::to_string(expected.size())};
      }
      const float* got = reinterpret_cast<const float*>(results[o].data());
      for (size_t k = 0; k < expected.size(); ++k) {
        // The backend tests' tolerance: rtol 1e-3, atol 1e-7 (a little more for float32 sums).
        const double diff = std::fabs(static_cast<double>(got[k]) - expected[k]);
        if (!(diff <= 1e-3 * std::fabs(static_cast<double>(expected[k])) + 1e-6)) {
          return {"fail", "output " + std::to_string(o) + " element " + std::to_string(k) + ": " + std::to_string(got[k]) +
                              ", expected " + std::to_string(expected[k])};
        }
      }
    } else if (ints_of(tensor, &expected_ints)) {
      if (desc.dtype != DType::I64 || static_cast<int64_t>(expected_ints.size()) != desc.num_elements()) {
        return {"fail", "output " + std::to_string(o) + ": not the expected int64 shape"};
      }
      const int64_t* got = reinterpret_cast<const int64_t*>(results[o].data());
      for (size_t k = 0; k < expected_ints.size(); ++k) {
        if (static_cast<double>(got[k]) != expected_ints[k]) return {"fail", "output " + std::to_string(o) + " element " + std::to_string(k)};
      }
    } else {
      return {"unsupported", "output " + std::to_string(o) + " has ONNX type " + std::to_string(tensor.data_type())};
    }
  }
  return {"pass", ""};
}

// One line of tests/fixtures/onnx_node/MANIFEST: "folder case ops rest", rest `copied` or why not.
struct ManifestCase {
  std::string folder, name, ops, rest;
};

std::vector<ManifestCase> read_manifest(const std::string& path, std::string* release) {
  std::vector<ManifestCase> cases;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {  // "# onnx 1.22.0 backend test cases: ..."
      std::istringstream words(line);
      std::string hash, onnx;
      words >> hash >> onnx >> *release;
      continue;
    }
    std::istringstream words(line);
    ManifestCase c;
    words >> c.folder >> c.name >> c.ops;
    std::getline(words, c.rest);
    c.rest.erase(0, c.rest.find_first_not_of(' '));
    cases.push_back(c);
  }
  return cases;
}

TEST_CASE("onnx conformance: every backend test case passes, is refused with a reason, or is listed as not run") {
  const std::string root = test::source_path("tests/fixtures/onnx_node");
  std::string release = "?";
  const std::vector<ManifestCase> cases = read_manifest(root + "/MANIFEST", &release);
  REQUIRE(cases.size() >= 1000);
  std::map<std::string, int> totals;
  std::map<std::string, std::map<std::string, int>> by_folder;  // folder -> verdict -> count
  std::map<std::string, std::map<std::string, int>> by_op;      // last op of a run case -> verdict -> count
  std::map<std::string, std::set<int>> opsets;                  // last op -> the opsets of its passing cases
  std::map<std::string, int> missing_ops;                       // op without a converter -> cases it keeps out
  int kept_out = 0;                                             // cases with an op without a converter
  std::string listing;
  for (const ManifestCase& c : cases) {
    Outcome outcome;
    if (c.rest == "copied") {
      const std::string dir = root + "/" + c.folder + "/" + c.name;
      outcome = run_case(dir);
      onnx::ModelProto proto;
      Result<Bytes> bytes = graph::read_file(dir + "/model.onnx");
      std::string op = "?";
      if (bytes.is_ok() && proto.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())) && proto.graph().node_size()) {
        op = proto.graph().node(proto.graph().node_size() - 1).op_type();
      }
      ++by_op[op][outcome.verdict];
      if (outcome.verdict == "pass") {
        for (const auto& entry : proto.opset_import()) {
          if (entry.domain().empty() || entry.domain() == "ai.onnx") opsets[op].insert(static_cast<int>(entry.version()));
        }
      }
    } else if (c.rest.rfind("no converter: ", 0) == 0) {
      outcome = {"unsupported", c.rest};
      ++kept_out;
      std::istringstream ops(c.rest.substr(14));
      for (std::string op; std::getline(ops, op, ',');) ++missing_ops[op];
    } else {
      outcome = {"not run", c.rest};
    }
    ++totals[outcome.verdict];
    ++by_folder[c.folder][outcome.verdict];
    if (c.rest == "copied" || outcome.verdict == "not run") {
      listing += "| " + c.folder + "/" + c.name + " | " + outcome.verdict + " | " + outcome.reason.substr(0, 160) + " |\n";
    }
    CHECK_MESSAGE(outcome.verdict != "fail", c.folder << "/" << c.name << ": " << outcome.reason);
  }
  const auto count = [](const std::map<std::string, int>& counts, const char* v) { return counts.count(v) ? counts.at(v) : 0; };
  std::string folders = "| folder | cases | pass | unsupported | fail | not run |\n|---|---|---|---|---|---|\n";
  for (const auto& entry : by_folder) {
    const auto& counts = entry.second;  // not a structured binding: clang 14 cannot capture those
    int all = 0;
    for (const auto& v : counts) all += v.second;
    folders += "| " + entry.first + " | " + std::to_string(all) + " | " + std::to_string(count(counts, "pass")) + " | " +
               std::to_string(count(counts, "unsupported")) + " | " + std::to_string(count(counts, "fail")) + " | " +
               std::to_string(count(counts, "not run")) + " |\n";
  }
  std::string table = "| ONNX op (the case's last node) | opsets of the passing cases | pass | unsupported | fail |\n"
                      "|---|---|---|---|---|\n";
  for (const auto& entry : by_op) {
    const std::string& op = entry.first;
    const auto& counts = entry.second;
    std::string versions;
    for (int v : opsets[op]) versions += (versions.empty() ? "" : ", ") + std::to_string(v);
    table += "| " + op + " | " + (versions.empty() ? "-" : versions) + " | " + std::to_string(count(counts, "pass")) + " | " +
             std::to_string(count(counts, "unsupported")) + " | " + std::to_string(count(counts, "fail")) + " |\n";
  }
  // The ops without a converter, by how many cases each keeps out (the most first).
  std::vector<std::pair<int, std::string>> by_count;
  for (const auto& entry : missing_ops) by_count.push_back({-entry.second, entry.first});
  std::sort(by_count.begin(), by_count.end());
  std::string missing = std::to_string(missing_ops.size()) + " ops without a converter keep " + std::to_string(kept_out) +
                        " cases out (cases per op):";
  for (size_t k = 0; k < by_count.size(); ++k) {
    missing += (k ? ", " : " ") + by_count[k].second + " " + std::to_string(-by_count[k].first);
  }
  const std::string summary = "ONNX backend tests (onnx " + release + "): " + std::to_string(cases.size()) + " cases: " +
                              std::to_string(totals["pass"]) + " pass, " + std::to_string(totals["unsupported"]) +
                              " unsupported, " + std::to_string(totals["fail"]) + " fail, " +
                              std::to_string(totals["not run"]) + " not run";
  std::ofstream(std::string(PREFLIGHT_TEST_OUTPUT) + "_onnx_conformance.md")
      << "# " << summary << "\n\n" << folders << "\n" << missing << "\n\n" << table
      << "\n| case | verdict | reason |\n|---|---|---|\n" << listing;
  MESSAGE(summary);
  CHECK(totals["fail"] == 0);
  CHECK(totals["pass"] >= 294);  // the count when this test was committed (docs/onnx.md): none may regress
}

}  // namespace
}  // namespace preflight
