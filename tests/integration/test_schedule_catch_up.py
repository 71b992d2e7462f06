# What the real binary runs when it starts after being down across a DST transition
# (design rule 4, catch-up): one image for the slot current at start, none for the slots
# it slept through, and none again for a slot it already made, a repeated hour included.
# `once --now` takes the path the service takes at start (engine -> plan -> the slot at
# "now"); the expected slots are those tests/schedule proves against croniter and zoneinfo.
from conftest import run_instances

POLICY = """\
    name: berlin
    targets:
      tags: {Role: web}
    schedule:
      cron: "30 2 * * *"
      timezone: Europe/Berlin
    retain:
      count: 10
"""


def slots(amirotd):
    """The slot tags of the policy's images, from the simulator's own records (describes lag)."""
    out = []
    for i in amirotd.sim.images():
        tags = i.get("Tags") or i.get("tags") or {}
        if isinstance(tags, list):
            tags = {t["Key"]: t["Value"] for t in tags}
        if tags.get("amirotd:policy") == "berlin":
            out.append(tags["amirotd:slot"])
    return sorted(out)


def start_at(amirotd, now):
    amirotd.sim.set_clock(now)
    amirotd.run("once", now=now)


def test_start_after_a_transition_makes_the_current_slot_once(amirotd, ec2):
    # The simulator's clock goes where the runs are, so the instance is launched before them.
    amirotd.sim.set_clock("2026-03-01T00:00:00Z")
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_policy("berlin", POLICY)

    # Down from Saturday noon to Sunday 03:30 CEST: 02:30 never existed that night, and the
    # slot that replaces it began when the clocks jumped (01:00Z).
    start_at(amirotd, "2026-03-28T12:00:00Z")
    start_at(amirotd, "2026-03-29T01:30:00Z")
    assert slots(amirotd) == ["20260328T013000Z", "20260329T010000Z"]
    # Down again for two days: only the current slot is made, the missed one is not back-filled.
    start_at(amirotd, "2026-03-31T12:00:00Z")
    assert slots(amirotd)[-1] == "20260331T003000Z" and len(slots(amirotd)) == 3

    # Autumn: 02:30 comes twice on 2026-10-25. A start during the first 02:30 hour makes its slot;
    # one during the second makes nothing, since that is the same slot.
    start_at(amirotd, "2026-10-25T00:45:00Z")
    start_at(amirotd, "2026-10-25T01:45:00Z")
    assert slots(amirotd)[-1] == "20261025T003000Z" and len(slots(amirotd)) == 4
    assert len(amirotd.sim.calls("CreateImage")) == 4
