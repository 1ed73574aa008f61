#include "trainer/dataset.h"

#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <strings.h>

#include "graph/random.h"
#include "runtime/file_io.h"
#include "trainer/npy.h"

namespace preflight {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The bytes of a regular file within the input budget (runtime/file_io.h).
Result<std::vector<uint8_t>> read_binary(const std::string& path) {
  std::vector<uint8_t> bytes;
  PF_RETURN_IF_ERROR(read_regular_file(path.c_str(), &bytes));
  return Result<std::vector<uint8_t>>(std::move(bytes));
}

bool is_gzip(const std::vector<uint8_t>& bytes) { return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b; }

// Inflates a gzip file (concatenated members are one stream, as gzip -d reads them), the output
// within the input budget. A stream cut short (no trailer), a bad CRC or length, or bytes after the
// last member that do not start another one are errors naming the file: a truncated download never
// trains silently on the rows before the cut.
template <typename Out>
Status inflate_gzip(const std::vector<uint8_t>& in, const std::string& path, Out* out) {
  const char* where = path.c_str();
  z_stream z;
  std::memset(&z, 0, sizeof z);
  PF_CHECK(inflateInit2(&z, 15 + 16) == Z_OK, Error::kInternal, "%s: zlib could not start", where);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = 0;
  size_t fed = 0;
  const uint64_t budget = input_budget();
  std::vector<char> chunk(1 << 16);
  Status status;
  for (;;) {
    if (z.avail_in == 0 && fed < in.size()) {  // avail_in is 32 bits: feed at most 1 GiB at a time
      const size_t take = std::min<size_t>(in.size() - fed, size_t{1} << 30);
      z.next_in = const_cast<Bytef*>(in.data() + fed);
      z.avail_in = static_cast<uInt>(take);
      fed += take;
    }
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    const int rc = inflate(&z, Z_NO_FLUSH);
    const size_t produced = chunk.size() - z.avail_out;
    if (out->size() + produced > budget) {
      status = over_input_budget(where, "the inflated data");
      break;
    }
    out->insert(out->end(), chunk.data(), chunk.data() + produced);
    if (rc == Z_STREAM_END) {
      const size_t rest = z.avail_in + (in.size() - fed);
      if (rest == 0) break;
      if (rest >= 2 && z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
        inflateReset(&z);  // another member
        continue;
      }
      status = Status::error(Error::kInvalidArgument, "%s: %zu bytes after the end of the gzip data (a damaged or "
                             "appended-to file)", where, rest);
      break;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && fed == in.size()) {
      status = Status::error(Error::kInvalidArgument, "%s: the gzip data ends early after %zu inflated bytes (the file "
                             "is truncated)", where, out->size());
      break;
    }
    if (rc == Z_BUF_ERROR) continue;
    status = Status::error(Error::kInvalidArgument, "%s: corrupt gzip data: %s", where,
                           z.msg ? z.msg : rc == Z_MEM_ERROR ? "out of memory" : "bad stream");
    break;
  }
  inflateEnd(&z);
  return status;
}

// A file's bytes, inflated when they are gzip data (recognised by the magic, whatever the name; a
// name ending in .gz must hold gzip data): std::string for text, std::vector<uint8_t> for IDX.
template <typename Out>
Status read_maybe_gzip(const std::string& path, Out* out) {
  Result<std::vector<uint8_t>> raw = read_binary(path);
  if (!raw.is_ok()) return raw.status();
  if (is_gzip(*raw)) return inflate_gzip(*raw, path, out);
  PF_CHECK(!ends_with(path, ".gz"), Error::kInvalidArgument, "%s: not gzip data (no 1f 8b magic) although the name "
           "ends in .gz", path.c_str());
  out->assign(raw->begin(), raw->end());
  return Status::ok();
}

Result<std::string> read_text(const std::string& path) {
  std::string text;
  PF_RETURN_IF_ERROR(read_maybe_gzip(path, &text));
  return Result<std::string>(std::move(text));
}

// A CSV field as a number: the whole field (spaces around it aside) is a decimal float
// ([+-]digits[.digits][e[+-]digits]) or one of the words NumPy and pandas write for non-finite
// values (nan, inf, infinity, any case, with a sign). Hex, trailing text, NUL bytes are not numbers.
bool parse_number(const char* begin, const char* end, double* value) {
  while (begin < end && (*begin == ' ' || *begin == '\t')) ++begin;
  while (end > begin && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) --end;
  const char* p = begin;
  if (p < end && (*p == '+' || *p == '-')) ++p;
  const size_t rest = static_cast<size_t>(end - p);
  const auto word = [&](const char* w) { return rest == std::strlen(w) && strncasecmp(p, w, rest) == 0; };
  if (word("nan") || word("inf") || word("infinity")) {
    const bool negative = *begin == '-';
    *value = word("nan") ? std::nan("") : negative ? -HUGE_VAL : HUGE_VAL;
    return true;
  }
  const char* digits = p;
  while (p < end && *p >= '0' && *p <= '9') ++p;
  bool any = p > digits;
  if (p < end && *p == '.') {
    const char* fraction = ++p;
    while (p < end && *p >= '0' && *p <= '9') ++p;
    any = any || p > fraction;
  }
  if (!any) return false;
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    const char* exponent = p;
    while (p < end && *p >= '0' && *p <= '9') ++p;
    if (p == exponent) return false;
  }
  if (p != end) return false;
  char buffer[64];
  const size_t length = static_cast<size_t>(end - begin);
  if (length < sizeof buffer) {
    std::memcpy(buffer, begin, length);
    buffer[length] = '\0';
    *value = std::strtod(buffer, nullptr);
  } else {
    *value = std::strtod(std::string(begin, end).c_str(), nullptr);
  }
  return true;
}

// Sets a label or target from a number, checking that classes are whole and non-negative.
Status add_label(Dataset* data, double value, const std::string& where) {
  if (data->classification) {
    PF_CHECK(value >= 0 && value == std::floor(value), Error::kInvalidArgument,
             "%s: label %g is not a class (a whole number >= 0)", where.c_str(), value);
    PF_CHECK(value < static_cast<double>(kMaxClasses), Error::kInvalidArgument,
             "%s: label %.17g is above the limit of %lld classes (labels 0 to %lld)", where.c_str(), value,
             static_cast<long long>(kMaxClasses), static_cast<long long>(kMaxClasses - 1));
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

// The zip archive of an .npz held in `bytes` (libzip reads it from memory); the caller closes it.
Result<zip_t*> open_npz(const std::vector<uint8_t>& bytes, const std::string& path) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  zip_t* archive = source ? zip_open_from_source(source, ZIP_RDONLY, &error) : nullptr;
  if (!archive) {
    if (source) zip_source_free(source);
    const std::string reason = zip_error_strerror(&error);
    zip_error_fini(&error);
    return Status::error(Error::kInvalidArgument, "%s: not a .npz (zip) file: %s", path.c_str(), reason.c_str());
  }
  zip_error_fini(&error);
  return Result<zip_t*>(archive);
}

// The names of an .npz's arrays (its members without ".npy"; a member of another kind keeps its name).
Result<std::vector<std::string>> npz_names(const std::vector<uint8_t>& bytes, const std::string& path) {
  Result<zip_t*> opened = open_npz(bytes, path);
  if (!opened.is_ok()) return opened.status();
  zip_t* archive = *opened;
  std::vector<std::string> names;
  const zip_int64_t count = zip_get_num_entries(archive, 0);
  for (zip_int64_t i = 0; i < count && i < 4096; ++i) {
    const char* name = zip_get_name(archive, static_cast<zip_uint64_t>(i), 0);
    std::string text = name ? name : "";
    if (ends_with(text, ".npy")) text.resize(text.size() - 4);
    names.push_back(text);
  }
  zip_close(archive);
  return Result<std::vector<std::string>>(std::move(names));
}

std::string npz_list(const std::vector<std::string>& names) {
  std::string list;
  for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
  return list.empty() ? "nothing" : list;
}

// ---- .npz: a zip archive of .npy files (libzip reads it, stored or deflated, zip64 included) ----
Status npz_member(const std::vector<uint8_t>& bytes, const std::string& path, const std::string& wanted,
                  std::vector<uint8_t>* member) {
  const char* where = path.c_str();
  Result<zip_t*> opened = open_npz(bytes, path);
  if (!opened.is_ok()) return opened.status();
  zip_t* archive = *opened;
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
  if (info.size > input_budget()) {
    zip_close(archive);
    char what[128];
    std::snprintf(what, sizeof what, "member %s (%llu bytes inflated)", name.c_str(), static_cast<unsigned long long>(info.size));
    return over_input_budget(where, what);
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
// Plain or gzipped, as MNIST and Fashion-MNIST are distributed (train-images-idx3-ubyte.gz).
Result<NpyArray> read_idx(const std::string& path) {
  std::vector<uint8_t> b;
  PF_RETURN_IF_ERROR(read_maybe_gzip(path, &b));
  const char* where = path.c_str();
  PF_CHECK(b.size() >= 4 && b[0] == 0 && b[1] == 0, Error::kInvalidArgument,
           "%s: not an IDX file (the first two bytes of an IDX header are 0)", where);
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

// What read_csv_rows reads: the columns a row must have (-1: as many as the first row, at most
// kMaxCsvColumns) and why ("the model takes 64 features and a label"), and the label column
// (-1: none, -2: the last), kept apart from the features as doubles.
struct CsvLayout {
  int64_t expected_width = -1;
  std::string expected_why;
  int64_t label_column = -1;
  bool allow_non_finite = false;
};

// The rows of numbers of a CSV file (a first line with words is a header and skipped), each as
// wide as the first (or as the layout expects); features as float, the label column as double.
// Errors name the file, the line and the column. A row wider than expected or than the limit is
// refused as it is read, before its fields are stored.
Status read_csv_rows(const std::string& path, const CsvLayout& layout, std::vector<float>* features,
                     std::vector<double>* labels, int64_t* width, int64_t* rows, std::vector<int64_t>* line_numbers) {
  Result<std::string> text = read_text(path);
  if (!text.is_ok()) return text.status();
  const char* where = path.c_str();
  const int64_t max_width = layout.expected_width > 0 ? layout.expected_width : kMaxCsvColumns;
  std::vector<std::pair<const char*, const char*>> fields;
  std::vector<double> row;
  *width = -1;
  *rows = 0;
  bool seen_line = false;
  const char* const text_end = text->data() + text->size();
  const char* start = text->data();
  for (int64_t line_number = 1; start < text_end; ++line_number) {
    const char* end = static_cast<const char*>(std::memchr(start, '\n', static_cast<size_t>(text_end - start)));
    if (!end) end = text_end;
    const char* line = start;
    const char* line_end = end > line && end[-1] == '\r' ? end - 1 : end;
    start = end + 1;
    bool blank = true, control = false;
    for (const char* p = line; p < line_end; ++p) {
      blank = blank && (*p == ' ' || *p == '\t');
      control = control || (static_cast<unsigned char>(*p) < 0x20 && *p != '\t');
    }
    if (blank) continue;
    // The fields: at commas, or (a line without commas) at runs of spaces or tabs, as sklearn's
    // diabetes_data_raw.csv has them. At most max_width + 1 are split off.
    fields.clear();
    if (std::memchr(line, ',', static_cast<size_t>(line_end - line))) {
      const char* at = line;
      for (;;) {
        const char* comma = static_cast<const char*>(std::memchr(at, ',', static_cast<size_t>(line_end - at)));
        fields.emplace_back(at, comma ? comma : line_end);
        if (!comma || static_cast<int64_t>(fields.size()) > max_width) break;
        at = comma + 1;
      }
    } else {
      const char* at = line;
      while (at < line_end && static_cast<int64_t>(fields.size()) <= max_width) {
        while (at < line_end && (*at == ' ' || *at == '\t')) ++at;
        if (at == line_end) break;
        const char* field_end = at;
        while (field_end < line_end && *field_end != ' ' && *field_end != '\t') ++field_end;
        fields.emplace_back(at, field_end);
        at = field_end;
      }
    }
    if (static_cast<int64_t>(fields.size()) > max_width) {
      if (layout.expected_width > 0) {
        return Status::error(Error::kInvalidArgument, "%s:%lld: the row has more than %lld column%s, expected %lld (%s)",
                             where, static_cast<long long>(line_number), static_cast<long long>(max_width),
                             max_width == 1 ? "" : "s", static_cast<long long>(layout.expected_width),
                             layout.expected_why.c_str());
      }
      return Status::error(Error::kResourceLimit, "%s:%lld: the row has more than %lld columns, the limit of a CSV "
                           "data set", where, static_cast<long long>(line_number), static_cast<long long>(kMaxCsvColumns));
    }
    row.resize(fields.size());
    size_t bad = fields.size();
    for (size_t c = 0; c < fields.size() && bad == fields.size(); ++c) {
      if (!parse_number(fields[c].first, fields[c].second, &row[c])) bad = c;
    }
    const bool first_line = !seen_line;
    seen_line = true;
    if (bad != fields.size()) {
      // The first line, with words, is a header (e.g. sklearn's "150,4,setosa,..."): skip it.
      if (first_line && !control) continue;
      const std::string field(fields[bad].first, std::min<size_t>(static_cast<size_t>(fields[bad].second - fields[bad].first), 40));
      return Status::error(Error::kInvalidArgument, "%s:%lld: column %zu: '%s%s' is not a number", where,
                           static_cast<long long>(line_number), bad + 1, field.c_str(),
                           fields[bad].second - fields[bad].first > 40 ? "..." : "");
    }
    if (*width < 0) {
      *width = static_cast<int64_t>(fields.size());
      PF_CHECK(layout.expected_width < 0 || *width == layout.expected_width, Error::kInvalidArgument,
               "%s:%lld: the row has %lld columns, expected %lld (%s)", where, static_cast<long long>(line_number),
               static_cast<long long>(*width), static_cast<long long>(layout.expected_width), layout.expected_why.c_str());
    }
    PF_CHECK(static_cast<int64_t>(fields.size()) == *width, Error::kInvalidArgument,
             "%s:%lld: the row has %zu columns, the first row has %lld", where,
             static_cast<long long>(line_number), fields.size(), static_cast<long long>(*width));
    const int64_t label = layout.label_column == -2 ? *width - 1 : layout.label_column;
    PF_CHECK(label < *width, Error::kInvalidArgument, "%s: label column %lld is outside the %lld columns", where,
             static_cast<long long>(label + 1), static_cast<long long>(*width));
    for (int64_t c = 0; c < *width; ++c) {
      const double value = row[static_cast<size_t>(c)];
      if (c == label) {  // not checked for finiteness here: the label's own check names it
        labels->push_back(value);
        continue;
      }
      PF_CHECK(layout.allow_non_finite || std::isfinite(value), Error::kInvalidArgument,
               "%s:%lld: column %lld is %s", where, static_cast<long long>(line_number),
               static_cast<long long>(c + 1), std::isnan(value) ? "NaN" : "infinite");
      features->push_back(static_cast<float>(value));
    }
    line_numbers->push_back(line_number);
    ++*rows;
  }
  PF_CHECK(*rows > 0, Error::kInvalidArgument, "%s: the data set is empty (no rows of numbers)", where);
  return Status::ok();
}

}  // namespace

Result<Dataset> load_csv(const std::string& path, const DataOptions& options) {
  Dataset data;
  data.source = path;
  data.classification = !options.regression;
  std::vector<double> labels;
  std::vector<int64_t> lines;
  int64_t width = 0, rows = 0;
  const std::string features_why =
      options.expected_features > 0 ? "the model takes " + std::to_string(options.expected_features) + " features" : "";
  CsvLayout layout;
  layout.allow_non_finite = options.allow_non_finite;
  if (!options.labels_path.empty()) {
    // Features here, one label per row in a file of its own (e.g. diabetes_data_raw + diabetes_target).
    layout.expected_width = options.expected_features > 0 ? options.expected_features : -1;
    layout.expected_why = features_why;
    PF_RETURN_IF_ERROR(read_csv_rows(path, layout, &data.features, &labels, &width, &rows, &lines));
    std::vector<int64_t> label_lines;
    std::vector<float> none;
    int64_t label_width = 0, label_rows = 0;
    CsvLayout label_layout;
    label_layout.expected_width = 1;
    label_layout.expected_why = "a labels file has one column";
    label_layout.label_column = 0;
    PF_RETURN_IF_ERROR(
        read_csv_rows(options.labels_path, label_layout, &none, &labels, &label_width, &label_rows, &label_lines));
    PF_CHECK(label_rows == rows, Error::kInvalidArgument, "%s has %lld rows of labels, %s has %lld rows of features",
             options.labels_path.c_str(), static_cast<long long>(label_rows), path.c_str(), static_cast<long long>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      PF_RETURN_IF_ERROR(add_label(&data, labels[static_cast<size_t>(r)],
                                   options.labels_path + ":" + std::to_string(label_lines[static_cast<size_t>(r)])));
    }
    data.rows = rows;
    data.sample = make_desc(DType::F32, {width});
    return Result<Dataset>(std::move(data));
  }
  layout.label_column = options.label_column < 0 ? -2 : options.label_column;
  if (options.expected_features > 0) {
    layout.expected_width = options.expected_features + 1;
    layout.expected_why = features_why + " and a label";
  }
  PF_RETURN_IF_ERROR(read_csv_rows(path, layout, &data.features, &labels, &width, &rows, &lines));
  PF_CHECK(width >= 2, Error::kInvalidArgument, "%s: a row needs features and a label, it has %lld column", path.c_str(),
           static_cast<long long>(width));
  const int64_t label_column = options.label_column < 0 ? width - 1 : options.label_column;
  for (int64_t r = 0; r < rows; ++r) {
    PF_RETURN_IF_ERROR(add_label(&data, labels[static_cast<size_t>(r)],
                                 path + ":" + std::to_string(lines[static_cast<size_t>(r)]) + ": column " +
                                     std::to_string(label_column + 1)));
  }
  data.rows = rows;
  data.sample = make_desc(DType::F32, {width - 1});
  return Result<Dataset>(std::move(data));
}

Result<Dataset> load_npz(const std::string& path, const DataOptions& options) {
  Result<std::vector<uint8_t>> zip = read_binary(path);
  if (!zip.is_ok()) return zip.status();
  Result<std::vector<std::string>> members = npz_names(*zip, path);
  if (!members.is_ok()) return members.status();
  const auto has = [&](const std::string& name) {
    return std::find(members->begin(), members->end(), name) != members->end();
  };
  // The pairs an archive may hold: x/y, or Keras' x_train/y_train (mnist.npz), and beside it a
  // validation pair (x_val/y_val, x_valid/y_valid) or else a test pair (x_test/y_test), which
  // becomes the validation split.
  std::string train_suffix;
  if (!(has("x") && has("y"))) {
    PF_CHECK(has("x_train") && has("y_train"), Error::kInvalidArgument,
             "%s: no arrays x and y (nor x_train and y_train) (the archive has: %s)", path.c_str(), npz_list(*members).c_str());
    train_suffix = "_train";
  }
  std::string held_out_suffix;
  for (const char* suffix : {"_val", "_valid", "_test"}) {
    if (held_out_suffix.empty() && has(std::string("x") + suffix) && has(std::string("y") + suffix)) held_out_suffix = suffix;
  }
  const auto load_pair = [&](const std::string& suffix) -> Result<Dataset> {
    std::vector<uint8_t> x_bytes, y_bytes;
    PF_RETURN_IF_ERROR(npz_member(*zip, path, "x" + suffix, &x_bytes));
    Result<NpyArray> x = parse_npy(x_bytes.data(), x_bytes.size(), path + ": x" + suffix);
    if (!x.is_ok()) return x.status();
    std::vector<uint8_t>().swap(x_bytes);
    PF_RETURN_IF_ERROR(npz_member(*zip, path, "y" + suffix, &y_bytes));
    Result<NpyArray> y = parse_npy(y_bytes.data(), y_bytes.size(), path + ": y" + suffix);
    if (!y.is_ok()) return y.status();
    return load_arrays(path, *x, *y, path + ": y" + suffix, options);
  };
  Result<Dataset> data = load_pair(train_suffix);
  if (!data.is_ok()) return data.status();
  std::vector<std::string> read = {"x" + train_suffix, "y" + train_suffix};
  if (!held_out_suffix.empty()) {
    Result<Dataset> held_out = load_pair(held_out_suffix);
    if (!held_out.is_ok()) return held_out.status();
    held_out->source = path + " (x" + held_out_suffix + ", y" + held_out_suffix + ")";
    data->validation = std::make_shared<Dataset>(std::move(*held_out));
    read.push_back("x" + held_out_suffix);
    read.push_back("y" + held_out_suffix);
    data->notes.push_back(path + ": x" + held_out_suffix + " and y" + held_out_suffix + " are the validation split");
  }
  std::vector<std::string> unread;
  for (const std::string& name : *members) {
    if (std::find(read.begin(), read.end(), name) == read.end()) unread.push_back(name);
  }
  if (!unread.empty()) data->notes.push_back(path + ": not read: " + npz_list(unread));
  return data;
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
