# What each reliability suite did, for docs/reliability.md: one JSON line per record
# into $RELIABILITY_FIGURES (`make soak` sets it; unset, nothing is written).
#
# A record is a suite's name and any of: scenario, kills, slots, images, faults,
# inputs, violations, seconds, seed, command (what reproduces it), notes.
import json
import os


def record(suite, **figures):
    out = os.environ.get("RELIABILITY_FIGURES")
    if not out:
        return
    with open(out, "a") as f:
        f.write(json.dumps(dict(suite=suite, **figures), sort_keys=True) + "\n")
