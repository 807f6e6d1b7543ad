#pragma once
// Runs the kspike executable from a test, in a temporary folder, capturing stdout, stderr and
// the exit status.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "support/fixtures.hpp"
#include "support/paths.hpp"

namespace kspike_test {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct cli_result {
  int status = -1;
  std::string out, err;
};

// `arguments` are shell-quoted by the caller; the command runs in `dir`.
inline cli_result run_kspike(const std::string& arguments, const temp_dir& dir) {
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  const std::string cmd = "cd '" + dir.path.string() + "' && OMP_PROC_BIND=false '" + kspike_test::kspike_binary() +
                          "' " + arguments + " >'" + out + "' 2>'" + err + "'";
  const int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, read_text(out), read_text(err)};
}

}  // namespace kspike_test
