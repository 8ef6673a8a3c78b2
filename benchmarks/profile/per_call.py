#!/usr/bin/env python3
"""Per-call costs from two callgrind profiles of mailroom-load that differ only in --calls.

Startup, connection set-up and shutdown cost the same in both runs, so the difference,
divided by the difference in calls, is what one more call costs: instructions by function
(self or inclusive) and calls to chosen functions (malloc, mutexes, clock_gettime, ...) by
caller. Used by run.sh beside it; docs/performance.md shows the output.

usage: per_call.py SMALL.out LARGE.out CALLS_DIFFERENCE [--top N] [--inclusive]
                   [--callers FUNCTION ...]
"""
import argparse
import collections
import re
import subprocess

COUNTED = ('malloc', 'free', 'operator new(unsigned long)', 'pthread_mutex_lock',
           'pthread_rwlock_rdlock', 'clock_gettime', 'std::_Hash_bytes', 'epoll_wait',
           'recv', 'send', 'recvmsg', 'sendmsg', 'write', 'read')


def shorten(name):
    name = re.sub(r'boost::asio::execution::any_executor<.*?>\s*>\s*>', 'any_io_executor', name)
    while True:
        shorter = re.sub(r'<[^<>]*>', '<>', name)
        if shorter == name:
            break
        name = shorter
    name = re.sub(r'\s*\[[^\]]*\]$', '', name)
    return name[:150]


def instructions(path, inclusive):
    out = subprocess.run(['callgrind_annotate', '--inclusive=' + ('yes' if inclusive else 'no'),
                          '--threshold=100', path], capture_output=True, text=True, check=True).stdout
    costs = collections.Counter()
    for line in out.splitlines():
        m = re.match(r'\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$', line)
        if m:
            costs[shorten(m.group(2))] += int(m.group(1).replace(',', ''))
    return costs


def calls(path):
    names, fn, cfn = {}, None, None
    total, by_caller = collections.Counter(), collections.Counter()
    with open(path) as f:
        for line in f:
            m = re.match(r'^(c?fn)=\((\d+)\)(?: (.*))?$', line.rstrip('\n'))
            if m:
                kind, ident, name = m.groups()
                if name:
                    names[ident] = name
                if kind == 'fn':
                    fn = names.get(ident, ident)
                else:
                    cfn = names.get(ident, ident)
                continue
            m = re.match(r'^calls=(\d+)', line)
            if m and cfn is not None:
                total[cfn] += int(m.group(1))
                by_caller[(fn, cfn)] += int(m.group(1))
    return total, by_caller


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('small')
    ap.add_argument('large')
    ap.add_argument('calls', type=int)
    ap.add_argument('--top', type=int, default=30)
    ap.add_argument('--inclusive', action='store_true')
    ap.add_argument('--callers', nargs='*', default=[])
    a = ap.parse_args()

    small, large = instructions(a.small, a.inclusive), instructions(a.large, a.inclusive)
    rows = sorted(((large[k] - small.get(k, 0)) / a.calls, k) for k in large)
    print(f'instructions per call ({"inclusive" if a.inclusive else "self"}):')
    for cost, name in reversed(rows[-a.top:]):
        print(f'{cost:10.0f}  {name}')

    (t_small, c_small), (t_large, c_large) = calls(a.small), calls(a.large)
    print('\ncalls per call:')
    for name in sorted(t_large):
        if name.startswith(COUNTED) or name in COUNTED:
            v = (t_large[name] - t_small.get(name, 0)) / a.calls
            if v >= 0.01:
                print(f'{v:10.2f}  {shorten(name)}')
    for target in a.callers:
        print(f'\ncallers of {target} (per call):')
        rows = [((c_large[k] - c_small.get(k, 0)) / a.calls, k[0]) for k in c_large
                if k[1].startswith(target)]
        for v, caller in sorted(rows, reverse=True):
            if v >= 0.05:
                print(f'{v:10.2f}  {shorten(caller)}')


if __name__ == '__main__':
    main()
