#!/usr/bin/python3
# docs/reliability.md from the figures the reliability suites recorded (figures.py):
#
#   tests/reliability/report.py build/reliability-figures.jsonl >docs/reliability.md
#
# One JSON object a line, each a suite's name and what one record of it measured. The
# page says when and where it ran and how to run it again, then gives each suite a
# section: a table of its records, with the columns that suite used, and its totals.
# Suites are shown in the order of issue 11; a suite this script does not know comes
# after them, shown the same way.
import datetime
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

KNOWN_SUITES = ["crash", "faults", "outages", "clock", "bad-input", "fuzz", "secrets", "safety"]
TITLES = {
    "crash": "Crash consistency",
    "faults": "Fault matrix",
    "outages": "Outages",
    "clock": "Clock steps",
    "bad-input": "Bad input",
    "fuzz": "Fuzzing",
    "secrets": "Secrets",
    "safety": "Safety against operator mistakes",
}
# The figures every suite may record, in the order of the tables; the totals add these.
TOTALLED = ["kills", "slots", "images", "faults", "inputs", "violations", "seconds"]
# Shown apart from the table: the same for every record of a suite, or long.
AFTER = ["seed", "command", "notes"]


def load(path):
    records = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: not a JSON line: {e}")
            if not isinstance(rec, dict) or not isinstance(rec.get("suite"), str):
                raise SystemExit(f"{path}:{n}: a record needs a \"suite\" name")
            records.append(rec)
    return records


def by_suite(records):
    suites = {}
    for rec in records:
        suites.setdefault(rec["suite"], []).append(rec)
    order = [s for s in KNOWN_SUITES if s in suites] + sorted(s for s in suites if s not in KNOWN_SUITES)
    return [(s, suites[s]) for s in order]


def git_commit():
    try:
        out = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty", "--abbrev=12"],
                             capture_output=True, text=True, timeout=10)
    except OSError:
        return "unknown (no git)"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown (not a git checkout)"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        v = f"{v:.1f}"
    elif isinstance(v, (list, dict)):
        v = json.dumps(v, sort_keys=True)
    return str(v).replace("|", "\\|").replace("\n", " ")


def duration(seconds):
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def columns(recs):
    used = {k for r in recs for k in r if k != "suite"}
    cols = ["scenario"] if "scenario" in used else []
    cols += [k for k in TOTALLED if k in used]
    cols += sorted(k for k in used if k not in cols and k not in AFTER)
    return cols


def totals(recs):
    out = {}
    for k in TOTALLED:
        values = [r[k] for r in recs if is_number(r.get(k))]
        if values:
            out[k] = sum(values)
    return out


def shared(recs, key):
    """The value of `key` when every record that has it agrees, else None."""
    values = {json.dumps(r[key], sort_keys=True) for r in recs if key in r}
    return recs[[key in r for r in recs].index(True)][key] if len(values) == 1 else None


def suite_section(name, recs):
    lines = [f"## {TITLES.get(name, name)} (`{name}`)", ""]
    cols = columns(recs)
    lines.append("| " + " | ".join("time (s)" if c == "seconds" else c for c in cols) + " |")
    lines.append("|" + "|".join("---" if c == "scenario" else "---:" for c in cols) + "|")
    for r in recs:
        lines.append("| " + " | ".join(cell(r.get(c)) for c in cols) + " |")
    t = totals(recs)
    if len(recs) > 1 and t:
        lines.append("| " + " | ".join(
            "**total**" if c == "scenario" else (f"**{cell(t[c])}**" if c in t else "") for c in cols) + " |")
    lines.append("")
    summary = [f"{cell(t[k])} {k}" for k in TOTALLED if k in t and k != "seconds"]
    if "seconds" in t:
        summary.append(duration(t["seconds"]))
    lines.append(f"Totals: {', '.join(summary) if summary else 'none recorded'} "
                 f"over {len(recs)} record{'s' if len(recs) != 1 else ''}.")
    lines.append("")
    for key, label in (("seed", "Seed"), ("command", "Reproduce"), ("notes", "Notes")):
        value = shared(recs, key)
        if value is not None:
            lines.append(f"{label}: `{value}`" if key == "command" else f"{label}: {cell(value)}")
            lines.append("")
        else:
            per = [(r.get("scenario", f"record {n + 1}"), r[key]) for n, r in enumerate(recs) if key in r]
            if per:
                lines.append(f"{label}:")
                lines.append("")
                lines += [f"- {cell(s)}: " + (f"`{v}`" if key == "command" else cell(v)) for s, v in per]
                lines.append("")
    return lines


def overview(suites):
    lines = ["| suite | " + " | ".join("time" if k == "seconds" else k for k in TOTALLED) + " |",
             "|---|" + "---:|" * len(TOTALLED)]
    grand = {}
    for name, recs in suites:
        t = totals(recs)
        for k, v in t.items():
            grand[k] = grand.get(k, 0) + v
        lines.append(f"| [{name}](#{TITLES.get(name, name).lower().replace(' ', '-')}-{name}) | " +
                     " | ".join((duration(t[k]) if k == "seconds" else cell(t[k])) if k in t else "–"
                                for k in TOTALLED) + " |")
    lines.append("| **all** | " + " | ".join(
        (f"**{duration(grand[k])}**" if k == "seconds" else f"**{cell(grand[k])}**") if k in grand else "–"
        for k in TOTALLED) + " |")
    return lines


def render(path, records):
    ran = datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc)
    seeds = sorted({r["seed"] for r in records if "seed" in r}, key=str)
    seed = seeds[0] if len(seeds) == 1 else os.environ.get("RELIABILITY_SEED", "11")
    suites = by_suite(records)
    lines = [
        "# amirotd reliability figures",
        "",
        "Written by `make soak` (its `soak-reliability` part) from the figures the suites under",
        "tests/reliability recorded: crash consistency, faults, outages, clock steps, bad input,",
        "fuzzing, secrets and safety (issue 11). Every figure is measured, none is estimated.",
        "",
        f"- Ran: {ran:%Y-%m-%d %H:%M} UTC (the figures' last record)",
        f"- Machine: {os.cpu_count()} CPUs (nproc), {cpu_model()}, Linux {platform.release()}",
        f"- amirotd: git commit {git_commit()}",
        f"- Seed: {', '.join(str(s) for s in seeds) if seeds else 'not recorded'}",
        "",
        "To run it again with the same random choices:",
        "",
        "```",
        f"make soak-reliability RELIABILITY_SEED={seed}",
        "```",
        "",
        "A suite's short version runs in `make check` (`make check-reliability`).",
        "",
    ]
    if not suites:
        lines += ["No suite recorded any figure.", ""]
        return "\n".join(lines)
    lines += ["## Overview", ""] + overview(suites) + [""]
    for name, recs in suites:
        lines += suite_section(name, recs)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} FIGURES.jsonl >docs/reliability.md", file=sys.stderr)
        return 2
    if not os.path.exists(argv[1]):
        print(f"{argv[1]}: no figures file (did the suites run with RELIABILITY_FIGURES set?)", file=sys.stderr)
        return 1
    sys.stdout.write(render(argv[1], load(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
