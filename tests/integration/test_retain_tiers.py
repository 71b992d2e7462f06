# Retention beyond count (issue 13, items 1 and 2, and retain.min_count): tiers as
# restic's --keep-hourly/daily/weekly/monthly/yearly in the policy's time zone, and
# the images of departed instances. The real binary against ec2sim seeded with image
# histories; what must stay is computed here, independently of the C code, from
# restic's definition with Python's zoneinfo as the time-zone oracle.
import datetime as dt
import json
import random
from zoneinfo import ZoneInfo

import pytest

import journal
from conftest import images, retired

MESSAGE_DEPARTED_PILE_UP = "5b23f4399c0a4a4ab671519f8458b55f"
UTC = dt.timezone.utc
# A Wednesday 10:00 UTC; the slot of the hourly schedule begins then in every zone below
# (Lord Howe's offsets are whole or half hours: its hourly slots start at :00 or :30
# UTC, so the policy's slot is computed by the schedule, not assumed).
NOW = dt.datetime(2030, 1, 16, 10, 0, 20, tzinfo=UTC)


def slot_id(t):
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def iso(t):
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_history(sim, instance_id, slots, policy="tiers"):
    """One available image per slot start, tagged as amirotd tags its own, made two
    minutes into its slot; returns {image_id: slot}."""
    specs = [{"name": f"{policy}-{instance_id}-{slot_id(t)}", "state": "available",
              "tags": {"amirotd:policy": policy, "amirotd:instance-id": instance_id,
                       "amirotd:slot": slot_id(t)},
              "instance_id": instance_id, "creation_date": iso(t + dt.timedelta(minutes=2))}
             for t in slots]
    ids = sim.seed(images=specs)["images"]
    return dict(zip(ids, slots))


def restic_keep(slots, zone, tiers, count=0, max_age=None, min_count=0, now=NOW):
    """The slots restic keeps of `slots` (newest first): the newest; count as amirotd has
    always read it (the newest `count` made within max_age); each tier's newest image
    per distinct period, for as many periods as it says; the newest min_count."""
    z = ZoneInfo(zone)
    keys = {
        "hourly": lambda t: t.astimezone(z).strftime("%Y-%m-%d %H"),
        "daily": lambda t: t.astimezone(z).date(),
        "weekly": lambda t: t.astimezone(z).isocalendar()[:2],
        "monthly": lambda t: t.astimezone(z).strftime("%Y-%m"),
        "yearly": lambda t: t.astimezone(z).year,
    }
    keep = {slots[0]}
    keep.update(slots[:min_count])
    for k, t in enumerate(slots):
        young = max_age is None or now - (t + dt.timedelta(minutes=2)) <= max_age
        if (count or max_age) and (not count or k < count) and young:
            keep.add(t)
    for tier, n in tiers.items():
        seen = []
        for t in slots:
            if len(seen) == n:
                break
            key = keys[tier](t)
            if not seen or seen[-1] != key:
                seen.append(key)
                keep.add(t)
    return keep


def tiers_policy(zone, tiers, extra=""):
    rules = "".join(f"  {k}: {v}\n" for k, v in tiers.items())
    return (f"name: tiers\n"
            f"targets: {{tags: {{Role: app}}}}\n"
            f"schedule: {{cron: \"0 * * * *\", timezone: {zone}}}\n"
            f"retain:\n{rules}{extra}"
            f"  max_retire_per_run: 100%\n")


def random_history(rng, now, zone):
    """About 250 slot starts, newest first: dense in the last days, sparse further back,
    over more than a year and its DST changes; the newest is the current slot."""
    z = ZoneInfo(zone)
    current = now.astimezone(z).replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    slots = {current}
    for _ in range(250):
        back = rng.choice([rng.randrange(1, 72), rng.randrange(1, 24 * 40), rng.randrange(1, 24 * 500)])
        t = (current - dt.timedelta(hours=back)).astimezone(z).replace(minute=0).astimezone(UTC)
        slots.add(t)
    return sorted(slots, reverse=True)


@pytest.mark.parametrize("zone,seed", [("Europe/Berlin", 1), ("America/New_York", 2), ("Australia/Lord_Howe", 3)])
def test_tiers_retire_exactly_what_restic_would(amirotd, sim, ec2, zone, seed):
    rng = random.Random(seed)
    tiers = {"hourly": 6, "daily": 7, "weekly": 5, "monthly": 6, "yearly": 2}
    iid = sim.seed(instances=[{"tags": {"Role": "app"}}])["instances"][0]
    slots = random_history(rng, NOW, zone)
    seeded = seed_history(sim, iid, slots)
    amirotd.write_policy("tiers", tiers_policy(zone, tiers, "  count: 3\n  max_age: 2d\n  min_count: 4\n"))

    want = restic_keep(slots, zone, tiers, count=3, max_age=dt.timedelta(days=2), min_count=4)
    plan = json.loads(amirotd.run("plan", "--json", now=iso(NOW)).stdout)
    # The current slot has its image: nothing to create, and retention alone speaks.
    assert [a for a in plan if a["action"] != "retire"] == []
    planned = {a["image_id"] for a in plan}
    assert planned == {i for i, t in seeded.items() if t not in want}
    assert {a["reason"] for a in plan} == {
        "kept by no rule (count 3, max_age 2d, hourly 6, daily 7, weekly 5, monthly 6, yearly 2, min_count 4)"}

    sim.set_clock(iso(NOW))
    amirotd.run("once", now=iso(NOW))
    left = {g["ImageId"] for g in images(ec2, **{"tag:amirotd:policy": "tiers"})}
    assert left == {i for i, t in seeded.items() if t in want}
    # A day later with a new image each hour: nothing retired before is wanted back, so
    # the second plan only ever retires more.
    later = NOW + dt.timedelta(days=1)
    z = ZoneInfo(zone)
    newer = sorted({(NOW + dt.timedelta(hours=h)).astimezone(z).replace(minute=0, second=0, microsecond=0)
                    .astimezone(UTC) for h in range(1, 25)} - set(slots), reverse=True)
    seed_history(sim, iid, newer)
    all_slots = sorted(set(newer) | set(slots), reverse=True)
    want_later = restic_keep(all_slots, zone, tiers, count=3, max_age=dt.timedelta(days=2), min_count=4,
                             now=later)
    assert want_later & set(slots) <= want
    plan = json.loads(amirotd.run("plan", "--json", now=iso(later)).stdout)
    assert {seeded[a["image_id"]] for a in plan if a["image_id"] in seeded} == (want - want_later) & set(slots)


def test_plan_names_count_and_max_age_as_before(amirotd, sim):
    iid = sim.seed(instances=[{"tags": {"Role": "app"}}])["instances"][0]
    current = NOW.replace(minute=0, second=0)
    seeded = seed_history(sim, iid, [current - dt.timedelta(days=k) for k in range(6)])
    amirotd.write_policy("tiers", tiers_policy("UTC", {}, "  count: 5\n  max_age: 3d\n"))
    table = amirotd.run("plan", now=iso(NOW)).stdout
    reasons = {a["image_id"]: a["reason"] for a in json.loads(amirotd.run("plan", "--json", now=iso(NOW)).stdout)}
    ids = list(seeded)
    assert reasons == {ids[4]: "older than max_age 3d", ids[5]: "older than max_age 3d"}
    assert "older than max_age 3d" in table


def test_departed_max_age_retires_every_image_the_newest_included(amirotd, sim, ec2):
    live = sim.seed(instances=[{"tags": {"Role": "app"}}])["instances"][0]
    current = NOW.replace(minute=0, second=0)
    seed_history(sim, live, [current - dt.timedelta(hours=k) for k in range(2)])
    # i-0de9a27ed00000001: imaged last 40 days ago; i-0de9a27ed00000002: 10 days ago.
    old = seed_history(sim, "i-0de9a27ed00000001", [current - dt.timedelta(days=40 + k) for k in range(3)])
    recent = seed_history(sim, "i-0de9a27ed00000002", [current - dt.timedelta(days=10 + k) for k in range(3)])
    amirotd.write_policy("tiers", tiers_policy("UTC", {}, "  count: 5\n  departed: {keep: 2, max_age: 30d}\n"))

    plan = json.loads(amirotd.run("plan", "--json", now=iso(NOW)).stdout)
    reasons = {a["image_id"]: a["reason"] for a in plan if a["action"] == "retire"}
    assert reasons == {
        **{i: "departed instance: not imaged for retain.departed.max_age 30d" for i in old},
        list(recent)[2]: "departed instance: beyond retain.departed.keep 2",
    }

    sim.set_clock(iso(NOW))
    p = amirotd.run("once", now=iso(NOW))
    left = {g["ImageId"] for g in images(ec2, **{"tag:amirotd:policy": "tiers"})}
    assert not left & set(old), p.stderr
    assert set(list(recent)[:2]) <= left
    assert set(old) <= {c["params"]["ImageId"] for c in sim.calls("DeregisterImage")}


def test_without_departed_the_newest_image_of_a_departed_instance_stays(amirotd, sim, ec2):
    sim.seed(instances=[{"tags": {"Role": "app"}}])
    current = NOW.replace(minute=0, second=0)
    gone = seed_history(sim, "i-0de9a27ed00000001", [current - dt.timedelta(days=400 + k) for k in range(3)])
    amirotd.write_policy("tiers", tiers_policy("UTC", {}, "  count: 2\n  max_age: 30d\n"))
    sim.set_clock(iso(NOW))
    amirotd.run("once", now=iso(NOW))
    left = {g["ImageId"] for g in images(ec2, **{"tag:amirotd:policy": "tiers"})}
    assert left & set(gone) == {list(gone)[0]}


def seed_departed_fleet(sim, n_departed, now=NOW):
    """One selected instance, and n_departed others imaged twice each, the k-th last
    imaged 20 + k days before now."""
    sim.seed(instances=[{"tags": {"Role": "app"}}])
    current = now.replace(minute=0, second=0, microsecond=0)
    for k in range(n_departed):
        seed_history(sim, f"i-0de9a27ed{k:08d}", [current - dt.timedelta(days=20 + k, hours=h) for h in range(2)])


def test_departed_pile_up_is_warned_once_a_run_and_not_below_the_threshold(amirotd, sim):
    seed_departed_fleet(sim, 12)
    amirotd.write_policy("tiers", tiers_policy("UTC", {}, "  count: 2\n"))
    sim.set_clock(iso(NOW))
    p = amirotd.run("once", now=iso(NOW))
    warning = ("warning: policy 'tiers' in us-east-1: 12 instances it no longer selects hold 24 images "
               "(it selects 1); the one imaged longest ago is i-0de9a27ed00000011 (20291216T100000Z): "
               "set retain.departed to retire them")
    assert p.stderr.count(warning) == 1, p.stderr

    # Once retain.departed is set, what stays is the operator's choice: no warning.
    amirotd.write_policy("tiers", tiers_policy("UTC", {}, "  count: 2\n  departed: {keep: 2}\n"))
    p = amirotd.run("once", now=iso(NOW))
    assert "no longer selects" not in p.stderr


def test_departed_below_the_threshold_is_not_warned(amirotd, sim):
    seed_departed_fleet(sim, 9)
    amirotd.write_policy("tiers", tiers_policy("UTC", {}, "  count: 2\n"))
    sim.set_clock(iso(NOW))
    p = amirotd.run("once", now=iso(NOW))
    assert "no longer selects" not in p.stderr


def test_departed_warning_reaches_the_journal_with_its_message_id(amirotd, sim, daemon):
    # The service runs on the host's clock.
    seed_departed_fleet(sim, 12, now=dt.datetime.now(UTC))
    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("tiers", tiers_policy("UTC", {}, "  count: 2\n"))
    d = daemon()
    d.notify.wait_for("READY=1")
    journal.wait_for(d.log, lambda e: any(x.get("MESSAGE_ID") == MESSAGE_DEPARTED_PILE_UP for x in e),
                     timeout=60, what="the departed warning")
    e = [x for x in journal.entries(d.log) if x.get("MESSAGE_ID") == MESSAGE_DEPARTED_PILE_UP][0]
    assert e["PRIORITY"] == "4"
    assert e["AMIROTD_POLICY"] == "tiers"
    assert e["AMIROTD_REGION"] == "us-east-1"
    assert e["AMIROTD_INSTANCE_ID"] == "i-0de9a27ed00000011"
    assert "12 instances it no longer selects hold 24 images" in e["MESSAGE"]
    assert d.stop() == 0
    assert retired(journal.entries(d.log)) == []
