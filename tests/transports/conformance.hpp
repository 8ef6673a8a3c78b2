#pragma once

// The transport conformance suite: every behavioural end-to-end test, written once and run
// for each transport (tcp, ws, their TLS variants, the unix example, and yours).
//
// To run it against a transport, describe the transport with a `transport_under_test` and
// instantiate the suite in a test file of your own, linked with mailroom_conformance:
//
//     INSTANTIATE_TEST_SUITE_P(conformance, transport_conformance,
//                              testing::Values(make_unix_under_test()),
//                              mailroom::test::transport_name);
//
// Test names end in the transport's name ("conformance/transport_conformance.Calls.../unix");
// a transport passes only if it passes all of them. docs/writing-a-transport.md explains each.

#include <mailroom/client/mailbox.hpp>
#include <mailroom/detail/config.hpp>
#include <mailroom/protocol/wire_protocol.hpp>
#include <mailroom/server/acceptor.hpp>
#include <mailroom/server_info.hpp>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::test {

/** A client link to a server of the transport under test, below mailroom's mail box, for
    bytes a real mail box never sends. Operations block the calling thread; they run on the
    given io_context, which other threads run, and give up after a minute.
*/
class raw_link {
public:
    virtual ~raw_link() = default;

    /// Sends one message body framed as the transport frames it.
    virtual void send_body(std::span<const char> body) = 0;

    /// Sends the start of a message larger than `max_frame_size` (stream transports: a
    /// length prefix announcing it; message transports: a message header announcing it).
    virtual void send_oversized(std::size_t max_frame_size) = 0;

    /// How many transport-level garbage inputs @ref send_garbage knows.
    virtual int garbage_cases() const = 0;

    /// Sends garbage number `i`: bytes that break the transport's own framing (not a
    /// mailroom message at all).
    virtual void send_garbage(int i) = 0;

    /// The next message body from the server; nothing once the server closed the link.
    virtual std::optional<std::vector<char>> receive() = 0;
};

/// An address where no server listens yet; connecting to it fails until @ref release and a
/// server starts there.
class reserved_address {
public:
    virtual ~reserved_address() = default;
    /// The address, ready for `mail_station::add_server` (id and type are set by the test).
    server_info address;
    /// Lets a server listen at `address`.
    virtual void release() = 0;
};

/** What the conformance suite needs to know about a transport: how to build both halves,
    where servers listen, and how to open a raw link.

    Implementations must be thread-safe (tests may run them from several threads).
*/
class transport_under_test {
public:
    virtual ~transport_under_test() = default;

    /// Appears in test names: letters, digits and underscores ("tcp", "ws_tls", "unix").
    virtual std::string name() const = 0;

    /// The client half, registered under `fresh_address().transport`.
    virtual mailbox_factory make_mailbox_factory() const = 0;

    /// A new address for a server (a free port or socket path is chosen when it listens).
    virtual server_info fresh_address() const = 0;

    /// An address where nothing listens, kept that way until released.
    virtual std::unique_ptr<reserved_address> reserve(asio::io_context& ioc) const = 0;

    /// The server half for `at` (from fresh_address, reserve, or an earlier address_of).
    virtual std::shared_ptr<acceptor> make_acceptor(asio::any_io_executor ex, const server_info& at,
                                                    std::size_t max_frame_size) const = 0;

    /// Once `a` listens: the address clients use (e.g. `at` with the bound port).
    virtual server_info address_of(const acceptor& a, server_info at) const = 0;

    /// A raw link to the server listening at `address`.
    virtual std::unique_ptr<raw_link> connect_raw(asio::io_context& ioc,
                                                  const server_info& address) const = 0;

    /// The protocol both halves speak, as the transport registers it (null: the native one).
    virtual std::shared_ptr<const wire_protocol> protocol() const { return nullptr; }

    /** Why test `test` (its name without the transport, e.g. "GarbageClosesOnlyThatConnection")
        does not apply to this transport, or empty when it does. Only for a test that assumes
        what the transport is not (a connection between client and server); the skip and its
        reason show in the test output.
    */
    virtual std::string skip_reason(std::string_view test) const
    {
        (void)test;
        return {};
    }
};

using transport_param = std::shared_ptr<const transport_under_test>;

/// gtest prints parameters by name.
inline void PrintTo(const transport_param& t, std::ostream* os) { *os << t->name(); }

/// The name generator for INSTANTIATE_TEST_SUITE_P: the transport's name.
inline std::string transport_name(const testing::TestParamInfo<transport_param>& info)
{
    return info.param->name();
}

} // namespace mailroom::test

/// The suite's fixture; the tests are in conformance.cpp.
class transport_conformance : public testing::TestWithParam<mailroom::test::transport_param> {
protected:
    void SetUp() override
    {
        std::string test = testing::UnitTest::GetInstance()->current_test_info()->name();
        test = test.substr(0, test.find('/'));
        if (auto why = transport().skip_reason(test); !why.empty())
            GTEST_SKIP() << why;
    }

    const mailroom::test::transport_under_test& transport() const { return *GetParam(); }
};
