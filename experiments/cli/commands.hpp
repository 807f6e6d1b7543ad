#pragma once
// The kspike subcommands. Each takes its own arguments (without the subcommand name),
// returns the process exit status, and throws kspike::error for bad input.
#include <string>
#include <vector>

namespace kspike::cli {

using args = std::vector<std::string>;

int cmd_run(const args& a);
int cmd_info(const args& a);
int cmd_bench(const args& a);

// Exit statuses shared by every command.
constexpr int exit_ok = 0;
constexpr int exit_internal = 1;
constexpr int exit_bad_input = 2;
constexpr int exit_interrupted = 130;

}  // namespace kspike::cli
