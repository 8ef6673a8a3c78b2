// mailroom: the operator's command line (docs/operations.md, "The `mailroom` command line").
// Lists a cluster's servers and methods, calls any method with JSON arguments, runs a load
// against it, and shows its metrics.

#include "cluster_client.hpp"
#include "command_line.hpp"
#include "commands.hpp"
#include "exit_code.hpp"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace mailroom::cli {

std::string help_of(const std::string& command)
{
    static const std::string target_help =
        "  <target>            a servers.json (environment: --env NAME, else $MAILROOM_ENV, else\n"
        "                      development), or a registry URL redis://host:port[/db] (its\n"
        "                      cluster name: --cluster NAME, default mailroom); without one,\n"
        "                      $MAILROOM_CONFIG\n"
        "  --timeout D         per call and per connect (2s, 500ms, ...; default 2s)\n"
        "  --verbose           log the client's connects and errors to stderr\n";
    if (command == "list")
        return "usage: mailroom list <target> [--json] [options]\n\n"
               "Every server of the cluster, whether it answers sys.health.ping (its uptime and\n"
               "round trip), and the methods it serves with their declared signatures\n"
               "(sys.introspect.methods; --json includes the sys remotes).\n\n" +
               target_help +
               "  --json              one JSON array\n\n"
               "Exit: 0 every server answered, 3 bad target, 4 some server did not answer.\n";
    if (command == "call")
        return "usage: mailroom call <target> [ns.]serverType.service.method '<json args array>'\n"
               "                    [--route KEY | --to SERVER_ID] [--pretty] [options]\n\n"
               "Calls one method. The arguments are checked against the method's declared\n"
               "signature (from sys.introspect.methods on a server of its type) and converted:\n"
               "count, integers within their type's range, floats, booleans, strings, arrays,\n"
               "objects (maps), null for an optional; a struct takes a JSON object. A mismatch\n"
               "is reported before anything is sent. Prints the result as JSON on stdout, or\n"
               "the error's name, message and the remote's message on stderr.\n\n" +
               target_help +
               "  --route KEY         route parameter for the server type's router\n"
               "  --to SERVER_ID      call this server, bypassing the router\n"
               "  --pretty            indent the JSON result\n\n"
               "Exit: 0 ok, 1 the call failed, 2 usage or arguments that do not match,\n"
               "3 bad target, 4 no such server or method (nothing sent).\n";
    if (command == "bench")
        return "usage: mailroom bench <target> [ns.]serverType.service.method '<json args array>'\n"
               "                     [--inflight N] [--duration D] [--json]\n"
               "                     [--route KEY | --to SERVER_ID] [options]\n\n"
               "A closed loop: N calls in flight (default 10), each completion issues the next,\n"
               "for D (default 10s). One progress line per second on stderr; at the end calls/s,\n"
               "p50/p99/p999 latency of the calls that succeeded, and errors by code.\n\n" +
               target_help +
               "  --inflight N        calls in flight (default 10)\n"
               "  --duration D        how long (default 10s)\n"
               "  --json              the summary as one JSON object\n\n"
               "Exit: 0 no call failed, 1 some calls failed, 2 usage, 3 bad target,\n"
               "4 no such server or method.\n";
    if (command == "status")
        return "usage: mailroom status <target> [--interval D] [--json] [options]\n\n"
               "Each server's metrics (sys.metrics.snapshot): per method and side calls,\n"
               "calls/s over --interval (default 1s), errors by code, in flight, p50/p99/p999;\n"
               "its mail boxes to the other servers; filter refusals. A server without the\n"
               "metrics remote shows its health only.\n\n" +
               target_help +
               "  --interval D        time between the two snapshots rates come from\n"
               "  --json              the last snapshot of each server, as JSON\n\n"
               "Exit: 0 every server answered, 3 bad target, 4 some server did not answer.\n";
    if (command.empty())
        return "usage: mailroom <command> [arguments]    (mailroom <command> --help)\n\n"
               "commands:\n"
               "  list     servers, their state, and their methods with signatures\n"
               "  call     call one method with JSON arguments\n"
               "  bench    a closed-loop load against a live cluster\n"
               "  status   each server's metrics as tables\n\n"
               "Exit codes: 0 ok, 1 call failed, 2 usage error, 3 bad target, 4 not found or\n"
               "unreachable.\n";
    return {};
}

} // namespace mailroom::cli

int main(int argc, char** argv)
{
    using namespace mailroom::cli;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::fputs(help_of("").c_str(), args.empty() ? stderr : stdout);
        return args.empty() ? exit_code::usage : exit_code::ok;
    }
    const auto command = args[0];
    args.erase(args.begin());
    if (help_of(command).empty()) {
        std::fprintf(stderr, "mailroom: unknown command \"%s\"\n\n%s", command.c_str(),
                     help_of("").c_str());
        return exit_code::usage;
    }
    for (const auto& a : args)
        if (a == "--help" || a == "-h") {
            std::fputs(help_of(command).c_str(), stdout);
            return exit_code::ok;
        }
    try {
        if (command == "list")
            return run_list(args);
        if (command == "call")
            return run_call(args);
        if (command == "bench")
            return run_bench(args);
        return run_status(args);
    } catch (const usage_error& e) {
        std::fprintf(stderr, "mailroom %s: %s\n(mailroom %s --help)\n", command.c_str(), e.what(),
                     command.c_str());
        return exit_code::usage;
    } catch (const target_error& e) {
        std::fprintf(stderr, "mailroom %s: %s\n", command.c_str(), e.what());
        return exit_code::bad_target;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mailroom %s: %s\n", command.c_str(), e.what());
        return exit_code::call_failed;
    }
}
