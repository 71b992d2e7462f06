# Bad configuration input (issue 11, item 5), through the real binary: every file of a
# set of broken policy files (the golden error cases, empty ones, binary, non-UTF-8,
# truncated at seeded offsets, huge, deeply nested, wrongly typed, a billion laughs, a
# megabyte of anchors, seeded byte mutations of a good policy) is given to
# `amirotd check` and to the running daemon's reload (SIGHUP). Each must give a clear
# error naming the file, in bounded time, never a crash or a hang; a reload with one
# keeps the policy that file had before, and the daemon stays up.
import glob
import os
import random
import signal
import subprocess
import time

import figures
import journal
from conftest import AMIROTD, LONG, SEED
from test_service_config_errors import statuses, wait_status

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "data", "config")
MIB = 1024 * 1024

WEB = "name: good\ntargets: {tags: {Role: web}}\nschedule: {every: 1h}\nretain: {count: 2}\n"
DB = ("name: db\n"
      "targets:\n"
      "  tags: {Role: db, Tier: \"*\"}\n"
      "  exclude_tags: {amirotd-skip: \"true\"}\n"
      "schedule: {every: 1d, at: \"03:00\"}\n"
      "image:\n"
      "  name: \"{policy}-{instance_id}-{slot}\"\n"
      "  tags: {Team: platform}\n"
      "retain: {count: 7, max_age: 90d}\n").encode()

# `amirotd check` of one file must end within this; a megabyte of anchors took 30 s
# before the anchors went into a search tree, and takes a tenth of a second now.
CHECK_SECONDS = 10


def anchors_mib():
    """The worst case for anchor lookup: 75 000 distinct anchors, then aliases to the first."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

    def name(i):
        s = ""
        while True:
            s += alphabet[i % len(alphabet)]
            i //= len(alphabet)
            if i == 0:
                return s
    parts, size, i = ["["], 1, 0
    while size < MIB // 2:
        p = f"&{name(i)} x,"
        parts.append(p)
        size += len(p)
        i += 1
    while size < MIB - 100:
        parts.append("*a,")
        size += 3
    parts.append("x]\n")
    return "".join(parts).encode()


def billion_laughs():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def fixed_inputs():
    """(name, bytes, where): where is the FILE:LINE:COL prefix's line, or 0 for a whole-file error."""
    out = [
        ("empty", b"", 1),
        ("comments-only", b"# db: disabled\n# name: db\n", 1),
        ("empty-document", b"---\n", 2),
        ("null-document", b"--- ~\n", 1),
        ("empty-list", b"[]\n", 1),
        ("huge", b"# " + b"x" * (MIB + 10) + b"\n", 0),
        ("anchors-1mib", anchors_mib(), 1),
        ("billion-laughs", billion_laughs(), 7),
        ("deep-nesting", b"[" * 10000, 1),
        ("deep-mapping", b"".join(b"  " * i + b"k:\n" for i in range(200)), 65),
        ("binary", bytes(random.Random(SEED).randrange(256) for _ in range(4096)), None),
        ("latin-1", DB.replace(b"platform", b"plat\xe9forme"), 8),
        ("nul-byte", DB.replace(b"Role: db", b"Role: d\x00b"), 3),
        ("wrong-types", b"name: [db]\ntargets: 3\nschedule: [every]\nretain: {count: many}\nimage: true\n", 1),
        ("empty-tag-key", DB.replace(b"Role: db", b'"": db'), 3),
        ("unknown-anchor", b"name: db\ntargets: *t\n", 2),
        ("tab-indent", DB.replace(b"  tags", b"\ttags"), 3),
    ]
    return out


def golden_inputs():
    """The policy files of the golden error cases: most are errors alone, some (a case whose
    error is in its global file or between two files) load."""
    out = []
    for path in sorted(glob.glob(os.path.join(GOLDEN, "err-*", "policies.d", "*.yaml"))):
        with open(path, "rb") as f:
            out.append((f"{path.split(os.sep)[-3]}/{os.path.basename(path)}", f.read(), None))
    return out


def truncations(rng, n):
    """DB cut at n seeded offsets, each inside a token or a line."""
    offsets = sorted(rng.sample(range(1, len(DB) - 1), n))
    return [(f"truncated-at-{k}", DB[:k], None) for k in offsets]


def mutations(rng, n):
    """DB with a few seeded bytes flipped, dropped or inserted: most are errors, some still load."""
    out = []
    for i in range(n):
        b = bytearray(DB)
        for _ in range(rng.randint(1, 4)):
            k = rng.randrange(len(b))
            op = rng.randrange(3)
            if op == 0:
                b[k] = rng.randrange(256)
            elif op == 1:
                del b[k]
            else:
                b.insert(k, rng.choice(b"{}[]:,&*!|>'\"#-? \n\t\x00\xff"))
        out.append((f"mutation-{i}", bytes(b), None))
    return out


def run_check(amirotd, data):
    path = amirotd.dir / "policies.d" / "db.yaml"
    path.write_bytes(data)
    start = time.monotonic()
    p = subprocess.run([AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "check"], env=amirotd.env,
                       capture_output=True, timeout=CHECK_SECONDS * 3)
    return p, time.monotonic() - start


def test_check_gives_a_clear_error_for_every_bad_file(amirotd):
    rng = random.Random(SEED)
    amirotd.write_policy("web", WEB)
    cases = fixed_inputs()
    # YAML allows UTF-16 with a byte order mark, and libyaml reads it
    loadable = [("utf-16", "\ufeff".encode("utf-16-le") + DB.decode().encode("utf-16-le"), None)]
    loadable += golden_inputs() + truncations(rng, 200 if LONG else 20) + mutations(rng, 3000 if LONG else 60)
    start = time.monotonic()
    violations = []
    db = str(amirotd.dir / "policies.d" / "db.yaml")

    p, _ = run_check(amirotd, DB)
    assert p.returncode == 0, p.stderr

    for name, data, line in cases + loadable:
        p, seconds = run_check(amirotd, data)
        err = p.stderr.decode(errors="replace")
        fixed = (name, data, line) in cases
        if p.returncode not in ((78,) if fixed else (0, 78)):
            violations.append(f"{name}: exit {p.returncode}\n{err}")
        elif seconds > CHECK_SECONDS:
            violations.append(f"{name}: {seconds:.1f} s")
        elif p.returncode == 78:
            said = [x for x in err.splitlines() if x.startswith(f"error: {db}:")]
            if not said:
                violations.append(f"{name}: no error naming {db}:\n{err}")
            elif line is not None and not said[0].startswith(f"error: {db}:{line}:" if line else f"error: {db}: "):
                violations.append(f"{name}: expected the first error at line {line}:\n{err}")
            elif "web.yaml" in err:
                violations.append(f"{name}: the good file is blamed too:\n{err}")
    seconds = time.monotonic() - start
    n = len(cases) + len(loadable)
    figures.record("bad-input", scenario="amirotd check", inputs=n, violations=len(violations),
                   seconds=round(seconds, 1), seed=SEED,
                   command=f"make soak-reliability RELIABILITY_SEED={SEED}" if LONG else
                   f"make check-reliability RELIABILITY_SEED={SEED}",
                   notes="golden error cases, empty, binary, non-UTF-8, truncated, huge, nested, "
                         "wrong types, billion laughs, 1 MiB of anchors, seeded mutations")
    assert not violations, "\n".join(violations[:20])


def test_reload_with_a_bad_file_keeps_that_files_policy(amirotd, daemon):
    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("web", WEB)
    (amirotd.dir / "policies.d" / "db.yaml").write_bytes(DB)
    d = daemon()
    d.notify.wait_for("READY=1")
    wait_status(d, lambda s: s.startswith("2 policies"))
    rng = random.Random(SEED + 1)
    cases = fixed_inputs()
    if LONG:
        cases += [c for c in truncations(rng, 100) if c[1].strip()]
    start = time.monotonic()
    db = f"{amirotd.dir}/policies.d/db.yaml"

    for i, (name, data, _) in enumerate(cases):
        (amirotd.dir / "policies.d" / "db.yaml").write_bytes(data)
        d.proc.send_signal(signal.SIGHUP)
        # "reloaded with errors" (the file left out), or past the cap on diagnostics
        # "reload failed" (nothing changed): either way db keeps its policy
        journal.wait_for(d.log, lambda e: len([x for x in e if "reloaded with errors" in x.get("MESSAGE", "")
                                               or "reload failed" in x.get("MESSAGE", "")]) > i, timeout=30)
        assert d.proc.poll() is None, f"{name}: the daemon exited {d.proc.returncode}"
        status = wait_status(d, lambda s: db in s)
        assert status.startswith("2 policies;"), f"{name}: {status}"   # db keeps what it had
        assert f"reload failed: {db}" in status, f"{name}: {status}"

    (amirotd.dir / "policies.d" / "db.yaml").write_bytes(DB)
    d.proc.send_signal(signal.SIGHUP)
    journal.wait_for(d.log, lambda e: any("configuration reloaded: 2 policies" in x.get("MESSAGE", "")
                                          for x in e))
    wait_status(d, lambda s: "reload failed" not in s and s.startswith("2 policies"))
    assert not [m for m in statuses(d) if m.startswith("0 policies")]
    assert d.stop() == 0
    figures.record("bad-input", scenario="reload (SIGHUP)", inputs=len(cases), violations=0,
                   seconds=round(time.monotonic() - start, 1), seed=SEED,
                   command=f"make soak-reliability RELIABILITY_SEED={SEED}" if LONG else
                   f"make check-reliability RELIABILITY_SEED={SEED}",
                   notes="each file replaces a good policy file, then SIGHUP; the old policy stays loaded")
