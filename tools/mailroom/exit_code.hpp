// The exit codes of `mailroom`, which scripts may rely on (docs/operations.md).

#pragma once

namespace mailroom::cli {

enum exit_code : int {
    /// Done: every server answered (list), the call succeeded (call), no call failed (bench).
    ok = 0,
    /// The call completed with an error (call), or some calls failed (bench).
    call_failed = 1,
    /// The command line is wrong: unknown subcommand or option, malformed JSON, arguments
    /// that do not match the declared signature. Nothing was sent.
    usage = 2,
    /// The target cannot be read: a servers.json that does not load, a registry that does
    /// not answer.
    bad_target = 3,
    /// Something named is not there: no server of that type or id, a server that does not
    /// answer sys.health.ping (list: at least one), no such method. Nothing was sent.
    not_found = 4,
};

} // namespace mailroom::cli
