// The user's files, read and written (runtime/file_io.h): only regular files are read, within the
// byte budget; a FIFO never hangs a reader; ONNX external data never leaves the model's folder
// through a link; an output keeps its mode, follows a symlink and never replaces a FIFO, a device
// or a folder; what a file says is printed escaped.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "runtime/file_io.h"
#include "test_util.h"

namespace preflight {
namespace {

// A fresh folder under the test output for one test case.
std::string fresh_folder(const std::string& name) {
  const std::string folder = std::string(PREFLIGHT_TEST_OUTPUT) + "_fileio_" + name;
  const std::string command = "rm -rf '" + folder + "' && mkdir -p '" + folder + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  return folder;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

std::string message_of(const Status& status) { return status.is_ok() ? "ok" : status.message(); }

TEST_CASE("file_io: printable escapes every control byte, invalid UTF-8 and the C1 controls, and keeps valid UTF-8") {
  CHECK(printable("plain text, 1.5e-3 [x]") == "plain text, 1.5e-3 [x]");
  CHECK(printable(std::string("a\x1b]0;title\x07z")) == "a\\x1b]0;title\\x07z");
  CHECK(printable(std::string("line\nnext\rback\ttab")) == "line\\x0anext\\x0dback\\x09tab");
  CHECK(printable(std::string("nul\0byte", 8)) == "nul\\x00byte");
  CHECK(printable(std::string("del\x7f")) == "del\\x7f");
  CHECK(printable("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80") == "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(printable(std::string("\x9b" "31m")) == "\\x9b31m");          // a lone 8-bit CSI
  CHECK(printable(std::string("\xc2\x9b" "31m")) == "\\xc2\\x9b31m");  // CSI encoded as UTF-8 (U+009B)
  CHECK(printable(std::string("\xc0\xaf")) == "\\xc0\\xaf");          // an overlong '/'
  CHECK(printable(std::string("\xed\xa0\x80")) == "\\xed\\xa0\\x80");  // a surrogate
  CHECK(printable(std::string("\xe2\x82")) == "\\xe2\\x82");          // cut short
  // Every single byte: the output holds no control byte and no byte >= 0x80 on its own.
  for (int byte = 0; byte < 256; ++byte) {
    const std::string out = printable(std::string(1, static_cast<char>(byte)));
    for (unsigned char c : out) CHECK_MESSAGE((c >= 0x20 && c < 0x7f), "byte " << byte << " printed as " << out);
  }
}

TEST_CASE("file_io: only regular files are read; a FIFO, a folder, a device are refused at once, naming what they are") {
  const std::string folder = fresh_folder("read");
  const std::string fifo = folder + "/fifo", file = folder + "/file", link = folder + "/zero";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  write_text(file, "12345");
  REQUIRE(::symlink("/dev/zero", link.c_str()) == 0);
  struct Case {
    std::string path, expected;
  };
  for (const Case& c : {Case{fifo, "a FIFO, not a regular file"}, Case{folder, "a folder, not a regular file"},
                        Case{"/dev/null", "a character device, not a regular file"},
                        Case{link, "a character device, not a regular file"},
                        Case{folder + "/missing", "cannot open"}}) {
    std::vector<uint8_t> bytes;
    const Status status = read_regular_file(c.path.c_str(), &bytes);  // returns at once: a FIFO does not block
    CHECK_MESSAGE(test::contains(message_of(status).c_str(), c.expected.c_str()), c.path << ": " << message_of(status));
    CHECK(test::contains(message_of(status).c_str(), c.path.c_str()));
  }
  std::vector<uint8_t> bytes;
  REQUIRE(read_regular_file(file.c_str(), &bytes).is_ok());
  CHECK(std::string(bytes.begin(), bytes.end()) == "12345");
  // The byte budget: a file over it is refused before it is read, naming the limit and the flag.
  const Status over = read_regular_file(file.c_str(), &bytes, 4);
  CHECK(over.code() == Error::kResourceLimit);
  CHECK(test::contains(over.message(), "the file (5 bytes) is above the limit of 4 bytes"));
  const uint64_t saved = input_budget();
  set_input_budget(4);
  const Status budget = read_regular_file(file.c_str(), &bytes);
  set_input_budget(saved);
  CHECK(test::contains(budget.message(), "is above the input limit of 4 bytes (raise it with --max-input-mb)"));
}

TEST_CASE("file_io: open_in_folder never follows a link out of the folder and opens only regular files") {
  const std::string folder = fresh_folder("beside");
  const std::string outside = fresh_folder("outside");
  write_text(outside + "/secret", "the secret");
  write_text(folder + "/weights.bin", "weights");
  REQUIRE(::mkdir((folder + "/sub").c_str(), 0755) == 0);
  write_text(folder + "/sub/inner.bin", "inner");
  REQUIRE(::symlink((outside + "/secret").c_str(), (folder + "/file_link").c_str()) == 0);
  REQUIRE(::symlink(outside.c_str(), (folder + "/folder_link").c_str()) == 0);
  REQUIRE(::symlink("/dev/zero", (folder + "/device_link").c_str()) == 0);
  REQUIRE(::symlink("weights.bin", (folder + "/inside_link").c_str()) == 0);
  REQUIRE(::mkfifo((folder + "/fifo").c_str(), 0600) == 0);
  struct Case {
    std::string location, expected;
  };
  for (const Case& c : {Case{"file_link", "'file_link' is a symlink"}, Case{"folder_link/secret", "'folder_link' is a symlink"},
                        Case{"device_link", "'device_link' is a symlink"}, Case{"inside_link", "'inside_link' is a symlink"},
                        Case{"fifo", "'fifo' is a FIFO, not a regular file"}, Case{"sub", "'sub' is a folder, not a regular file"},
                        Case{"sub/../weights.bin", "leaves the folder"}, Case{"missing.bin", "'missing.bin': No such file"},
                        Case{"weights.bin/x", "'weights.bin': not a folder"}}) {
    uint64_t size = 0;
    Result<int> opened = open_in_folder(folder, c.location, &size);
    if (opened.is_ok()) ::close(*opened);
    CHECK_MESSAGE(test::contains(message_of(opened.status()).c_str(), c.expected.c_str()),
                  c.location << ": " << message_of(opened.status()));
  }
  for (const char* location : {"weights.bin", "sub/inner.bin", "./sub/inner.bin", "sub//inner.bin"}) {
    uint64_t size = 0;
    Result<int> opened = open_in_folder(folder, location, &size);
    REQUIRE_MESSAGE(opened.is_ok(), location << ": " << message_of(opened.status()));
    ::close(*opened);
    CHECK(size == (std::string(location) == "weights.bin" ? 7u : 5u));
  }
}

TEST_CASE("file_io: an output keeps its mode, follows a symlink, and never replaces a FIFO, a device or a folder") {
  const std::string folder = fresh_folder("write");
  const uint8_t data[] = {'n', 'e', 'w'};
  // A 0600 file stays 0600.
  const std::string secret = folder + "/secret.pfb";
  write_text(secret, "old");
  REQUIRE(::chmod(secret.c_str(), 0600) == 0);
  REQUIRE(write_file_atomic(secret.c_str(), data, 3).is_ok());
  struct stat info;
  REQUIRE(::stat(secret.c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0600);
  CHECK(read_text(secret) == "new");
  // A new file: 0666 less the umask.
  const mode_t mask = ::umask(022);
  REQUIRE(write_file_atomic((folder + "/fresh.pfb").c_str(), data, 3).is_ok());
  ::umask(mask);
  REQUIRE(::stat((folder + "/fresh.pfb").c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0644);
  // A symlink: the file it names is replaced, the link stays a link.
  const std::string target = folder + "/target.pfb", link = folder + "/link.pfb";
  write_text(target, "old");
  REQUIRE(::symlink("target.pfb", link.c_str()) == 0);
  REQUIRE(write_file_atomic(link.c_str(), data, 3).is_ok());
  REQUIRE(::lstat(link.c_str(), &info) == 0);
  CHECK(S_ISLNK(info.st_mode));
  CHECK(read_text(target) == "new");
  // Refused before a byte is written: a FIFO (still a FIFO after), a device, a folder, a dangling link.
  const std::string fifo = folder + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  REQUIRE(::symlink("nowhere.pfb", (folder + "/dangling").c_str()) == 0);
  struct Case {
    std::string path, expected;
  };
  for (const Case& c : {Case{fifo, "a FIFO; an output must be a regular file"},
                        Case{"/dev/null", "a character device; an output must be a regular file"},
                        Case{folder, "a folder; an output must be a regular file"},
                        Case{folder + "/dangling", "a symlink to a missing file"}}) {
    const Status status = write_file_atomic(c.path.c_str(), data, 3);
    CHECK_MESSAGE(test::contains(message_of(status).c_str(), c.expected.c_str()), c.path << ": " << message_of(status));
  }
  REQUIRE(::lstat(fifo.c_str(), &info) == 0);
  CHECK(S_ISFIFO(info.st_mode));
  REQUIRE(::lstat((folder + "/nowhere.pfb").c_str(), &info) != 0);
}

TEST_CASE("file_io: same_file is device and inode, for files that exist and for names yet to be written") {
  const std::string folder = fresh_folder("same");
  const std::string a = folder + "/a", b = folder + "/b", hard = folder + "/hard", soft = folder + "/soft";
  write_text(a, "a");
  write_text(b, "b");
  REQUIRE(::link(a.c_str(), hard.c_str()) == 0);
  REQUIRE(::symlink("a", soft.c_str()) == 0);
  CHECK(same_file(a.c_str(), a.c_str()));
  CHECK(same_file(a.c_str(), hard.c_str()));
  CHECK(same_file(a.c_str(), soft.c_str()));
  CHECK(same_file(a.c_str(), (folder + "/./a").c_str()));
  CHECK_FALSE(same_file(a.c_str(), b.c_str()));
  CHECK(same_file((folder + "/new").c_str(), (folder + "/../" + folder.substr(folder.rfind('/') + 1) + "/new").c_str()));
  CHECK_FALSE(same_file((folder + "/new").c_str(), (folder + "/other").c_str()));
  CHECK_FALSE(same_file((folder + "/new").c_str(), a.c_str()));
}

}  // namespace
}  // namespace preflight
