#include "trainer/dataset.h"

#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "graph/random.h"
#include "trainer/npy.h"

namespace preflight {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Reads a whole file; gzip-compressed files are inflated (zlib reads plain files unchanged).
Result<std::string> read_text(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  PF_CHECK(file != nullptr, Error::kNotFound, "%s: cannot open", path.c_str());
  std::string text;
  char chunk[1 << 16];
  int got;
  while ((got = gzread(file, chunk, sizeof chunk)) > 0) text.append(chunk, static_cast<size_t>(got));
  const bool failed = got < 0;
  gzclose(file);
  PF_CHECK(!failed, Error::kIoError, "%s: read failed (corrupt gzip data?)", path.c_str());
  return Result<std::string>(std::move(text));
}

Result<std::vector<uint8_t>> read_binary(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  PF_CHECK(file.good(), Error::kNotFound, "%s: cannot open", path.c_str());
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return Result<std::vector<uint8_t>>(std::move(bytes));
}

// Splits one CSV line at commas (no quoting: numeric data only); a line without commas at runs
// of spaces or tabs (whitespace-separated files such as sklearn's diabetes_data_raw.csv).
void split_fields(const std::string& line, std::vector<std::string>* fields) {
  fields->clear();
  if (line.find(',') == std::string::npos) {
    size_t at = line.find_first_not_of(" \t");
    while (at != std::string::npos) {
      const size_t end = line.find_first_of(" \t", at);
      fields->push_back(line.substr(at, end == std::string::npos ? std::string::npos : end - at));
      at = end == std::string::npos ? end : line.find_first_not_of(" \t", end);
    }
    return;
  }
  size_t start = 0;
  for (;;) {
    const size_t comma = line.find(',', start);
    fields->push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

bool parse_number(const std::string& field, double* value) {
  const char* begin = field.c_str();
  while (*begin == ' ' || *begin == '\t') ++begin;
  char* end = nullptr;
  *value = std::strtod(begin, &end);
  if (end == begin) return false;
  while (*end == ' ' || *end == '\t' || *end == '\r') ++end;
  return *end == '\0';
}

// Sets a label or target from a number, checking that classes are whole and non-negative.
Status add_label(Dataset* data, double value, const std::string& where) {
  if (data->classification) {
    PF_CHECK(value >= 0 && value == std::floor(value) && value < 1e15, Error::kInvalidArgument,
             "%s: label %g is not a class (a whole number >= 0)", where.c_str(), value);
    data->labels.push_back(static_cast<int64_t>(value));
  } else {
    PF_CHECK(std::isfinite(value), Error::kInvalidArgument, "%s: target %g is not finite", where.c_str(), value);
    data->targets.push_back(static_cast<float>(value));
  }
  return Status::ok();
}

Status check_finite(const Dataset& data) {
  const int64_t width = data.sample_elements();
  for (size_t i = 0; i < data.features.size(); ++i) {
    PF_CHECK(std::isfinite(data.features[i]), Error::kInvalidArgument, "%s: row %lld, feature %lld is %s",
             data.source.c_str(), static_cast<long long>(i / static_cast<size_t>(width) + 1),
             static_cast<long long>(i % static_cast<size_t>(width)), std::isnan(data.features[i]) ? "NaN" : "infinite");
  }
  return Status::ok();
}

// Turns a NumPy array of labels or targets into the data set's labels.
Status set_labels(Dataset* data, const NpyArray& array, const std::string& where) {
  PF_CHECK(array.desc.rank == 1 && array.desc.dims[0] == data->rows, Error::kInvalidArgument,
           "%s: labels must be a vector of %lld entries (one per row), got rank %d with %lld entries", where.c_str(),
           static_cast<long long>(data->rows), array.desc.rank, static_cast<long long>(array.desc.num_elements()));
  for (int64_t i = 0; i < data->rows; ++i) {
    double value = 0;
    switch (array.desc.dtype) {
      case DType::I64: value = static_cast<double>(reinterpret_cast<const int64_t*>(array.data.data())[i]); break;
      case DType::I32: value = reinterpret_cast<const int32_t*>(array.data.data())[i]; break;
      case DType::U8: value = array.data[static_cast<size_t>(i)]; break;
      case DType::F32: value = reinterpret_cast<const float*>(array.data.data())[i]; break;
      default:
        return Status::error(Error::kInvalidArgument, "%s: labels of dtype %s are not supported", where.c_str(),
                             dtype_name(array.desc.dtype));
    }
    PF_RETURN_IF_ERROR(add_label(data, value, where + ": row " + std::to_string(i + 1)));
  }
  return Status::ok();
}

Status set_features(Dataset* data, const NpyArray& array, const std::string& where) {
  PF_CHECK(array.desc.rank >= 1 && array.desc.dims[0] >= 1, Error::kInvalidArgument,
           "%s: features need a leading row dimension with at least one row", where.c_str());
  data->rows = array.desc.dims[0];
  data->sample = array.desc;
  data->sample.rank -= 1;
  for (int d = 0; d < data->sample.rank; ++d) data->sample.dims[d] = array.desc.dims[d + 1];
  data->sample.dtype = DType::F32;
  const int64_t count = array.desc.num_elements();
  data->features.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    switch (array.desc.dtype) {
      case DType::F32: data->features[i] = reinterpret_cast<const float*>(array.data.data())[i]; break;
      case DType::U8: data->features[i] = array.data[static_cast<size_t>(i)]; break;
      case DType::I64: data->features[i] = static_cast<float>(reinterpret_cast<const int64_t*>(array.data.data())[i]); break;
      case DType::I32: data->features[i] = static_cast<float>(reinterpret_cast<const int32_t*>(array.data.data())[i]); break;
      default:
        return Status::error(Error::kInvalidArgument, "%s: features of dtype %s are not supported", where.c_str(),
                             dtype_name(array.desc.dtype));
    }
  }
  return Status::ok();
}

// ---- .npz: a zip archive of .npy files (libzip reads it, stored or deflated, zip64 included) ----
Status npz_member(const std::vector<uint8_t>& bytes, const std::string& path, const std::string& wanted,
                  std::vector<uint8_t>* member) {
  const char* where = path.c_str();
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  zip_t* archive = source ? zip_open_from_source(source, ZIP_RDONLY, &error) : nullptr;
  if (!archive) {
    if (source) zip_source_free(source);
    const std::string reason = zip_error_strerror(&error);
    zip_error_fini(&error);
    return Status::error(Error::kInvalidArgument, "%s: not a .npz (zip) file: %s", where, reason.c_str());
  }
  zip_error_fini(&error);
  const std::string name = wanted + ".npy";
  const zip_int64_t index = zip_name_locate(archive, name.c_str(), 0);
  zip_stat_t info;
  if (index < 0 || zip_stat_index(archive, static_cast<zip_uint64_t>(index), 0, &info) != 0) {
    std::string names;
    for (zip_int64_t i = 0; i < zip_get_num_entries(archive, 0); ++i) {
      names += (names.empty() ? "" : ", ") + std::string(zip_get_name(archive, static_cast<zip_uint64_t>(i), 0));
    }
    zip_close(archive);
    return Status::error(Error::kInvalidArgument, "%s: no array '%s' (the archive has: %s)", where, wanted.c_str(),
                         names.c_str());
  }
  if (info.size >= (uint64_t{1} << 34)) {
    zip_close(archive);
    return Status::error(Error::kResourceLimit, "%s: entry %s is too large", where, name.c_str());
  }
  // Read in chunks, the memory growing with the bytes that really come out: the size in the zip's
  // directory is the file's claim (a damaged or hostile archive claims gigabytes it does not hold).
  member->clear();
  zip_file_t* file = zip_fopen_index(archive, static_cast<zip_uint64_t>(index), 0);
  zip_int64_t got = file ? 0 : -1;
  constexpr zip_uint64_t kChunk = 1 << 20;
  while (file && static_cast<zip_uint64_t>(member->size()) < info.size) {
    const size_t at = member->size();
    const zip_uint64_t want = std::min<zip_uint64_t>(kChunk, info.size - at);
    member->resize(at + static_cast<size_t>(want));
    const zip_int64_t n = zip_fread(file, member->data() + at, want);
    if (n <= 0) {
      member->resize(at);
      got = n < 0 ? -1 : got;
      break;
    }
    member->resize(at + static_cast<size_t>(n));
    got += n;
  }
  if (file) zip_fclose(file);
  zip_close(archive);
  PF_CHECK(got >= 0 && static_cast<zip_uint64_t>(got) == info.size, Error::kInvalidArgument,
           "%s: entry %s cannot be read (corrupt data?)", where, name.c_str());
  return Status::ok();
}

// ---- IDX (MNIST): big-endian magic [0, 0, type, rank], dims, data ----
Result<NpyArray> read_idx(const std::string& path) {
  Result<std::vector<uint8_t>> bytes = read_binary(path);
  if (!bytes.is_ok()) return bytes.status();
  const std::vector<uint8_t>& b = *bytes;
  const char* where = path.c_str();
  PF_CHECK(b.size() >= 4 && b[0] == 0 && b[1] == 0, Error::kInvalidArgument, "%s: not an IDX file", where);
  const int type = b[2], rank = b[3];
  PF_CHECK(type == 0x08 || type == 0x0D, Error::kInvalidArgument,
           "%s: IDX element type 0x%02x is not supported (0x08 unsigned byte, 0x0D float)", where, type);
  PF_CHECK(rank >= 1 && rank <= kMaxRank, Error::kInvalidArgument, "%s: IDX rank %d is outside [1, %d]", where, rank,
           kMaxRank);
  PF_CHECK(b.size() >= 4 + 4 * static_cast<size_t>(rank), Error::kInvalidArgument, "%s: truncated IDX header", where);
  NpyArray array;
  array.desc.dtype = type == 0x08 ? DType::U8 : DType::F32;
  array.desc.rank = rank;
  int64_t count = 1;
  for (int d = 0; d < rank; ++d) {
    const uint8_t* p = &b[4 + 4 * static_cast<size_t>(d)];
    array.desc.dims[d] = static_cast<int64_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3];
    PF_CHECK(checked_mul(count, array.desc.dims[d], &count), Error::kInvalidArgument, "%s: IDX size overflows", where);
  }
  const size_t start = 4 + 4 * static_cast<size_t>(rank);
  const size_t element = dtype_size(array.desc.dtype);
  PF_CHECK(static_cast<uint64_t>(count) * element == b.size() - start, Error::kInvalidArgument,
           "%s: the IDX header needs %lld data bytes, the file has %zu", where,
           static_cast<long long>(count * static_cast<int64_t>(element)), b.size() - start);
  array.data.assign(b.begin() + static_cast<std::ptrdiff_t>(start), b.end());
  if (array.desc.dtype == DType::F32) {  // big-endian floats
    for (size_t i = 0; i + 3 < array.data.size(); i += 4) {
      std::swap(array.data[i], array.data[i + 3]);
      std::swap(array.data[i + 1], array.data[i + 2]);
    }
  }
  return Result<NpyArray>(std::move(array));
}

Result<Dataset> load_arrays(const std::string& path, const NpyArray& features, const NpyArray& labels,
                            const std::string& labels_where, const DataOptions& options) {
  Dataset data;
  data.source = path;
  data.classification = !options.regression;
  PF_RETURN_IF_ERROR(set_features(&data, features, path));
  PF_RETURN_IF_ERROR(set_labels(&data, labels, labels_where));
  if (!options.allow_non_finite) PF_RETURN_IF_ERROR(check_finite(data));
  return Result<Dataset>(std::move(data));
}

}  // namespace

int64_t Dataset::num_classes() const {
  int64_t classes = 0;
  for (int64_t label : labels) classes = label + 1 > classes ? label + 1 : classes;
  return classes;
}

namespace {

// The rows of numbers of a CSV file (a first line with words is a header and skipped), each as
// wide as the first; errors name the file, the line and the column.
// `skip_column` is not checked for finiteness (the label's own check names it); -2: the last column.
Status read_csv_rows(const std::string& path, bool allow_non_finite, int64_t skip_column, std::vector<double>* values,
                     int64_t* width, int64_t* rows, std::vector<int64_t>* line_numbers) {
  Result<std::string> text = read_text(path);
  if (!text.is_ok()) return text.status();
  std::vector<std::string> fields;
  std::vector<double> row;
  *width = -1;
  *rows = 0;
  size_t start = 0;
  for (int64_t line_number = 1; start < text->size(); ++line_number) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    std::string line = text->substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    split_fields(line, &fields);
    row.resize(fields.size());
    size_t bad = fields.size();
    for (size_t c = 0; c < fields.size() && bad == fields.size(); ++c) {
      if (!parse_number(fields[c], &row[c])) bad = c;
    }
    if (bad != fields.size()) {
      // A first line with words is a header (e.g. sklearn's "150,4,setosa,..."): skip it.
      if (*width < 0 && *rows == 0) continue;
      return Status::error(Error::kInvalidArgument, "%s:%lld: column %zu: '%s' is not a number", path.c_str(),
                           static_cast<long long>(line_number), bad + 1, fields[bad].c_str());
    }
    if (*width < 0) *width = static_cast<int64_t>(fields.size());
    PF_CHECK(static_cast<int64_t>(fields.size()) == *width, Error::kInvalidArgument,
             "%s:%lld: the row has %zu columns, the first row has %lld", path.c_str(),
             static_cast<long long>(line_number), fields.size(), static_cast<long long>(*width));
    const int64_t skip = skip_column == -2 ? *width - 1 : skip_column;
    for (int64_t c = 0; c < *width; ++c) {
      const double value = row[static_cast<size_t>(c)];
      PF_CHECK(c == skip || allow_non_finite || std::isfinite(value), Error::kInvalidArgument,
               "%s:%lld: column %lld is %s", path.c_str(), static_cast<long long>(line_number),
               static_cast<long long>(c + 1), std::isnan(value) ? "NaN" : "infinite");
    }
    values->insert(values->end(), row.begin(), row.end());
    line_numbers->push_back(line_number);
    ++*rows;
  }
  PF_CHECK(*rows > 0, Error::kInvalidArgument, "%s: the data set is empty (no rows of numbers)", path.c_str());
  return Status::ok();
}

}  // namespace

Result<Dataset> load_csv(const std::string& path, const DataOptions& options) {
  Dataset data;
  data.source = path;
  data.classification = !options.regression;
  std::vector<double> values;
  std::vector<int64_t> lines;
  int64_t width = 0, rows = 0;
  if (!options.labels_path.empty()) {
    // Features here, one label per row in a file of its own (e.g. diabetes_data_raw + diabetes_target).
    PF_RETURN_IF_ERROR(read_csv_rows(path, options.allow_non_finite, -1, &values, &width, &rows, &lines));
    std::vector<double> labels;
    std::vector<int64_t> label_lines;
    int64_t label_width = 0, label_rows = 0;
    PF_RETURN_IF_ERROR(
        read_csv_rows(options.labels_path, true, -1, &labels, &label_width, &label_rows, &label_lines));
    PF_CHECK(label_width == 1, Error::kInvalidArgument, "%s: a labels file needs one column, it has %lld",
             options.labels_path.c_str(), static_cast<long long>(label_width));
    PF_CHECK(label_rows == rows, Error::kInvalidArgument, "%s has %lld rows of labels, %s has %lld rows of features",
             options.labels_path.c_str(), static_cast<long long>(label_rows), path.c_str(), static_cast<long long>(rows));
    data.features.assign(values.begin(), values.end());
    for (int64_t r = 0; r < rows; ++r) {
      PF_RETURN_IF_ERROR(add_label(&data, labels[static_cast<size_t>(r)],
                                   options.labels_path + ":" + std::to_string(label_lines[static_cast<size_t>(r)])));
    }
    data.rows = rows;
    data.sample = make_desc(DType::F32, {width});
    return Result<Dataset>(std::move(data));
  }
  PF_RETURN_IF_ERROR(read_csv_rows(path, options.allow_non_finite, options.label_column < 0 ? -2 : options.label_column,
                                   &values, &width, &rows, &lines));
  PF_CHECK(width >= 2, Error::kInvalidArgument, "%s: a row needs features and a label, it has %lld column", path.c_str(),
           static_cast<long long>(width));
  const int64_t label_column = options.label_column < 0 ? width - 1 : options.label_column;
  PF_CHECK(label_column < width, Error::kInvalidArgument, "%s: label column %lld is outside the %lld columns",
           path.c_str(), static_cast<long long>(label_column + 1), static_cast<long long>(width));
  for (int64_t r = 0; r < rows; ++r) {
    const double* row = &values[static_cast<size_t>(r * width)];
    for (int64_t c = 0; c < width; ++c) {
      if (c != label_column) data.features.push_back(static_cast<float>(row[c]));
    }
    PF_RETURN_IF_ERROR(add_label(&data, row[label_column], path + ":" + std::to_string(lines[static_cast<size_t>(r)]) +
                                                               ": column " + std::to_string(label_column + 1)));
  }
  data.rows = rows;
  data.sample = make_desc(DType::F32, {width - 1});
  return Result<Dataset>(std::move(data));
}

Result<Dataset> load_npz(const std::string& path, const DataOptions& options) {
  Result<std::vector<uint8_t>> zip = read_binary(path);
  if (!zip.is_ok()) return zip.status();
  std::vector<uint8_t> x_bytes, y_bytes;
  PF_RETURN_IF_ERROR(npz_member(*zip, path, "x", &x_bytes));
  PF_RETURN_IF_ERROR(npz_member(*zip, path, "y", &y_bytes));
  Result<NpyArray> x = parse_npy(x_bytes.data(), x_bytes.size(), path + ": x");
  if (!x.is_ok()) return x.status();
  Result<NpyArray> y = parse_npy(y_bytes.data(), y_bytes.size(), path + ": y");
  if (!y.is_ok()) return y.status();
  return load_arrays(path, *x, *y, path + ": y", options);
}

Result<NpyArray> load_npz_array(const std::string& path, const std::string& name) {
  Result<std::vector<uint8_t>> zip = read_binary(path);
  if (!zip.is_ok()) return zip.status();
  std::vector<uint8_t> member;
  PF_RETURN_IF_ERROR(npz_member(*zip, path, name, &member));
  return parse_npy(member.data(), member.size(), path + ": " + name);
}

Result<Dataset> load_dataset(const std::string& path, const DataOptions& options) {
  if (ends_with(path, ".csv") || ends_with(path, ".csv.gz")) return load_csv(path, options);
  if (ends_with(path, ".npz")) return load_npz(path, options);
  const bool npy = ends_with(path, ".npy");
  const bool idx = path.find("idx") != std::string::npos;
  PF_CHECK(npy || idx, Error::kInvalidArgument,
           "%s: unknown data format (use .csv, .csv.gz, .npz, .npy with --labels, or IDX with --labels)", path.c_str());
  PF_CHECK(!options.labels_path.empty(), Error::kInvalidArgument, "%s: a %s features file needs a labels file (--labels)",
           path.c_str(), npy ? ".npy" : "IDX");
  Result<NpyArray> x = npy ? read_npy(path) : read_idx(path);
  if (!x.is_ok()) return x.status();
  const bool labels_npy = ends_with(options.labels_path, ".npy");
  Result<NpyArray> y = labels_npy ? read_npy(options.labels_path) : read_idx(options.labels_path);
  if (!y.is_ok()) return y.status();
  return load_arrays(path, *x, *y, options.labels_path, options);
}

std::vector<float> prior_bias(const Dataset& data, int64_t classes) {
  if (!data.classification) {
    double mean = 0.0, variance = 0.0;
    target_moments(data, &mean, &variance);
    return {static_cast<float>(mean)};
  }
  std::vector<double> counts(static_cast<size_t>(classes > 0 ? classes : 0), 0.0);
  for (int64_t label : data.labels) {
    if (label >= 0 && label < classes) counts[static_cast<size_t>(label)] += 1.0;
  }
  std::vector<float> bias;
  const double rows = static_cast<double>(data.rows > 0 ? data.rows : 1);
  for (double count : counts) bias.push_back(static_cast<float>(std::log((count > 0 ? count : 0.5) / rows)));
  return bias;
}

FeatureScaling standardize(Dataset* train, Dataset* validation) {
  const int64_t width = train->sample_elements();
  FeatureScaling scaling;
  std::vector<double> sum(static_cast<size_t>(width), 0.0), squares(static_cast<size_t>(width), 0.0);
  for (int64_t r = 0; r < train->rows; ++r) {
    for (int64_t c = 0; c < width; ++c) sum[static_cast<size_t>(c)] += train->features[static_cast<size_t>(r * width + c)];
  }
  const double rows = static_cast<double>(train->rows > 0 ? train->rows : 1);
  for (int64_t c = 0; c < width; ++c) scaling.mean.push_back(static_cast<float>(sum[static_cast<size_t>(c)] / rows));
  for (int64_t r = 0; r < train->rows; ++r) {
    for (int64_t c = 0; c < width; ++c) {
      const double d = train->features[static_cast<size_t>(r * width + c)] - scaling.mean[static_cast<size_t>(c)];
      squares[static_cast<size_t>(c)] += d * d;
    }
  }
  for (int64_t c = 0; c < width; ++c) {
    const double deviation = std::sqrt(squares[static_cast<size_t>(c)] / rows);
    scaling.std.push_back(deviation > 0 ? static_cast<float>(deviation) : 1.0f);
  }
  for (Dataset* data : {train, validation}) {
    if (!data) continue;
    for (size_t i = 0; i < data->features.size(); ++i) {
      const size_t c = i % static_cast<size_t>(width);
      data->features[i] = (data->features[i] - scaling.mean[c]) / scaling.std[c];
    }
  }
  return scaling;
}

void target_moments(const Dataset& data, double* mean, double* variance) {
  double sum = 0.0, squares = 0.0;
  for (float t : data.targets) sum += t;
  *mean = data.targets.empty() ? 0.0 : sum / static_cast<double>(data.targets.size());
  for (float t : data.targets) squares += (t - *mean) * (t - *mean);
  *variance = data.targets.empty() ? 0.0 : squares / static_cast<double>(data.targets.size());
}

Status reshape_samples(Dataset* data, const TensorDesc& sample) {
  char want[96], have[96];
  PF_CHECK(sample.num_elements() == data->sample_elements(), Error::kInvalidArgument,
           "%s: a sample has %lld values (%s), the model takes %lld (%s)", data->source.c_str(),
           static_cast<long long>(data->sample_elements()), describe(data->sample, have, sizeof have),
           static_cast<long long>(sample.num_elements()), describe(sample, want, sizeof want));
  data->sample = sample;
  data->sample.dtype = DType::F32;
  return Status::ok();
}

Status split_dataset(const Dataset& data, double validation_fraction, uint64_t seed, Dataset* train,
                     Dataset* validation) {
  PF_CHECK(validation_fraction > 0.0 && validation_fraction < 1.0, Error::kInvalidArgument,
           "the validation fraction must be in (0, 1), got %g", validation_fraction);
  std::vector<int64_t> order(static_cast<size_t>(data.rows));
  for (int64_t i = 0; i < data.rows; ++i) order[static_cast<size_t>(i)] = i;
  SplitMix64 rng(seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.next() % i]);
  const int64_t validation_rows = static_cast<int64_t>(std::llround(validation_fraction * static_cast<double>(data.rows)));
  const int64_t train_rows = data.rows - validation_rows;
  PF_CHECK(train_rows >= 1 && validation_rows >= 1, Error::kInvalidArgument,
           "%s: %lld rows cannot be split %g for validation with both parts non-empty", data.source.c_str(),
           static_cast<long long>(data.rows), validation_fraction);
  for (int part = 0; part < 2; ++part) {
    Dataset* out = part == 0 ? train : validation;
    const int64_t first = part == 0 ? 0 : train_rows;
    const int64_t count = part == 0 ? train_rows : validation_rows;
    *out = Dataset();
    out->source = data.source + (part == 0 ? " (train)" : " (validation)");
    out->rows = count;
    out->sample = data.sample;
    out->classification = data.classification;
    out->features.resize(static_cast<size_t>(count * data.sample_elements()));
    if (data.classification) out->labels.resize(static_cast<size_t>(count));
    else out->targets.resize(static_cast<size_t>(count));
    gather_batch(data, &order[static_cast<size_t>(first)], count, out->features.data(),
                 data.classification ? static_cast<void*>(out->labels.data()) : static_cast<void*>(out->targets.data()));
  }
  return Status::ok();
}

void gather_batch(const Dataset& data, const int64_t* indices, int64_t count, float* features, void* labels) {
  const int64_t width = data.sample_elements();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t row = indices[i];
    if (width) std::memcpy(features + i * width, &data.features[static_cast<size_t>(row * width)], static_cast<size_t>(width) * sizeof(float));
    if (data.classification) static_cast<int64_t*>(labels)[i] = data.labels[static_cast<size_t>(row)];
    else static_cast<float*>(labels)[i] = data.targets[static_cast<size_t>(row)];
  }
}

}  // namespace preflight
