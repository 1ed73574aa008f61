// The command line against hostile and odd input (docs/reliability.md): every refusal exits 2 with
// a line that names the file, the flag or the row; nothing hangs on a FIFO, nothing is read through
// a device, nothing of the user's is written over, nothing the files say reaches the terminal raw.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>

#include "models/models.h"
#include "graph/builder.h"
#include "graph/training.h"
#include "runtime/file_io.h"
#include "tools/cli_util.h"
#include "trainer/npy.h"

#if PREFLIGHT_HAVE_ONNX
#include <onnx/onnx_pb.h>
#endif

namespace preflight {
namespace {

// Every command that could wait on a FIFO runs under `timeout`: a hang fails, it does not stall.
const char* const kTimeout = "timeout 60";
// Under qemu-user (targets/aarch64_suite.sh) every start of the program costs seconds: the cases
// below run one of each kind there (what they test does not depend on the architecture).
using test::kEmulated;

std::string fresh_folder(const std::string& name) {
  const std::string folder = out_path("input_" + name);
  REQUIRE(std::system(("rm -rf '" + folder + "' && mkdir -p '" + folder + "'").c_str()) == 0);
  return folder;
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

void write_graph(const std::string& path, const graph::Graph& graph) {
  const Bytes bytes = graph::serialize(graph);
  REQUIRE(write_file_atomic(path.c_str(), bytes.data(), bytes.size()).is_ok());
}

const std::string kDigits = test::source_path("data/digits.csv.gz");

TEST_CASE("cli input: a method without outputs or a train_step without its loss is refused by every command, exit 2") {
  const std::string folder = fresh_folder("contract");
  Result<graph::Graph> base = models::build_model("mlp", 32, 1);
  REQUIRE(base.is_ok());
  REQUIRE(graph::add_training_methods(&*base, graph::TrainingOptions()).is_ok());
  struct Case {
    std::string what, expected;
    void (*mutate)(graph::Graph&);
  };
  const Case cases[] = {
      {"train_step without outputs", "method 'train_step': the method has no outputs",
       [](graph::Graph& g) { g.methods[static_cast<size_t>(g.find_method("train_step"))].outputs.clear(); }},
      {"train_step without its loss", "method 'train_step': the method has 1 output",
       [](graph::Graph& g) { g.methods[static_cast<size_t>(g.find_method("train_step"))].outputs.erase(
                                 g.methods[static_cast<size_t>(g.find_method("train_step"))].outputs.begin()); }},
      {"eval's outputs swapped", "method 'eval': output 0 tensor",
       [](graph::Graph& g) {
         std::vector<int>& outputs = g.methods[static_cast<size_t>(g.find_method("eval"))].outputs;
         std::swap(outputs[0], outputs[1]);
       }},
      {"infer without outputs", "method 'infer': the method has no outputs",
       [](graph::Graph& g) { g.methods[static_cast<size_t>(g.find_method("infer"))].outputs.clear(); }},
  };
  for (const Case& c : cases) {
    if (kEmulated && &c != &cases[0]) break;
    graph::Graph g = *base;
    c.mutate(g);
    const std::string model = folder + "/bad.pfb";
    write_graph(model, g);
    for (const std::string& command : {"inspect " + model + " --plan", "train " + model + " --data " + kDigits + " --epochs 1",
                                       "check " + model + " --out ''", "to-json " + model + " -o " + folder + "/bad.json"}) {
      const CommandResult result = run_cli(command);
      CHECK_MESSAGE(result.exit_code == 2, c.what << ": " << command << ": " << result.output);
      CHECK_MESSAGE(test::contains(result.output.c_str(), c.expected.c_str()), c.what << ": " << command << ": " << result.output);
    }
  }
}

TEST_CASE("cli input: a label that would size the model is refused with its row and value") {
  const std::string folder = fresh_folder("label");
  write_bytes(folder + "/big.csv", "0.5,1.5,0\n1.5,0.5,1\n2.5,2.5,99999999999999\n");
  for (const std::string& command : {"check mlp --data " + folder + "/big.csv --out ''",
                                     "check mlp --data " + folder + "/big.csv --init-bias --out ''"}) {
    const CommandResult result = run_cli(command);
    CHECK_MESSAGE(result.exit_code == 2, result.output);
    CHECK(test::contains(result.output.c_str(), "big.csv:3: column 3: label 99999999999999 is above the limit of 65536 classes"));
  }
}

TEST_CASE("cli input: devices, FIFOs and folders are refused at once, through links too, as model, input, data, labels, checkpoint") {
  const std::string folder = fresh_folder("special");
  const std::string model = folder + "/mlp.pfb", x = folder + "/x.npy";
  REQUIRE(run_cli("build-model mlp -o " + model).exit_code == 0);
  const std::vector<float> zeros(64, 0.0f);
  REQUIRE(write_npy(x, make_desc(DType::F32, {1, 64}), zeros.data()).is_ok());
  // Named .csv, so that every reader takes them for what it reads (the data reader goes by the name).
  REQUIRE(::symlink("/dev/zero", (folder + "/zero.csv").c_str()) == 0);
  REQUIRE(::mkfifo((folder + "/fifo.csv").c_str(), 0600) == 0);
  REQUIRE(::mkdir((folder + "/dir.csv").c_str(), 0755) == 0);
  struct Kind {
    std::string path, expected;
  };
  for (const Kind& kind : {Kind{folder + "/zero.csv", "a character device, not a regular file"},
                           Kind{folder + "/fifo.csv", "a FIFO, not a regular file"},
                           Kind{folder + "/dir.csv", "a folder, not a regular file"}}) {
    if (kEmulated && kind.path != folder + "/fifo.csv") continue;
    const std::string& p = kind.path;
    for (const std::string& command :
         {"inspect " + p, "run " + p + " -i " + x, "run " + model + " -i " + p, "train " + model + " --data " + p,
          "train " + model + " --data " + kDigits + " --val-data " + p, "train " + model + " --data " + kDigits + " --resume " + p,
          "check mlp --data " + kDigits + " --labels " + p + " --out ''", "to-json " + p, "from-json " + p + " -o " + folder + "/j.pfb",
          "convert " + p + " -o " + folder + "/c.pfb", "check mlp --config " + p + " --out ''"}) {
      const CommandResult result = run_cli(command, "", kTimeout);
      CHECK_MESSAGE(result.exit_code == 2, command << ": " << result.output);
      CHECK_MESSAGE(test::contains(result.output.c_str(), kind.expected.c_str()), command << ": " << result.output);
    }
  }
}

TEST_CASE("cli input: the input budget refuses a big file by its size; an allocation that fails all the same is exit 2") {
  const std::string folder = fresh_folder("budget");
  const std::string model = folder + "/mlp.pfb", big = folder + "/big.npy";
  REQUIRE(run_cli("build-model mlp -o " + model).exit_code == 0);
  // A valid .npy header for 600,000,000 floats (2.4 GB), the data a hole in a sparse file.
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (600000000,), }";
  dict.append(128 - 10 - dict.size() - 1, ' ');
  dict += '\n';
  write_bytes(big, std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(dict.size()) + '\0' + dict);
  REQUIRE(::truncate(big.c_str(), 128 + int64_t{2400000000}) == 0);
  const CommandResult refused = run_cli("run " + model + " -i " + big);
  CHECK(refused.exit_code == 2);
  CHECK_MESSAGE(test::contains(refused.output.c_str(), "big.npy: the file (2400000128 bytes) is above the input limit of 1024 MiB"),
                refused.output);
#if defined(__SANITIZE_ADDRESS__)
  MESSAGE("AddressSanitizer reserves its shadow memory: no address-space limit here");
#else
  if (kEmulated) return;  // qemu-user reserves address space of its own
  // Raised past the file, under a 1.5 GB address-space limit: the allocation fails, and it is an
  // error, not an abort.
  const CommandResult oom = run_cli("run " + model + " -i " + big + " --max-input-mb 4000", "", "ulimit -v 1500000 &&");
  CHECK(oom.exit_code == 2);
  CHECK_MESSAGE(test::contains(oom.output.c_str(), "preflight: error: out of memory"), oom.output);
#endif
}

TEST_CASE("cli input: a truncated or corrupt .csv.gz, a FIFO or a device as an output, exit 2 and nothing replaced") {
  const std::string folder = fresh_folder("gzip");
  std::ifstream digits(kDigits, std::ios::binary);
  const std::string gz((std::istreambuf_iterator<char>(digits)), std::istreambuf_iterator<char>());
  const std::string model = folder + "/mlp.pfb";
  REQUIRE(run_cli("build-model mlp -o " + model).exit_code == 0);
  write_bytes(folder + "/cut.csv.gz", gz.substr(0, gz.size() * 2 / 3));
  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 6] ^= 0x40;
  write_bytes(folder + "/crc.csv.gz", bad_crc);
  write_bytes(folder + "/trailing.csv.gz", gz + "more");
  write_bytes(folder + "/plain.csv.gz", "1,2,0\n");
  for (const std::string name : {"cut", "crc", "trailing", "plain"}) {
    const CommandResult result = run_cli("train " + model + " --data " + folder + "/" + name + ".csv.gz --epochs 1");
    CHECK_MESSAGE(result.exit_code == 2, name << ": " << result.output);
    CHECK(test::contains(result.output.c_str(), (name + ".csv.gz: ").c_str()));
  }
  // An output that is a FIFO or a device is refused before anything is written: the FIFO stays one.
  REQUIRE(::mkfifo((folder + "/out_fifo").c_str(), 0600) == 0);
  const CommandResult fifo = run_cli("build-model mlp -o " + folder + "/out_fifo", "", kTimeout);
  CHECK(fifo.exit_code == 2);
  CHECK(test::contains(fifo.output.c_str(), "a FIFO; an output must be a regular file"));
  struct stat info;
  REQUIRE(::lstat((folder + "/out_fifo").c_str(), &info) == 0);
  CHECK(S_ISFIFO(info.st_mode));
  // A device node of our own (the numbers of /dev/null), where this machine lets root make one.
  if (::mknod((folder + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
    const CommandResult device = run_cli("build-model mlp -o " + folder + "/null");
    CHECK(device.exit_code == 2);
    CHECK(test::contains(device.output.c_str(), "a character device; an output must be a regular file"));
    REQUIRE(::lstat((folder + "/null").c_str(), &info) == 0);
    CHECK(S_ISCHR(info.st_mode));
  } else {
    MESSAGE("mknod is not allowed here: the device case runs in file_io_test with a FIFO only");
  }
}

TEST_CASE("cli input: an output that is an input or another output is refused (device and inode), nothing written") {
  const std::string folder = fresh_folder("same");
  const std::string model = folder + "/mlp.pfb", x = folder + "/x.npy";
  REQUIRE(run_cli("build-model mlp -o " + model).exit_code == 0);
  REQUIRE(::link(model.c_str(), (folder + "/hard.pfb").c_str()) == 0);
  REQUIRE(::symlink("mlp.pfb", (folder + "/soft.pfb").c_str()) == 0);
  const std::vector<float> zeros(64, 0.0f);
  REQUIRE(write_npy(x, make_desc(DType::F32, {1, 64}), zeros.data()).is_ok());
  std::ifstream before(model, std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(before)), std::istreambuf_iterator<char>());
  const std::string train = "train " + model + " --data " + kDigits + " --epochs 1 ";
  for (const std::string& command : {train + "--checkpoint " + model, train + "--out " + folder + "/hard.pfb",
                                     train + "--checkpoint " + folder + "/soft.pfb",
                                     train + "--checkpoint " + folder + "/c.pfc --out " + folder + "/./c.pfc",
                                     train + "--out " + kDigits, "run " + model + " -i " + x + " -o " + x,
                                     "run " + model + " -i " + x + " -o " + model, "to-json " + model + " -o " + folder + "/soft.pfb",
                                     "check mlp --data " + folder + "/report.json --out " + folder}) {
    const CommandResult result = run_cli(command);
    CHECK_MESSAGE(result.exit_code == 2, command << ": " << result.output);
    CHECK_MESSAGE(test::contains(result.output.c_str(), "is the same file as"), command << ": " << result.output);
  }
  std::ifstream after(model, std::ios::binary);
  CHECK(std::string((std::istreambuf_iterator<char>(after)), std::istreambuf_iterator<char>()) == original);
}

TEST_CASE("cli input: every numeric flag is checked against its range as it is parsed, naming the flag and the value") {
  const std::string folder = fresh_folder("flags");
  const std::string model = folder + "/mlp.pfb";
  REQUIRE(run_cli("build-model mlp -o " + model).exit_code == 0);
  const std::string train = "train " + model + " --data " + kDigits + " ";
  struct Case {
    std::string command, flag;
    std::vector<std::string> values;
  };
  const std::vector<Case> cases = {
      {train, "--lr", {"-1", "0", "nan", "inf", "1e20", "1x"}},
      {train, "--max-steps", {"-5", "1e20"}},
      {train, "--patience", {"-1"}},
      {train, "--checkpoint-every", {"-1"}},
      {train, "--max-grad-norm", {"nan", "0"}},
      {train, "--momentum", {"1.5"}},
      {train, "--weight-decay", {"-1"}},
      {train, "--epochs", {"0"}},
      {train, "--batch", {"0"}},
      {train, "--val-fraction", {"1", "nan"}},
      {train, "--scale", {"nan"}},
      {train, "--threads", {"1000"}},
      {train, "--max-input-mb", {"0"}},
      {"check --full --out '' ", "--epochs", {"-5"}},
      {"check --out '' ", "--full-lr", {"-1"}},
      {"check --out '' ", "--lr", {"nan"}},
      {"check --out '' ", "--batch", {"0"}},
      {"build-model mlp -o " + folder + "/b.pfb ", "--batch", {"0", "2000000"}},
      {"convert " + test::source_path("tests/fixtures/onnx/mlp.onnx") + " -o " + folder + "/c.pfb ", "--rtol", {"-1"}},
      {"convert " + test::source_path("tests/fixtures/onnx/mlp.onnx") + " -o " + folder + "/c.pfb ", "--atol", {"nan"}},
  };
  int refused = 0;
  for (const Case& c : cases) {
    for (const std::string& value : c.values) {
      if (kEmulated && &value != &c.values[0]) break;
      const CommandResult result = run_cli(c.command + c.flag + " " + value);
      CHECK_MESSAGE(result.exit_code == 2, c.flag << " " << value << ": " << result.output);
      CHECK_MESSAGE(test::contains(result.output.c_str(), (c.flag + ": " + value).c_str()), c.flag << " " << value << ": " << result.output);
      ++refused;
    }
  }
  MESSAGE(refused << " bad flag values refused");
  // Counts inside a spec: last:N is a whole number within the model's layers.
  for (const std::string spec : {"last:1e20", "last:99999999999999999999", "last:0", "last:-1", "last:5"}) {
    const CommandResult result = run_cli(train + "--epochs 1 --trainable " + spec);
    CHECK_MESSAGE(result.exit_code == 2, spec << ": " << result.output);
    CHECK_MESSAGE(test::contains(result.output.c_str(), ("trainable '" + spec + "'").c_str()), result.output);
  }
  // A pattern nested 20,000 deep (std::regex overflowed its stack on it) is matched by RE2 like
  // any other: it selects the weights; a pattern that does not parse is refused.
  const std::string deep = std::string(20000, '(') + "weight" + std::string(20000, ')');
  const CommandResult regex = run_cli(train + "--epochs 1 --max-steps 2 --trainable '" + deep + "'");
  CHECK_MESSAGE(regex.exit_code == 0, regex.output.substr(regex.output.size() > 600 ? regex.output.size() - 600 : 0));
  CHECK(test::contains(regex.output.c_str(), "epoch 1/1"));
  const CommandResult bad = run_cli(train + "--epochs 1 --trainable '(w'");
  CHECK(bad.exit_code == 2);
  CHECK_MESSAGE(test::contains(bad.output.c_str(), "trainable '(w' is not a valid regular expression: missing )"), bad.output);
}

TEST_CASE("cli input: names, descriptions and fields from files are printed escaped: no control byte reaches the terminal") {
  const std::string folder = fresh_folder("escape");
  // A model whose input, output and description carry every byte from 1 to 255.
  std::string all;
  for (int b = 1; b < 256; ++b) all += static_cast<char>(b);
  graph::GraphBuilder builder(1);
  graph::Value x = builder.input("x\x1b]0;pwned\x07", DType::F32, {1, 4});
  builder.output(builder.relu(x), "y\x1b[2J" + all);
  Result<graph::Graph> g = builder.finish();
  REQUIRE(g.is_ok());
  g->metadata.description = all;
  const std::string model = folder + "/escape.pfb";
  write_graph(model, *g);
  // A data file whose field holds an escape sequence, and one row too short after it.
  write_bytes(folder + "/escape.csv", "1,2,0\n\x1b[31mred,2,1\n");
  const auto clean = [](const std::string& output) {
    for (unsigned char c : output) {
      if (c < 0x20 && c != '\n') return false;
      if (c == 0x7f) return false;
    }
    return true;
  };
  for (const std::string& command : {"inspect " + model + " --tensors", "check mlp --data " + folder + "/escape.csv --out ''",
                                     "run " + model + " -i " + folder + "/missing\x1b[2J.npy"}) {
    const CommandResult result = run_cli(command);
    CHECK_MESSAGE(clean(result.output), command << ": " << printable(result.output));
  }
  const CommandResult inspected = run_cli("inspect " + model + " --tensors");
  CHECK(inspected.exit_code == 0);
  CHECK(test::contains(inspected.output.c_str(), "x\\x1b]0;pwned\\x07"));
  CHECK(test::contains(inspected.output.c_str(), "\\x1b[2J"));
  CHECK_FALSE(test::contains(inspected.output.c_str(), "\x1b"));
}

TEST_CASE("cli input: run takes inputs of the model's own shapes as they are (scalars, a MatMul's two operands)") {
  const std::string folder = fresh_folder("run_shapes");
  // train_step of an exported mlp: x [32, 64], y [32] and its scalar hyperparameters.
  const std::string model = folder + "/mlp_train.pfb";
  REQUIRE(run_cli("build-model mlp --train --batch 32 --optimizer sgd -o " + model).exit_code == 0);
  const std::vector<float> x(32 * 64, 0.25f);
  const std::vector<int64_t> y(32, 3);
  REQUIRE(write_npy(folder + "/x.npy", make_desc(DType::F32, {32, 64}), x.data()).is_ok());
  REQUIRE(write_npy(folder + "/y.npy", make_desc(DType::I64, {32}), y.data()).is_ok());
  std::string inputs = " -i " + folder + "/x.npy -i " + folder + "/y.npy";
  for (const char* name : {"lr", "momentum", "weight_decay"}) {
    const float value = std::string(name) == "lr" ? 0.1f : 0.0f;
    REQUIRE(write_npy(folder + "/" + name + ".npy", make_desc(DType::F32, {}), &value).is_ok());
    inputs += " -i " + folder + "/" + name + ".npy";
  }
  const CommandResult step = run_cli("run " + model + " -m train_step" + inputs);
  CHECK_MESSAGE(step.exit_code == 0, step.output);
  CHECK(test::contains(step.output.c_str(), "loss f32[]"));
  // The ONNX backend test of MatMul: [3, 4] x [4, 3]; dim 0 differs between the operands and is
  // no batch of the second. Then a batch of 5 for the first operand only.
  const std::string matmul = test::source_path("tests/fixtures/onnx_node/node/test_matmul_2d/model.onnx");
  const std::vector<float> a(5 * 4, 1.0f), b(4 * 3, 0.5f);
  REQUIRE(write_npy(folder + "/a.npy", make_desc(DType::F32, {3, 4}), a.data()).is_ok());
  REQUIRE(write_npy(folder + "/a5.npy", make_desc(DType::F32, {5, 4}), a.data()).is_ok());
  REQUIRE(write_npy(folder + "/b.npy", make_desc(DType::F32, {4, 3}), b.data()).is_ok());
#if PREFLIGHT_HAVE_ONNX
  const CommandResult same = run_cli("run " + matmul + " -i " + folder + "/a.npy -i " + folder + "/b.npy");
  CHECK_MESSAGE(same.exit_code == 0, same.output);
  CHECK(test::contains(same.output.c_str(), "f32[3,3]"));
  const CommandResult batch = run_cli("run " + matmul + " -i " + folder + "/a5.npy -i " + folder + "/b.npy");
  CHECK_MESSAGE(batch.exit_code == 0, batch.output);
  CHECK(test::contains(batch.output.c_str(), "f32[5,3]"));
  const CommandResult wrong = run_cli("run " + matmul + " -i " + folder + "/a.npy -i " + folder + "/a5.npy");
  CHECK(wrong.exit_code == 2);
  CHECK(test::contains(wrong.output.c_str(), "input 1 'b': the model expects f32[4,3], the file holds f32[5,4]"));
#endif
}

TEST_CASE("cli input: train says whose weights it wrote; --keep-best writes the best epoch's; a cut-short epoch counts") {
  const std::string folder = fresh_folder("best");
  const std::string model = folder + "/mlp.pfb";
  REQUIRE(run_cli("build-model mlp -o " + model).exit_code == 0);
  const std::string train = "train " + model + " --data " + kDigits + " --scale 0.0625 --lr 0.05 --optimizer sgd ";
  const CommandResult last = run_cli(train + "--epochs 2 --out " + folder + "/last.pfb");
  REQUIRE_MESSAGE(last.exit_code == 0, last.output);
  CHECK(test::contains(last.output.c_str(), "the weights of epoch 2 ("));
  const CommandResult best = run_cli(train + "--epochs 2 --keep-best --out " + folder + "/best.pfb");
  REQUIRE_MESSAGE(best.exit_code == 0, best.output);
  CHECK(test::contains(best.output.c_str(), "(the best)"));
  // 45 steps make an epoch of the digits' 1437 training rows: 60 steps stop inside epoch 2,
  // which was validated and printed, so it counts for the best.
  const CommandResult cut = run_cli(train + "--epochs 2 --max-steps 60 --out " + folder + "/cut.pfb");
  REQUIRE_MESSAGE(cut.exit_code == 0, cut.output);
  CHECK(test::contains(cut.output.c_str(), "epoch 2/2"));
  CHECK_FALSE(test::contains(cut.output.c_str(), "epoch -1"));
  CHECK(test::contains(cut.output.c_str(), "the weights of epoch 2"));
}

TEST_CASE("cli input: an .npz with a validation or test pair trains on it as the validation split and says so") {
  std::vector<float> x(40 * 64);
  std::vector<int64_t> y(40);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 13) / 13.0f;
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<int64_t>(i % 10);
  const std::vector<uint8_t> x_bytes = encode_npy(make_desc(DType::F32, {40, 64}), x.data());
  const std::vector<uint8_t> x_test = encode_npy(make_desc(DType::F32, {8, 64}), x.data());
  const std::vector<uint8_t> y_bytes = encode_npy(make_desc(DType::I64, {40}), y.data());
  const std::vector<uint8_t> y_test = encode_npy(make_desc(DType::I64, {8}), y.data());
  const std::string npz = test::write_npz("cli_keras.npz", {{"x_train", x_bytes}, {"y_train", y_bytes}, {"x_test", x_test},
                                                             {"y_test", y_test}, {"classes", y_test}});
  const std::string model = out_path("keras_mlp.pfb");
  REQUIRE(run_cli("build-model mlp -o " + model).exit_code == 0);
  const CommandResult result = run_cli("train " + model + " --data " + npz + " --epochs 1 --batch 8");
  REQUIRE_MESSAGE(result.exit_code == 0, result.output);
  CHECK(test::contains(result.output.c_str(), "x_test and y_test are the validation split"));
  CHECK(test::contains(result.output.c_str(), "not read: classes"));
  CHECK(test::contains(result.output.c_str(), "40 train rows, 8 validation rows"));
}

#if PREFLIGHT_HAVE_ONNX
TEST_CASE("cli input: convert refuses a model the loader would refuse (an input dim of 2^31: the arena over its limit)") {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto* g = model.mutable_graph();
  onnx::NodeProto* node = g->add_node();
  node->set_op_type("Relu");
  node->add_input("x");
  node->add_output("y");
  for (const char* name : {"x", "y"}) {
    onnx::ValueInfoProto* value = std::string(name) == "x" ? g->add_input() : g->add_output();
    value->set_name(name);
    auto* type = value->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    type->mutable_shape()->add_dim()->set_dim_value(1);
    type->mutable_shape()->add_dim()->set_dim_value(int64_t{1} << 31);
  }
  std::string bytes;
  REQUIRE(model.SerializeToString(&bytes));
  const std::string path = out_path("huge_input.onnx"), out = out_path("huge_input.pfb");
  write_bytes(path, bytes);
  ::unlink(out.c_str());
  const CommandResult result = run_cli("convert " + path + " -o " + out);
  CHECK(result.exit_code == 2);
  CHECK_MESSAGE(test::contains(result.output.c_str(), "the converted model: method 'infer': arena of"), result.output);
  CHECK(test::contains(result.output.c_str(), "is above the limit max_arena_bytes"));
  struct stat info;
  CHECK(::stat(out.c_str(), &info) != 0);  // nothing written
}
#endif

}  // namespace
}  // namespace preflight
