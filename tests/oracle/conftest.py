# `make check-oracle` runs a seeded sample of each oracle test's cases (ORACLE_SAMPLE
# per test function, chosen with ORACLE_SEED; a module with ORACLE_CHEAP = True runs
# whole), so that it stays well under a minute;
# `make check-oracle-full` (ORACLE_SAMPLE unset) runs them all, the endpoint oracle's
# 4 480 URLs taking minutes because botocore builds a session and a client per region.
import os
import random


def pytest_collection_modifyitems(config, items):
    n = int(os.environ.get("ORACLE_SAMPLE") or 0)
    if n <= 0:
        return
    rng = random.Random(os.environ.get("ORACLE_SEED", "18"))
    groups = {}
    for item in items:
        if getattr(item.module, "ORACLE_CHEAP", False):
            continue                    # seconds in full: always all of it
        groups.setdefault((item.module.__name__, item.originalname), []).append(item)
    keep = {id(i) for i in items if getattr(i.module, "ORACLE_CHEAP", False)}
    for group in groups.values():
        keep.update(id(i) for i in (group if len(group) <= n else rng.sample(group, n)))
    config.hook.pytest_deselected(items=[i for i in items if id(i) not in keep])
    items[:] = [i for i in items if id(i) in keep]
