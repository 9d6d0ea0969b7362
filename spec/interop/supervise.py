#!/usr/bin/python3
"""Run one server for the tests, and leave nothing behind.

Usage: supervise.py LOG GRACE -- COMMAND [ARG...]

Starts COMMAND in its own session with stdout and stderr appended to LOG,
prints "<supervisor pid> <command pid>" on a line, and waits. It stops when
COMMAND ends, when it gets SIGTERM or SIGINT, or when its parent dies; then
it sends SIGTERM to every process descended from it, gives them GRACE
seconds, sends SIGKILL to what is left, reaps them all and prints
"exit <status>" (the command's exit code, negative for a signal).

It makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so that
processes a server forks and orphans (Erlang's helpers, daemons) come back
to it rather than to an init that may never reap them.
"""
import ctypes
import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def descendants(root):
    """Pids of the live processes below root, from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields follow the last ')'
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier and pid not in found}
        found |= frontier
    return found


def reap(child):
    """Reaps every exited child; returns the exit code of `child` if it was among them."""
    status = None
    while True:
        try:
            pid, wstatus = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status
        if pid == 0:
            return status
        if pid == child:
            status = os.waitstatus_to_exitcode(wstatus)


def signal_all(sig):
    for pid in descendants(os.getpid()):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def main():
    log, grace, sep, *command = sys.argv[1:]
    if sep != "--" or not command:
        sys.exit("usage: supervise.py LOG GRACE -- COMMAND [ARG...]")
    grace = float(grace)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("supervise.py: prctl(PR_SET_CHILD_SUBREAPER) failed")

    stop = False

    def on_signal(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    parent = os.getppid()

    child = os.fork()
    if child == 0:
        os.setsid()
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            os.execvp(command[0], command)
        except OSError as e:
            os.write(2, f"supervise.py: cannot run {command[0]}: {e}\n".encode())
        os._exit(127)

    print(os.getpid(), child, flush=True)
    status = None
    while status is None and not stop and os.getppid() == parent:
        status = reap(child)
        if status is None:
            time.sleep(0.05)

    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while descendants(os.getpid()) and time.monotonic() < deadline:
        code = reap(child)
        status = code if code is not None else status
        time.sleep(0.05)
    while descendants(os.getpid()):
        signal_all(signal.SIGKILL)
        code = reap(child)
        status = code if code is not None else status
        time.sleep(0.05)
    code = reap(child)
    status = code if code is not None else status
    print("exit", status, flush=True)


if __name__ == "__main__":
    main()
