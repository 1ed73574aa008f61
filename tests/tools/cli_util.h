// What the command-line suites share: running `preflight` as a user does and reading what it said.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "test_util.h"

namespace preflight {

struct CommandResult {
  int exit_code;       // -1 when the program did not exit (a signal)
  std::string output;  // stdout and stderr together
};

// `environment`: variables for the command ("NAME=value ..."); `prefix`: words before the program
// (a `timeout 60`, so that a hang fails the test instead of stalling the suite).
inline CommandResult run_cli(const std::string& arguments, const std::string& environment = "",
                             const std::string& prefix = "") {
  // PREFLIGHT_EMULATOR: empty, or the qemu-user command of a cross build (targets/aarch64_suite.sh).
  const std::string command = (environment.empty() ? "" : "env " + environment + " ") + prefix + (prefix.empty() ? "" : " ") +
                              std::string(PREFLIGHT_EMULATOR " " PREFLIGHT_BINARY " ") + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  size_t got;
  while ((got = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, got);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

inline std::string out_path(const std::string& name) { return std::string(PREFLIGHT_TEST_OUTPUT) + "_cli_" + name; }

}  // namespace preflight
