// The recipe's evidence: report-only checks that write what a person should look at before
// trusting a model (the report embeds them; report.json lists the files).
//
//   skeleton.input_view   the exact first batch of training (the rows fit() takes first, gathered
//                         by the same gather_batch) decoded back into an image grid with the
//                         labels under each image (input_view.png), or a table (input_view.csv)
//                         when a sample is not an image
//   train.first_layer     the first layer's weights (a Conv2d's filters or a Linear's rows) as an
//                         image grid (first_layer.png)
//
// Both are skipped when the report has no folder to write to.
#pragma once

#include <string>

#include "graph/graph.h"
#include "trainer/checks/check.h"
#include "trainer/trainer.h"

namespace preflight {

CheckResult check_input_view(const Dataset& train, const TrainConfig& config, const std::string& folder);
// `graph`: the weights to show (after a training probe); `when` says which ("after 100 steps").
CheckResult check_first_layer(const graph::Graph& graph, const std::string& when, const std::string& folder);

// The side of the square a flat sample of `elements` values makes (8 for 64), or 0.
int64_t square_side(int64_t elements);

}  // namespace preflight
