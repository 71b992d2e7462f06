# amirotd run with slots much shorter than the default spread (10 minutes): every
# image must be created within the slot it is named for, and no slot may be
# skipped. Before the spread was cut to the slot, creations were delayed by up to
# ten minutes past their slot, and the slots that went by meanwhile got no image.
import datetime
import time

import journal
from conftest import run_instances

SLOT_SECONDS = 20
POLICY = f"""\
    name: fast
    targets:
      tags: {{Role: fast}}
    schedule:
      every: {SLOT_SECONDS}s
    retain:
      count: 50
"""


def slot_start(slot_id):
    return datetime.datetime.strptime(slot_id, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def call_time(call):
    return datetime.datetime.fromisoformat(call["time"].replace("Z", "+00:00")).timestamp()


def slot_tag(call):
    """The amirotd:slot tag a CreateImage call gave its image."""
    p = call["params"]
    for k, v in p.items():
        if k.startswith("TagSpecification.") and k.endswith(".Key") and v == "amirotd:slot":
            return p[k[:-len("Key")] + "Value"]
    raise AssertionError(f"no amirotd:slot tag in {p}")


def test_images_are_created_within_their_slot_and_no_slot_is_skipped(amirotd, ec2, sim, daemon):
    ids = run_instances(ec2, {"Role": "fast"}, count=4)
    amirotd.write_policy("fast", POLICY)            # the default spread: 10 minutes
    p = amirotd.run("check", check=True)
    assert "default spread of 10m is cut to 5s for policy 'fast'" in p.stderr, p.stderr
    d = daemon()
    d.notify.wait_for("READY=1")
    time.sleep(4 * SLOT_SECONDS + 5)
    assert d.stop() == 0

    creates = [c for c in sim.calls("CreateImage") if c["status"] == 200]
    per_instance = {}
    for c in creates:
        slot = slot_tag(c)
        started = slot_start(slot)
        # The sim's log stamps the call when it answered; a second of slack for the stamp.
        assert started - 1 <= call_time(c) < started + SLOT_SECONDS, \
            f"{c['params'].get('InstanceId')}: image of slot {slot} created at {c['time']}"
        per_instance.setdefault(c["params"]["InstanceId"], set()).add(started)

    assert sorted(per_instance) == sorted(ids)
    for instance, starts in per_instance.items():
        starts = sorted(starts)
        assert len(starts) >= 4, f"{instance}: only slots {starts}"
        gaps = {b - a for a, b in zip(starts, starts[1:])}
        assert gaps == {SLOT_SECONDS}, f"{instance}: slots skipped: {starts}"
    assert not [e for e in journal.entries(d.log) if e.get("PRIORITY") in ("0", "1", "2", "3")]
