#include "experiments/cli/commands.hpp"

#include <iostream>

namespace kspike::cli {

bool parse_arguments(const args& a, boost::program_options::options_description& visible,
                     const char* positional_name, std::string& positional,
                     boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  visible.add_options()("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()(positional_name, po::value(&positional));
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description pos;
  pos.add(positional_name, 1);
  po::store(po::command_line_parser(a).options(all).positional(pos).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << visible << "\n";
    return false;
  }
  return true;
}

}  // namespace kspike::cli
