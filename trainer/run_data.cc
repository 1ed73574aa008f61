#include "trainer/run_data.h"

#include <memory>
#include <utility>

#include "graph/training.h"

namespace preflight {

TensorDesc sample_shape(const graph::Graph& graph) {
  const int train_method = graph.find_method("train_step");
  TensorDesc sample = graph.tensors[static_cast<size_t>(graph.methods[static_cast<size_t>(train_method)].inputs[0])].desc;
  sample.rank -= 1;
  for (int d = 0; d < sample.rank; ++d) sample.dims[d] = sample.dims[d + 1];
  return sample;
}

namespace {

Status scale_and_shape(Dataset* data, float scale, const TensorDesc& sample) {
  for (float& v : data->features) v *= scale;
  return reshape_samples(data, sample);
}

}  // namespace

Result<RunData> load_run_data(const RunDataOptions& options, graph::Graph* graph) {
  PF_CHECK(graph->find_method("train_step") >= 0, Error::kInvalidArgument,
           "the model has no train_step (export it for training first)");
  const TensorDesc sample = sample_shape(*graph);
  DataOptions with_width = options.load;
  with_width.expected_features = sample.num_elements();  // a CSV row of another width is refused at once
  Result<Dataset> data = load_dataset(options.data, with_width);
  if (!data.is_ok()) return data.status();
  RunData run;
  run.notes = data->notes;
  PF_RETURN_IF_ERROR(scale_and_shape(&*data, options.scale, sample));
  if (options.validation.empty() && data->validation) {
    // An .npz with its own validation or test pair: that pair is the validation split (the note says so).
    std::shared_ptr<Dataset> held_out = data->validation;
    run.train = std::move(*data);
    run.train.validation.reset();
    run.validation = std::move(*held_out);
    PF_RETURN_IF_ERROR(scale_and_shape(&run.validation, options.scale, sample));
  } else if (options.validation.empty()) {
    PF_RETURN_IF_ERROR(split_dataset(*data, options.validation_fraction, options.seed, &run.train, &run.validation));
  } else {
    run.train = std::move(*data);
    Result<Dataset> held_out = load_dataset(options.validation, with_width);
    if (!held_out.is_ok()) return held_out.status();
    run.notes.insert(run.notes.end(), held_out->notes.begin(), held_out->notes.end());
    run.validation = std::move(*held_out);
    PF_RETURN_IF_ERROR(scale_and_shape(&run.validation, options.scale, sample));
  }
  if (options.standardize) standardize(&run.train, &run.validation);
  if (options.init_bias) {
    const Status status =
        graph::set_final_bias(graph, prior_bias(run.train, run.train.classification ? run.train.num_classes() : 0));
    if (!status.is_ok()) return status.with_context("--init-bias: ");
  }
  return run;
}

}  // namespace preflight
