# The fuzz harnesses of every parser of outside input (issue 11, item 5), long version
# only: `make soak` builds them (clang, libFuzzer, ASan, UBSan) and runs each for
# FUZZ_SECONDS (60 by default here) over its kept corpus build-fuzz/corpus/NAME and its
# seed corpus tests/fuzz/corpus/NAME, as `make fuzz` does, and records how many inputs
# each ran and whether it found a crash. A crash leaves its input in build-fuzz/ (the
# harness's -artifact_prefix) to be fixed and made a regression test.
import os
import re
import subprocess
import time

import figures
import pytest
from conftest import LONG, SEED

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SECONDS = int(os.environ.get("FUZZ_SECONDS", "60"))

pytestmark = pytest.mark.skipif(not LONG, reason="the fuzz soak runs only under make soak")


def fuzzers():
    with open(os.path.join(ROOT, "Makefile")) as f:
        m = re.search(r"^FUZZERS := (.*)$", f.read(), re.M)
    return m.group(1).split()


@pytest.fixture(scope="module")
def built():
    p = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "fuzz-build"],
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]


@pytest.mark.parametrize("name", fuzzers())
def test_fuzzer_finds_nothing(built, name):
    corpus = os.path.join(ROOT, "build-fuzz", "corpus", name)
    os.makedirs(corpus, exist_ok=True)
    start = time.monotonic()
    p = subprocess.run([os.path.join(ROOT, "build-fuzz", "fuzz-" + name),
                        f"-max_total_time={SECONDS}", "-max_len=65536", "-print_final_stats=1",
                        f"-seed={SEED}", "-artifact_prefix=" + os.path.join(ROOT, "build-fuzz", name + "-"),
                        corpus, os.path.join(ROOT, "tests", "fuzz", "corpus", name)],
                       capture_output=True, text=True, timeout=SECONDS * 3 + 120)
    seconds = time.monotonic() - start
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", p.stderr)
    crashed = p.returncode != 0
    figures.record("fuzz", scenario=name, inputs=int(m.group(1)) if m else 0, violations=int(crashed),
                   seconds=round(seconds), seed=SEED, command=f"make fuzz FUZZ_SECONDS={SECONDS}",
                   notes="libFuzzer with ASan and UBSan, kept corpus plus tests/fuzz/corpus/" + name)
    assert not crashed, p.stderr[-6000:]
    assert m, p.stderr[-2000:]
