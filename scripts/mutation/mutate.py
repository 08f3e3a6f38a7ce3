#!/usr/bin/env python3
"""Mutation testing for modelcheck: applies one single-point mutant at a time to a copy of
the tree, rebuilds, runs the tests, and reports which mutants survive.

The real tree is never changed: the files git sees (tracked and untracked, not ignored)
are synced into a work copy that keeps its own .build between runs, so each mutant is an
incremental build. See scripts/mutation/README.md.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


class Mutant:
    def __init__(self, ident, description, path, find, replace, line):
        self.ident = ident
        self.description = description
        self.path = path
        self.find = find
        self.replace = replace
        self.line = line  # in the list file, for messages


def unescape(text):
    # A literal "\n" in the list is a line break; "\\" is a backslash.
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "n\\":
            out.append("\n" if text[i + 1] == "n" else "\\")
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_list(path):
    """Blocks of `## id: description`, `file:`, `find:`, `replace:` lines."""
    mutants, current = [], None
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.startswith("## "):
                ident, _, description = line[3:].partition(":")
                current = {"id": ident.strip(), "description": description.strip(), "line": number}
                mutants.append(current)
            elif current is not None and re.match(r"^(file|find|replace): ?", line):
                key, _, value = line.partition(":")
                current[key] = unescape(value[1:] if value.startswith(" ") else value)
            elif line.strip() and not line.startswith("#"):
                sys.exit(f"{path}:{number}: cannot read this line: {line!r}")
    result = []
    for m in mutants:
        missing = [k for k in ("file", "find", "replace") if k not in m]
        if missing:
            sys.exit(f"{path}:{m['line']}: mutant {m['id']} lacks {', '.join(missing)}")
        result.append(
            Mutant(m["id"], m["description"], m["file"], m["find"], m["replace"], m["line"]))
    ids = [m.ident for m in result]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        sys.exit(f"{path}: duplicate mutant ids: {', '.join(duplicates)}")
    return result


def source_files():
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True).stdout.decode()
    return [p for p in out.split("\0") if p and os.path.isfile(os.path.join(ROOT, p))]


def sync(work):
    """Makes `work` hold exactly the files git sees in the tree, copying only files that
    differ (so that the work copy's incremental build stays valid)."""
    os.makedirs(work, exist_ok=True)
    wanted = set(source_files())
    for rel in wanted:
        src, dst = os.path.join(ROOT, rel), os.path.join(work, rel)
        with open(src, "rb") as f:
            data = f.read()
        if os.path.exists(dst):
            with open(dst, "rb") as f:
                if f.read() == data:
                    continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "wb") as f:
            f.write(data)
    for dirpath, dirnames, filenames in os.walk(work):
        rel_dir = os.path.relpath(dirpath, work)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in (".build",)]
        for name in filenames:
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if rel not in wanted:
                os.remove(os.path.join(dirpath, name))


def descendants(pid):
    """Every process below `pid`, from the parent ids in /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                # The command may hold spaces and parentheses: the ppid follows the last ')'.
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def built_here(cwd):
    """Every process running a program built in the work copy `cwd`: a test can leave a
    hung `modelcheck` it spawned to init (its parent gone), out of reach of `descendants`,
    and it would take a core from every mutant after it."""
    root = os.path.join(os.path.realpath(cwd), "")
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/exe").startswith(root):
                out.append(int(entry))
        except OSError:
            continue
    return out


def run(cmd, cwd, log, timeout):
    """Runs a command, appending its output to `log`. Returns (status, seconds); status
    is None on a timeout."""
    start = time.time()
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        try:
            return p.wait(timeout=timeout), time.time() - start
        except BaseException as error:
            # `swift test` runs the test bundle in a process group of its own: end every
            # descendant by id, before their parents go and they are reparented.
            for pid in [p.pid] + descendants(p.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            p.wait()
            for pid in built_here(cwd):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if not isinstance(error, subprocess.TimeoutExpired):
                raise
            out.write(f"\n(timed out after {timeout} s)\n")
            return None, time.time() - start


def tail(path, n=15):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    failures = [l for l in lines if "✘" in l or "error:" in l or "MISMATCH" in l]
    return "\n".join((failures or lines)[-n:])


def terminate(signum, frame):
    # Turn SIGTERM into an exception, so that the mutated file is written back.
    raise KeyboardInterrupt


def main():
    signal.signal(signal.SIGTERM, terminate)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", default=os.path.join(HERE, "mutants.txt"), help="the mutant list")
    ap.add_argument("--work", default=os.environ.get(
        "MUTATION_WORKDIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "modelcheck-mutation")),
        help="the work copy (kept between runs for incremental builds)")
    ap.add_argument("--only", help="comma-separated mutant ids to run")
    ap.add_argument("--check", action="store_true", help="only report STALE mutants, build nothing")
    ap.add_argument("--specs", action="store_true",
                    help="also run `modelcheck --quiet --no-traces Specs/` "
                         "(killed if it exits non-zero)")
    ap.add_argument("--build-timeout", type=int, default=900, help="seconds per build")
    ap.add_argument("--timeout", type=int, default=300,
                    help="seconds per test run (about 20 s unmutated); "
                         "past it the mutant is killed")
    args = ap.parse_args()

    mutants = parse_list(args.list)
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {m.ident for m in mutants}
        if unknown:
            sys.exit(f"unknown mutant ids: {', '.join(sorted(unknown))}")
        mutants = [m for m in mutants if m.ident in wanted]

    # Staleness is decided on the real tree: each snippet must occur exactly once.
    stale = []
    for m in mutants:
        path = os.path.join(ROOT, m.path)
        count = open(path, encoding="utf-8").read().count(m.find) if os.path.exists(path) else 0
        if count != 1:
            stale.append((m, count))
    for m, count in stale:
        exists = os.path.exists(os.path.join(ROOT, m.path))
        where = f"found {count} times" if exists else "file not found"
        print(f"STALE    {m.ident}: {m.path}: snippet {where} (mutants.txt line {m.line})")
    if args.check:
        print(f"{len(mutants) - len(stale)} of {len(mutants)} mutants apply")
        return 1 if stale else 0
    live = [m for m in mutants if m not in [s for s, _ in stale]]

    work = os.path.abspath(args.work)
    logs = os.path.join(work, ".build", "mutation-logs")
    print(f"work copy: {work}")
    sync(work)
    os.makedirs(logs, exist_ok=True)
    build = ["swift", "build", "--build-tests"]
    test = ["swift", "test", "--skip-build"]
    specs = [os.path.join(".build", "debug", "modelcheck"), "--quiet", "--no-traces", "Specs/"]

    baseline = os.path.join(logs, "baseline.log")
    open(baseline, "w").close()
    status, seconds = run(build, work, baseline, args.build_timeout)
    if status == 0:
        status, more = run(test, work, baseline, args.timeout)
        seconds += more
    if status == 0 and args.specs:
        status, more = run(specs, work, baseline, args.timeout)
        seconds += more
    if status != 0:
        print(f"the unmutated tree does not build and pass its tests (see {baseline}):\n"
              + tail(baseline))
        return 2
    print(f"baseline: builds and passes in {seconds:.0f} s")

    results = []
    started = time.time()
    for k, m in enumerate(live, 1):
        path = os.path.join(work, m.path)
        with open(path, encoding="utf-8") as f:
            original = f.read()
        log = os.path.join(logs, f"{m.ident}.log")
        with open(log, "w", encoding="utf-8") as f:
            f.write(f"{m.ident}: {m.description}\n{m.path}\n"
                    f"--- find\n{m.find}\n--- replace\n{m.replace}\n")
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(original.replace(m.find, m.replace, 1))
            status, seconds = run(build, work, log, args.build_timeout)
            if status != 0:
                verdict = "INVALID"
            else:
                status, more = run(test, work, log, args.timeout)
                seconds += more
                if status == 0 and args.specs:
                    status, more = run(specs, work, log, args.timeout)
                    seconds += more
                # A run that hangs has found the mutant too.
                verdict = ("SURVIVED" if status == 0 else
                           "KILLED" if status is not None else "TIMEOUT")
        finally:
            with open(path, "w", encoding="utf-8") as f:
                f.write(original)
        results.append((m, verdict))
        print(f"[{k}/{len(live)}] {verdict:8} {m.ident}: {m.description} ({seconds:.0f} s)",
              flush=True)
        if verdict == "INVALID":
            print(f"         does not compile (see {log}):\n" + "\n".join(
                "         " + l for l in tail(log, 4).splitlines()))

    killed = [m for m, v in results if v in ("KILLED", "TIMEOUT")]
    survived = [m for m, v in results if v == "SURVIVED"]
    invalid = [m for m, v in results if v == "INVALID"]
    print(f"\n{len(results)} mutants in {(time.time() - started) / 60:.1f} min; "
          f"{len(stale)} stale, {len(invalid)} do not compile")
    if survived:
        print("survivors:")
        for m in survived:
            print(f"  {m.ident}: {m.path}: {m.description}")
    print(f"score: {len(killed)}/{len(killed) + len(survived)} killed")
    return 1 if survived or stale else 0


if __name__ == "__main__":
    sys.exit(main())
