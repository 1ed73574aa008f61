#include "graph/json.h"

#include <cstring>
#include <limits>

#include "flatbuffers/idl.h"

namespace preflight {

extern const char kModelSchemaText[];  // generated from schemas/model.fbs by CMake

namespace graph {
namespace {

Status make_parser(flatbuffers::Parser* parser) {
  parser->opts.strict_json = true;
  parser->opts.output_default_scalars_in_json = false;
  parser->opts.indent_step = 2;
  PF_CHECK(parser->Parse(kModelSchemaText), Error::kInternal, "the built-in schema does not parse: %s",
           parser->error_.c_str());
  return Status::ok();
}

}  // namespace

Result<std::string> model_to_json(const uint8_t* bytes, size_t size) {
  Bytes aligned(bytes, bytes + size);
  Result<Model> model = Model::load_bytes(aligned.data(), aligned.size());
  if (!model.is_ok()) return model.status();
  SerializeOptions all_inline;
  all_inline.inline_limit = std::numeric_limits<size_t>::max();
  const Bytes flat = serialize(read_graph(*model), all_inline);
  flatbuffers::Parser parser;
  PF_RETURN_IF_ERROR(make_parser(&parser));
  std::string text;
  // Skip the 4-byte size prefix: the text generator reads a plain FlatBuffer.
  PF_CHECK(flatbuffers::GenerateText(parser, flat.data() + sizeof(uint32_t), &text), Error::kInternal,
           "the JSON generator failed");
  return Result<std::string>(std::move(text));
}

Result<Bytes> model_from_json(const std::string& json) {
  flatbuffers::Parser parser;
  PF_RETURN_IF_ERROR(make_parser(&parser));
  parser.opts.size_prefixed = true;
  PF_CHECK(parser.ParseJson(json.c_str()), Error::kInvalidModel, "JSON does not match the model schema: %s",
           parser.error_.c_str());
  const uint8_t* data = parser.builder_.GetBufferPointer();
  Bytes parsed(data, data + parser.builder_.GetSize());
  Result<Model> model = Model::load_bytes(parsed.data(), parsed.size());
  if (!model.is_ok()) return model.status();
  // Re-serialize so large weights move to the segment as in any written model.
  return Result<Bytes>(serialize(read_graph(*model)));
}

}  // namespace graph
}  // namespace preflight
