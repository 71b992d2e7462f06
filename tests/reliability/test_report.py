# report.py turns the suites' figures into docs/reliability.md: sections in issue 11's
# order whatever order the records came in, a suite it does not know after them, each
# table with the columns its suite used, and totals that add up.
import json
import os
import subprocess

REPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report.py")
COMMAND = "make soak-reliability RELIABILITY_SEED=7"


def report(tmp_path, records):
    path = tmp_path / "figures.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    p = subprocess.run(["/usr/bin/python3", REPORT, str(path)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_sections_in_the_issues_order_with_the_columns_each_suite_used_and_totals(tmp_path):
    out = report(tmp_path, [
        {"suite": "zeta-new", "scenario": "later suite", "inputs": 1000, "seconds": 70, "seed": 7},
        {"suite": "safety", "scenario": "retain 30 -> 1", "images": 29, "violations": 0, "seconds": 3.5,
         "seed": 7, "command": COMMAND},
        {"suite": "crash", "scenario": "sigkill", "kills": 300, "slots": 90, "images": 610, "violations": 0,
         "seconds": 500.0, "sim_restarts": 20, "seed": 7, "command": COMMAND},
        {"suite": "safety", "scenario": "max_age typo | 1d", "images": 12, "violations": 1, "seconds": 2.5,
         "seed": 7, "command": COMMAND},
    ])
    heads = [line for line in out.splitlines() if line.startswith("## ")]
    assert heads == ["## Overview", "## Crash consistency (`crash`)",
                     "## Safety against operator mistakes (`safety`)", "## zeta-new (`zeta-new`)"]
    assert f"```\n{COMMAND}\n```" in out
    assert "- Machine: " in out and "nproc" in out and "- amirotd: git commit " in out

    safety = out.split("## Safety")[1].split("## zeta")[0]
    assert "| scenario | images | violations | time (s) |" in safety     # no kills, slots, ...
    assert "| max_age typo \\| 1d | 12 | 1 | 2.5 |" in safety           # a | in a cell is escaped
    assert "| **total** | **41** | **1** | **6.0** |" in safety
    assert "Totals: 41 images, 1 violations, 6 s over 2 records." in safety
    assert f"Reproduce: `{COMMAND}`" in safety

    crash = out.split("## Crash")[1].split("## Safety")[0]
    assert "| scenario | kills | slots | images | violations | time (s) | sim_restarts |" in crash
    assert "Totals: 300 kills, 90 slots, 610 images, 0 violations, 8 min 20 s over 1 record." in crash

    overview = out.split("## Overview")[1].split("## Crash")[0]
    assert "| **all** | **300** | **90** | **651** | – | **1000** | **1** | **9 min 36 s** |" in overview


def test_missing_figures_file_is_an_error_that_says_so(tmp_path):
    p = subprocess.run(["/usr/bin/python3", REPORT, str(tmp_path / "none.jsonl")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "no figures file" in p.stderr and p.stdout == ""
