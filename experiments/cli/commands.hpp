#pragma once
// The kspike subcommands. Each takes its own arguments (without the subcommand name),
// returns the process exit status, and throws kspike::error for bad input.
#include <boost/program_options.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kspike {
struct engine_options;
}

namespace kspike::cli {

using args = std::vector<std::string>;

int cmd_run(const args& a);
int cmd_info(const args& a);
int cmd_bench(const args& a);
int cmd_vpr(const args& a);
int bench_vpr(const args& a);  // kspike bench vpr
int cmd_train(const args& a);
int cmd_eval(const args& a);
int cmd_fold(const args& a);
int bench_train(const args& a);  // kspike bench train
int bench_backends(const args& a);  // kspike bench backends
int cmd_convert(const args& a);
int cmd_energy(const args& a);
int cmd_deploy(const args& a);
int cmd_stats(const args& a);

// Parses a command's arguments: the options it shows in --help, plus one positional argument
// stored in `positional` (named `positional_name` in errors). Returns false when --help was
// asked for (the help is printed) and the command should exit with exit_ok.
bool parse_arguments(const args& a, boost::program_options::options_description& visible,
                     const char* positional_name, std::string& positional,
                     boost::program_options::variables_map& vm);
// The same with several positional arguments, in order.
bool parse_arguments(const args& a, boost::program_options::options_description& visible,
                     const std::vector<std::pair<const char*, std::string*>>& positionals,
                     boost::program_options::variables_map& vm);

// --backend and --threads, the same in every command: one help text, checked as they are parsed
// (an unknown or not compiled-in backend, threads < 1 or beyond the machine's limit: exit 2).
void add_backend_options(boost::program_options::options_description& opts, std::string& backend, int& threads,
                         const char* threads_note = "");

// --step-sync (the step schedule's host loop: auto, every-step, deferred or fused) and
// --table-walk (auto, at-spike or at-arrival), the same in every command that runs networks,
// checked and set into engine.step_sync and engine.table_walk as they are parsed.
void add_step_options(boost::program_options::options_description& opts, engine_options& engine);

// --seed as given on the command line: a whole number in [0, 2^64) (Boost would wrap "-1").
std::uint64_t parse_seed(const std::string& text);

// Refuses an output path that would destroy something: an existing folder, link, device or
// other non-regular file, or one of the run's own inputs; and a folder that does not exist or
// cannot be written. `option` names the path in the message (e.g. "--out").
void check_output_file(const std::string& path, const std::string& option, const std::vector<std::string>& inputs);

// Refuses an output folder before any work: an empty path, something other than a folder in
// its place, one of `inputs` (e.g. a run an ensemble reads), or a folder that cannot be
// created or written.
void check_output_folder(const std::string& path, const std::string& option, const std::vector<std::string>& inputs = {});

// Refuses two outputs of one command at the same path (given as {option, path}; empty paths
// are not outputs).
void check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& outputs);

// Option checks with one message style: "--option: must be >= min (got x)". They return the
// value so that a check can sit where the value is used.
std::int64_t at_least(std::int64_t value, std::int64_t min, const std::string& option);
double non_negative(double value, const std::string& option);

// Exit statuses shared by every command.
constexpr int exit_ok = 0;
constexpr int exit_internal = 1;
constexpr int exit_bad_input = 2;
constexpr int exit_interrupted = 130;  // SIGINT (Ctrl-C): what was done is kept as *.partial
constexpr int exit_terminated = 143;   // SIGTERM: the same

}  // namespace kspike::cli
