# Safety against operator mistakes (issue 11, item 7), through the real binary against
# ec2sim, EC2's state read back with botocore:
#
# - the bound: retain.count lowered at once (or a max_age typo) retires at most
#   max_retire_per_run of a policy's images per run beyond the rotation (one image per
#   instance and one per new image), oldest first; the newest image of each instance
#   stays; later runs go on until retention is met; `plan` shows the held images; the
#   run says why in the journal once, with its MESSAGE_ID;
# - orphans: images of a policy that was renamed or removed are listed by
#   `amirotd list --orphaned` (and --json), warned about once per orphaned policy and
#   configuration generation by the service, with a MESSAGE_ID, and never touched.
#
# The short versions run in `make check`; RELIABILITY_LONG=1 (`make soak`) runs more
# instances and images. Every run's retirements are checked against the bound computed
# here, independently of the planner, from what botocore saw before the run.
import datetime
import json
import random
import signal
import time

import figures
import journal
from conftest import LONG, SEED, images, tag_dict

MESSAGE_RETIRE_HELD = "4aa0441e4bd1435d84f1f54a19ae0bea"
MESSAGE_POLICY_ORPHANED = "be44814c11c54dc59d3ae96f78c7ed07"

BASE = datetime.datetime(2030, 3, 1, 0, 0, tzinfo=datetime.timezone.utc)
COMMAND = (("RELIABILITY_LONG=1 " if LONG else "") + "RELIABILITY_SEED={seed} AMIROTD=build/amirotd "
           "/usr/bin/python3 -m pytest -q tests/reliability/test_safety.py")


def at(hour, minute=30, base=BASE):
    return (base + datetime.timedelta(hours=hour, minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


def slot_id(hour, base=BASE):
    return (base + datetime.timedelta(hours=hour)).strftime("%Y%m%dT%H%M%SZ")


def policy(count, extra=""):
    return f"""\
        name: web
        targets:
          tags: {{Role: web}}
        schedule:
          every: 1h
        retain:
          count: {count}
        {extra}
    """


def seed_history(sim, instances, hours, owner="web", base=BASE):
    """Images of `owner` for each instance, one per hourly slot of `hours` (negative: before
    base), tagged as amirotd tags its own; returns their ids."""
    specs = []
    for iid in instances:
        for h in hours:
            specs.append({
                "name": f"{owner}-{iid}-{slot_id(h, base)}",
                "state": "available",
                "instance_id": iid,
                "creation_date": at(h, 5, base),
                "tags": {"amirotd:policy": owner, "amirotd:instance-id": iid, "amirotd:slot": slot_id(h, base)},
            })
    return sim.seed(images=specs)["images"]


def available_by_instance(ec2):
    """{instance: [(slot, image id), ...] oldest first} of policy web, as botocore sees it."""
    out = {}
    for g in images(ec2, **{"tag:amirotd:policy": "web"}):
        if g["State"] != "available":
            continue
        t = tag_dict(g)
        out.setdefault(t["amirotd:instance-id"], []).append((t["amirotd:slot"], g["ImageId"]))
    for v in out.values():
        v.sort()
    return out


def check_run(before, after, percent, instances):
    """The violations of one run: more retired than the bound allows (the rotation, one
    per instance and one per new image, plus percent of the images counted before the
    run), the newest image retired without a newer one available, or an image retired
    while an older one of the same instance stayed."""
    counted = sum(len(v) for v in before.values())
    violations = []
    retired_total = 0
    for iid in instances:
        old = before.get(iid, [])
        now = after.get(iid, [])
        now_ids = {i for _, i in now}
        retired = [(s, i) for s, i in old if i not in now_ids]
        new = [(s, i) for s, i in now if (s, i) not in old]
        retired_total += len(retired)
        if old and old[-1] in retired and not any(x > old[-1] for x in new):
            violations.append(f"{iid}: the newest image {old[-1][1]} was retired, and none newer is available")
        kept_old = [x for x in old if x not in retired]
        if retired and kept_old and max(retired) > min(kept_old):
            violations.append(f"{iid}: retired {max(retired)} while the older {min(kept_old)} stayed")
        # Each instance's rotation: one, and one per new image.
        if len(retired) > 1 + len(new) + counted * percent // 100:
            violations.append(f"{iid}: {len(retired)} retired")
    bound = sum(1 + len([x for x in after.get(iid, []) if x not in before.get(iid, [])]) for iid in instances) \
        + counted * percent // 100
    if retired_total > bound:
        violations.append(f"{retired_total} retired in one run, the bound is {bound}")
    return retired_total, violations


def converge(amirotd, ec2, instances, percent, start_hour, count, max_runs):
    """`once` an hour apart until each instance has `count` images; returns (runs,
    retired, violations, the stderr of the first run)."""
    runs, retired, violations, first_stderr = 0, 0, [], None
    hour = start_hour
    while True:
        before = available_by_instance(ec2)
        amirotd.sim.set_clock(at(hour))
        p = amirotd.run("once", now=at(hour), timeout=60)
        first_stderr = first_stderr if first_stderr is not None else p.stderr
        after = available_by_instance(ec2)
        n, v = check_run(before, after, percent, instances)
        retired += n
        violations += [f"run {runs + 1}: {x}" for x in v]
        runs += 1
        hour += 1
        if all(len(after.get(i, [])) == count for i in instances) or runs >= max_runs:
            return runs, retired, violations, first_stderr


def unthrottled(sim):
    """EC2's token buckets off: each `once` paces itself from a full bucket, while the
    sim's drain over back-to-back runs, and throttling is the fault suites' subject."""
    sim.admin("POST", "buckets", {"enabled": False})


def test_lowered_count_retires_at_a_bounded_rate_across_runs(amirotd, ec2):
    """retain.count lowered from N to 1: each `once` retires within the bound, oldest
    first, the newest stays, `plan` shows what is held back, and the runs converge."""
    rnd = random.Random(SEED)
    n_instances, depth = (6, 30) if LONG else (2, 12)
    percent = 10 if LONG else 20
    started = time.monotonic()
    unthrottled(amirotd.sim)
    instances = [amirotd.sim.seed(instances=[{"tags": {"Role": "web"}}])["instances"][0]
                 for _ in range(n_instances)]
    # A history with gaps, seeded: not every slot has its image.
    for iid in instances:
        hours = sorted(rnd.sample(range(-3 * depth, 0), depth))
        seed_history(amirotd.sim, [iid], hours)
    amirotd.write_global(f"max_retire_per_run: {percent}%\n")
    amirotd.write_policy("web", policy(1))

    # `plan` first: what is held, and why, changing nothing.
    amirotd.sim.set_clock(at(0))
    before = available_by_instance(ec2)
    plan = json.loads(amirotd.run("plan", "--json", now=at(0)).stdout)
    held = [a for a in plan if a["action"] == "hold"]
    retire = [a for a in plan if a["action"] == "retire"]
    counted = n_instances * depth
    assert len(retire) == n_instances + counted * percent // 100
    assert len(held) == counted - n_instances - len(retire)
    assert all(h["reason"] == f"held back by max_retire_per_run {percent}%" and
               h["retention"] == "beyond retain.count 1" for h in held)
    assert available_by_instance(ec2) == before
    table = amirotd.run("plan", now=at(0)).stdout
    assert table.count(" hold ") == len(held)

    runs, retired, violations, first = converge(amirotd, ec2, instances, percent, 0, 1, 40)
    seconds = time.monotonic() - started
    figures.record("safety", scenario=f"retain.count {depth}→1, {percent}%, {n_instances} instances, once",
                   images=counted, violations=len(violations), seconds=round(seconds, 1), seed=SEED,
                   command=COMMAND.format(seed=SEED) + " -k lowered_count",
                   notes=f"{runs} runs to converge, {retired} retired")
    assert "max_retire_per_run" in first and "holds back" in first
    assert violations == []
    assert runs > 2, "the bound held nothing back: the test proves nothing"
    assert {i: len(v) for i, v in available_by_instance(ec2).items()} == {i: 1 for i in instances}


def test_max_age_typo_is_bounded_too(amirotd, ec2):
    """max_age of 30m meant as 30d, with the default 10%: the first run retires the
    rotation and a tenth of the images, the rest stays."""
    depth = 40 if LONG else 20
    started = time.monotonic()
    unthrottled(amirotd.sim)
    iid = amirotd.sim.seed(instances=[{"tags": {"Role": "web"}}])["instances"][0]
    seed_history(amirotd.sim, [iid], range(-depth, 0))
    amirotd.write_policy("web", policy(30, "  max_age: 30m"))
    before = available_by_instance(ec2)
    amirotd.sim.set_clock(at(0))
    p = amirotd.run("once", now=at(0))
    after = available_by_instance(ec2)
    n, violations = check_run(before, after, 10, [iid])
    figures.record("safety", scenario=f"max_age typo (30m), 10% default, {depth} images, once",
                   images=depth, violations=len(violations), seconds=round(time.monotonic() - started, 1),
                   seed=SEED, command=COMMAND.format(seed=SEED) + " -k max_age_typo")
    assert violations == []
    # The rotation (one, and one for the new image) and 10% of depth.
    assert n == 2 + depth // 10
    assert "max_retire_per_run 10% holds back" in p.stderr
    assert len(after[iid]) == depth + 1 - n


def test_service_says_why_once_and_warns_of_orphans(amirotd, ec2, daemon):
    """`amirotd run`: the held retirements are logged once per run with their MESSAGE_ID;
    images of a removed policy are listed by `list --orphaned`, warned about once per
    generation (again after a reload), and never touched."""
    started = time.monotonic()
    unthrottled(amirotd.sim)
    # The service runs at the real time: a history of the hours before it.
    now = datetime.datetime.now(datetime.timezone.utc).replace(minute=0, second=0, microsecond=0)
    iid = amirotd.sim.seed(instances=[{"tags": {"Role": "web"}}])["instances"][0]
    seed_history(amirotd.sim, [iid], range(-8, 0), base=now)
    orphans = seed_history(amirotd.sim, ["i-0123456789abcdef0"], range(-3, 0), owner="old-web", base=now)
    amirotd.write_policy("web", policy(1, "  max_retire_per_run: 0%"))
    amirotd.write_global("spread: 0s\n")         # the run's creations start at once

    listed = amirotd.run("list", "--orphaned").stdout
    assert sorted(line.split()[3] for line in listed.splitlines()[1:]) == sorted(orphans)
    assert all(line.split()[0] == "old-web" for line in listed.splitlines()[1:])
    as_json = json.loads(amirotd.run("list", "--orphaned", "--json").stdout)
    assert sorted(x["image_id"] for x in as_json) == sorted(orphans)
    assert {x["policy"] for x in as_json} == {"old-web"}
    assert "no images of removed policies" in amirotd.run("list", "--orphaned", "-p", "web").stdout

    d = daemon()
    d.notify.wait_for("READY=1")
    e = journal.wait_for(d.log, lambda e: any(x.get("MESSAGE_ID") == MESSAGE_RETIRE_HELD for x in e) and
                         any(x.get("MESSAGE_ID") == MESSAGE_POLICY_ORPHANED for x in e), timeout=60)
    held = [x for x in e if x.get("MESSAGE_ID") == MESSAGE_RETIRE_HELD]
    assert len(held) == 1 and held[0]["AMIROTD_POLICY"] == "web" and held[0]["PRIORITY"] == "4"
    orphaned = [x for x in e if x.get("MESSAGE_ID") == MESSAGE_POLICY_ORPHANED]
    assert len(orphaned) == 1
    assert orphaned[0]["AMIROTD_POLICY"] == "old-web" and "3 images" in orphaned[0]["MESSAGE"]

    d.proc.send_signal(signal.SIGHUP)
    e = journal.wait_for(d.log, lambda e: len([x for x in e if x.get("MESSAGE_ID") == MESSAGE_POLICY_ORPHANED]) >= 2,
                         timeout=30)
    time.sleep(1)   # nothing more comes: once per generation
    e = journal.entries(d.log)
    assert len([x for x in e if x.get("MESSAGE_ID") == MESSAGE_POLICY_ORPHANED]) == 2
    assert d.stop() == 0

    left = {g["ImageId"]: g["State"] for g in images(ec2, **{"tag:amirotd:policy": "old-web"})}
    violations = sum(1 for i in orphans if left.get(i) != "available")
    deregisters = [c["params"]["ImageId"] for c in amirotd.sim.calls("DeregisterImage")]
    violations += len(set(deregisters) & set(orphans))
    figures.record("safety", scenario="orphaned policy: list --orphaned, one warning per generation, untouched",
                   images=len(orphans), violations=violations, seconds=round(time.monotonic() - started, 1),
                   seed=SEED, command=COMMAND.format(seed=SEED) + " -k orphans")
    assert violations == 0
