# The reliability suites (issue 11): crash consistency, faults, outages, clock steps,
# bad input, secrets and safety, each through the real binary against the real
# simulator. They share the integration tests' fixtures (the simulator, the binary,
# botocore's client, the daemon with its journald and notify socket), loaded from that
# folder's conftest.py. A short version of each suite runs in `make check`; with
# RELIABILITY_LONG=1 (`make soak`) each runs its long version. Each suite records its
# figures with figures.record(); `make soak` turns them into docs/reliability.md.
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

_spec = importlib.util.spec_from_file_location("integration_conftest",
                                               os.path.join(HERE, "..", "integration", "conftest.py"))
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

for _name in dir(_integration):
    if not _name.startswith("_"):
        globals()[_name] = getattr(_integration, _name)

# The long versions: `make soak` sets RELIABILITY_LONG=1.
LONG = os.environ.get("RELIABILITY_LONG") == "1"
# Every random choice of a suite derives from this seed; the report names it, and
# RELIABILITY_SEED=N replays a run.
SEED = int(os.environ.get("RELIABILITY_SEED", "11"))
