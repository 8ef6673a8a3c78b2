// The subcommands of `mailroom`. Each takes the arguments after its name and returns the
// process's exit code (exit_code.hpp); usage_error and target_error propagate to main.

#pragma once

#include <string>
#include <vector>

namespace mailroom::cli {

int run_list(const std::vector<std::string>& args);
int run_call(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);
int run_status(const std::vector<std::string>& args);

/// The help text of a subcommand (empty for an unknown one), and of the whole program.
std::string help_of(const std::string& command);

} // namespace mailroom::cli
