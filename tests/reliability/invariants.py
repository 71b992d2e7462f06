# The invariants of crash consistency (issue 11, item 1), checked against what EC2 holds.
#
# amirotd keeps no state of its own (design.md, rule 1): whatever a crash, a restart of
# the endpoint or a second daemon does, the truth is in EC2. So the checker reads EC2
# through its API, as any client would (botocore's EC2 client against ec2sim), during a
# run (sample(), as often as the caller likes) and after it (final()):
#
#   duplicate     never two images for one instance and slot (amirotd's tags say which);
#   below         an instance that had k available images never has fewer, up to
#                 retain.count (rule 5: a successor is available before a retirement);
#   deleted       every snapshot that went away belonged to a deregistered image of the
#                 policy it is tagged with, a policy of this run (rule 6);
#   touched       nothing of another policy, nor anything untagged, is deregistered,
#                 deleted, retagged or imaged (rule 2), the seeded foreign resources in
#                 particular;
#   converged     after the run: exactly retain.count available images per instance, and
#                 no orphan snapshot older than the sweep's grace.
#
# What the API cannot tell, the simulator's admin interface does: its call log says which
# calls changed what (who deleted a snapshot, who touched a foreign image), and its raw
# view names the tags of a new image or snapshot while EC2's eventual consistency still
# hides it from describes (only to learn whose it is, never to count it).
#
# Each violation is one readable sentence with the ids; violations() lists them in the
# order they were found, each once.
import re

# daemon/run/plan.h: PLAN_SNAPSHOT_GRACE, the age past which an orphan is swept.
SWEEP_GRACE_SECONDS = 60 * 60

TAG_POLICY = "amirotd:policy"
TAG_INSTANCE = "amirotd:instance-id"
TAG_SLOT = "amirotd:slot"

# Calls that read: every other call changes something and must name only what is ours.
READING = ("Describe", "Get")
# Where each changing call names its resources (the flat form parameters of the log).
RESOURCE_PARAMS = re.compile(r"^(ImageId|SnapshotId|SourceImageId|ResourceId\.\d+|ImageId\.\d+|"
                             r"SnapshotId\.\d+)$")
CREATED_FOR = re.compile(r"for (ami-[0-9a-f]+)")


def tag_dict(resource):
    """Tags as EC2 answers them (a list of Key and Value), or as ec2sim stores them."""
    tags = resource.get("Tags") or []
    if isinstance(tags, dict):
        return dict(tags)
    return {t["Key"]: t["Value"] for t in tags}


def _epoch(value):
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


class Checker:
    """policies: {name: retain.count}; targets: {name: [instance ids it selects]};
    foreign_images / foreign_snapshots: ids that are not this run's to touch (another
    policy's, untagged), as seeded; ec2: botocore's EC2 client; sim: the Sim whose admin
    interface the call log and the raw view come from."""

    def __init__(self, ec2, sim, policies, targets, foreign_images=(), foreign_snapshots=()):
        self.ec2 = ec2
        self.sim = sim
        self.policies = dict(policies)
        self.targets = {p: set(ids) for p, ids in targets.items()}
        self.images = {}            # id -> {"tags", "snapshots", "states"}: every image ever seen
        self.snapshots = {}         # id -> {"tags", "description"}: every snapshot ever seen
        self.registered = set()     # image ids registered at the last sample
        self.present = set()        # snapshot ids present at the last sample
        self.had = {}               # (policy, instance) -> most available images seen, up to retain
        self.deleted = set()        # this run's snapshots seen to go
        self.calls = []             # the simulator's call log, across its restarts
        self.foreign_images = {}    # id -> (state, tags) as first seen
        self.foreign_snapshots = {}  # id -> tags as first seen
        self._found = []
        self._seen_sentences = set()
        self.samples = 0
        self._foreign_ids = (list(foreign_images), list(foreign_snapshots))
        # The calls made so far set the stage (instances run, resources seeded): only the
        # later ones are the run's.
        self._seq = max((c["seq"] for c in sim.calls()), default=0)

    # ---- reading EC2

    def _read(self):
        """Snapshots first, then images: a snapshot is deleted only after its image is
        deregistered, so this order never shows a deleted snapshot beside its image."""
        snaps = self.ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
        images = self.ec2.describe_images(Owners=["self"])["Images"]
        return snaps, images

    def _learn_hidden(self, ids=None):
        """Whose they are, from the simulator's records as stored: the tags and mappings
        of what EC2's eventual consistency still hides from describes (all such records,
        or those of `ids`). Never counted: a sample counts only what the API shows."""
        if ids is not None and not [i for i in ids if i not in self.images and i not in self.snapshots]:
            return
        for rec in self.sim.images():
            if rec["ImageId"] not in self.images and (ids is None or rec["ImageId"] in ids):
                self._remember_image(rec)
        for rec in self.sim.snapshots():
            if rec["SnapshotId"] not in self.snapshots and (ids is None or rec["SnapshotId"] in ids):
                self._remember_snapshot(rec)

    def _remember_image(self, img):
        known = self.images.setdefault(img["ImageId"], {"tags": {}, "snapshots": set(), "states": set()})
        known["tags"].update(tag_dict(img))
        known["states"].add(img.get("State"))
        for m in img.get("BlockDeviceMappings", []) or []:
            if m.get("Ebs", {}).get("SnapshotId"):
                known["snapshots"].add(m["Ebs"]["SnapshotId"])

    def _remember_snapshot(self, snap):
        known = self.snapshots.setdefault(snap["SnapshotId"], {"tags": {}, "description": ""})
        known["tags"].update(tag_dict(snap))
        known["description"] = snap.get("Description") or known["description"]

    # ---- the record of violations

    def _violation(self, sentence):
        if sentence not in self._seen_sentences:
            self._seen_sentences.add(sentence)
            self._found.append(sentence)

    def violations(self):
        return list(self._found)

    def _ours(self, tags):
        return tags.get(TAG_POLICY) in self.policies

    # ---- during the run

    def sample(self):
        """Reads EC2 once and checks what one moment can show. Raises what botocore
        raises when EC2 cannot be read (the caller skips that sample)."""
        snaps, images = self._read()
        self.samples += 1
        for s in snaps:
            self._remember_snapshot(s)
        for i in images:
            self._remember_image(i)
        self._learn_hidden()
        self._note_foreign(snaps, images)
        present = {s["SnapshotId"] for s in snaps}
        registered = {i["ImageId"]: i for i in images}
        self._check_duplicates(images)
        self._check_below(images)
        self._check_gone(present, registered)
        self._check_foreign(present, registered)
        self.present = present
        self.registered = set(registered)
        return self.violations()

    def _note_foreign(self, snaps, images):
        want_images, want_snaps = self._foreign_ids
        for i in images:
            if i["ImageId"] in want_images and i["ImageId"] not in self.foreign_images:
                self.foreign_images[i["ImageId"]] = (i["State"], tag_dict(i))
        for s in snaps:
            if s["SnapshotId"] in want_snaps and s["SnapshotId"] not in self.foreign_snapshots:
                self.foreign_snapshots[s["SnapshotId"]] = tag_dict(s)
        for rid in sorted(set(want_images) - set(self.foreign_images)) + \
                sorted(set(want_snaps) - set(self.foreign_snapshots)):
            self._violation(f"foreign resource {rid} was never seen: it was gone before the first sample")

    def _check_duplicates(self, images):
        by_slot = {}
        for i in images:
            t = tag_dict(i)
            if self._ours(t) and TAG_SLOT in t:
                by_slot.setdefault((t[TAG_POLICY], t.get(TAG_INSTANCE), t[TAG_SLOT]), []).append(i["ImageId"])
        for (policy, instance, slot), ids in sorted(by_slot.items()):
            if len(ids) > 1:
                self._violation(f"two images for one slot: policy {policy} instance {instance} "
                                f"slot {slot} has {', '.join(sorted(ids))}")

    def _check_below(self, images):
        available = {}
        for i in images:
            t = tag_dict(i)
            if self._ours(t) and i["State"] == "available":
                available.setdefault((t[TAG_POLICY], t.get(TAG_INSTANCE)), []).append(i["ImageId"])
        for policy, instances in self.targets.items():
            for instance in instances:
                ids = sorted(available.get((policy, instance), []))
                had = self.had.get((policy, instance), 0)
                if len(ids) < had:
                    self._violation(f"instance {instance} of policy {policy} fell below its available "
                                    f"images: it had {had}, now {len(ids)} ({', '.join(ids) or 'none'})")
                self.had[(policy, instance)] = max(had, min(len(ids), self.policies[policy]))

    def _check_gone(self, present, registered):
        gone_snaps = sorted(self.present - present)
        gone_images = sorted(self.registered - set(registered))
        self._learn_hidden(gone_snaps + gone_images)
        for sid in gone_snaps:
            self._check_deleted_snapshot(sid, registered)
            if self._ours(self.snapshots.get(sid, {}).get("tags", {})):
                self.deleted.add(sid)
        for iid in gone_images:
            tags = self.images.get(iid, {}).get("tags", {})
            if not self._ours(tags):
                self._violation(f"image {iid} was deregistered but is not of a policy of this run "
                                f"(amirotd:policy {tags.get(TAG_POLICY, 'missing')})")

    def _image_of_snapshot(self, sid):
        owners = {iid for iid, known in self.images.items() if sid in known["snapshots"]}
        m = CREATED_FOR.search(self.snapshots.get(sid, {}).get("description", ""))
        if m:
            owners.add(m.group(1))
        return sorted(owners)

    def _check_deleted_snapshot(self, sid, registered):
        known = self.snapshots.get(sid)
        if known is None:
            self._violation(f"snapshot {sid} was deleted but was never seen: nothing shows it "
                            f"belonged to a deregistered image of this run's policies")
            return
        policy = known["tags"].get(TAG_POLICY)
        if policy not in self.policies:
            self._violation(f"snapshot {sid} was deleted but is not of a policy of this run "
                            f"(amirotd:policy {policy or 'missing'})")
            return
        owners = self._image_of_snapshot(sid)
        if not owners:
            self._violation(f"snapshot {sid} of policy {policy} was deleted but belonged to no image")
        for iid in owners:
            image_policy = self.images.get(iid, {}).get("tags", {}).get(TAG_POLICY, policy)
            if iid in registered:
                self._violation(f"snapshot {sid} of policy {policy} was deleted while its image "
                                f"{iid} is still registered")
            elif image_policy != policy:
                self._violation(f"snapshot {sid} of policy {policy} was deleted but its image {iid} "
                                f"is of policy {image_policy}")

    def _check_foreign(self, present, registered):
        for iid, (state, tags) in sorted(self.foreign_images.items()):
            now = registered.get(iid)
            if now is None:
                self._violation(f"foreign image {iid} (amirotd:policy {tags.get(TAG_POLICY, 'missing')}) "
                                f"was deregistered")
            elif now["State"] != state or tag_dict(now) != tags:
                self._violation(f"foreign image {iid} was changed: state {state} -> {now['State']}, "
                                f"tags {tags} -> {tag_dict(now)}")
        for sid, tags in sorted(self.foreign_snapshots.items()):
            if sid not in present:
                self._violation(f"foreign snapshot {sid} (amirotd:policy {tags.get(TAG_POLICY, 'missing')}) "
                                f"was deleted")

    # ---- the call log: who changed what

    def collect_calls(self):
        """Takes the simulator's call log since the last time: call it before every
        restart of the simulator, and then restarted()."""
        calls = self.sim.admin("GET", f"calls?since={self._seq}")
        self.calls.extend(calls)
        self._seq = max([self._seq] + [c["seq"] for c in calls])

    def restarted(self):
        """The simulator started again: its call log starts empty."""
        self._seq = 0

    def check_calls(self):
        ids = set()
        for c in self.calls:
            ids.update(v for k, v in (c.get("params") or {}).items() if RESOURCE_PARAMS.match(k))
        self._learn_hidden(sorted(ids))
        foreign = set(self.foreign_images) | set(self.foreign_snapshots)
        foreign.update(*self._foreign_ids)
        selected = set().union(*self.targets.values()) if self.targets else set()
        for c in self.calls:
            action = c.get("action") or ""
            if c.get("service") != "ec2" or c.get("status") is None or action.startswith(READING):
                continue
            params = c.get("params") or {}
            if action == "CreateImage":
                self._check_create(c, params, selected)
            for key, rid in sorted(params.items()):
                if RESOURCE_PARAMS.match(key):
                    self._check_touched(c, action, rid, foreign)

    def _check_create(self, call, params, selected):
        instance = params.get("InstanceId")
        if instance not in selected:
            self._violation(f"CreateImage #{call['seq']} imaged instance {instance}, which no policy "
                            f"of this run selects")
            return
        keys = {k[:-len(".Key")]: v for k, v in params.items() if k.startswith("TagSpecification.")
                and k.endswith(".Key")}
        for prefix, key in keys.items():
            value = params.get(prefix + ".Value")
            if key == TAG_POLICY and instance not in self.targets.get(value, ()):
                self._violation(f"CreateImage #{call['seq']} imaged instance {instance} for policy "
                                f"{value}, which does not select it")

    def _check_touched(self, call, action, rid, foreign):
        known = self.images.get(rid) or self.snapshots.get(rid)
        tags = known["tags"] if known else {}
        answered = f"answered {call.get('status')} {call.get('error_code') or ''}".rstrip()
        if rid in foreign:
            self._violation(f"{action} #{call['seq']} touched {rid}, which was seeded as another "
                            f"policy's or untagged ({answered})")
        elif known and not self._ours(tags):
            self._violation(f"{action} #{call['seq']} touched {rid}, which is not this run's "
                            f"(amirotd:policy {tags.get(TAG_POLICY, 'missing')}; {answered})")
        elif not known:
            self._violation(f"{action} #{call['seq']} touched {rid}, which was never seen: "
                            f"nothing shows it is this run's")

    def orphans(self):
        """This run's snapshots that no registered image uses, as EC2 shows them now."""
        snaps, images = self._read()
        referenced = {m.get("Ebs", {}).get("SnapshotId") for i in images
                      for m in i.get("BlockDeviceMappings", []) or []}
        return sorted(s["SnapshotId"] for s in snaps
                      if self._ours(tag_dict(s)) and s["SnapshotId"] not in referenced)

    # ---- after the run

    def final(self, now):
        """After convergence (no daemon running, nothing pending): the checks of sample()
        and the call log, then exactly retain.count available images per instance and no
        orphan snapshot older than the sweep's grace at `now` (epoch seconds)."""
        self.collect_calls()
        snaps, images = self._read()
        self.sample()
        self.check_calls()
        referenced = set()
        available = {}
        for i in images:
            for m in i.get("BlockDeviceMappings", []) or []:
                referenced.add(m.get("Ebs", {}).get("SnapshotId"))
            t = tag_dict(i)
            if self._ours(t) and i["State"] == "available":
                available.setdefault((t[TAG_POLICY], t.get(TAG_INSTANCE)), []).append(i["ImageId"])
        for policy, instances in sorted(self.targets.items()):
            for instance in sorted(instances):
                ids = sorted(available.get((policy, instance), []))
                if len(ids) != self.policies[policy]:
                    self._violation(f"instance {instance} of policy {policy} ends with {len(ids)} "
                                    f"available images, not retain.count {self.policies[policy]}: "
                                    f"{', '.join(ids) or 'none'}")
        for s in snaps:
            t = tag_dict(s)
            if (self._ours(t) and s["SnapshotId"] not in referenced and s["State"] in ("completed", "error")
                    and _epoch(s["StartTime"]) <= now - SWEEP_GRACE_SECONDS):
                self._violation(f"orphan snapshot {s['SnapshotId']} of policy {t[TAG_POLICY]} is left "
                                f"past the sweep's grace (started {s['StartTime']:%Y-%m-%dT%H:%M:%SZ})")
        return self.violations()
