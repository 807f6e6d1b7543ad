#pragma once
// Where the tests find the repository's files, the kspike binary and the shared fixtures: the
// paths the build was configured with, unless the environment names others (KSPIKE_SOURCE_DIR,
// KSPIKE_BINARY, KSPIKE_SHARED_DATA). A test binary built on one machine and carried to another,
// a GPU machine say, then runs against that machine's checkout and binary.
#include <string>

namespace kspike_test {

std::string source_dir();
std::string kspike_binary();
std::string shared_data_dir();

}  // namespace kspike_test
