// The JSON view of a model, through flatc's text generator and the schema (schemas/model.fbs), so
// a model can be read, edited and diffed as text. Host-only.
#pragma once

#include <string>

#include "graph/serialize.h"

namespace preflight {
namespace graph {

// Verifies the model, then prints it as JSON with every weight inline (the segment is folded in),
// so the text holds the whole model.
Result<std::string> model_to_json(const uint8_t* bytes, size_t size);

// Parses JSON written by model_to_json (or by hand) against the schema, verifies the result like
// any loaded file, and returns the .pfb bytes. Errors give the parser's line and column.
Result<Bytes> model_from_json(const std::string& json);

}  // namespace graph
}  // namespace preflight
