# The metrics file (issue 12, item 10): the real daemon writes a Prometheus text
# file after each run, atomically and readable by node_exporter whatever the
# service's umask; `promtool check metrics` (Debian's prometheus package, in the
# Makefile's DEB_PACKAGES) accepts it; `amirotd status` shows the same for a person,
# from that file or, without one, from the journal.
import os
import re
import shutil
import stat
import subprocess
import time

import pytest

import journal
from conftest import run_instances
from test_daemon import POLICY

UMASK_077 = ("/bin/sh", "-c", 'umask 077 && exec "$@"', "sh")


def samples(text):
    """{(name, frozenset of label pairs): value} of a text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-z_]+)(?:\{(.*)\})? (\S+)', line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(s, name, **labels):
    return s.get((name, frozenset(labels.items())))


def wait_metrics(path, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if path.exists():
            last = samples(path.read_text())
            if predicate(last):
                return last
        time.sleep(0.2)
    raise AssertionError(f"no such metrics in {path}: {last}")


def promtool():
    tool = shutil.which("promtool")
    if not tool:
        pytest.fail("promtool is missing: install Debian's 'prometheus' package (make deps)")
    return tool


def test_metrics_file_after_each_run_is_valid_and_readable(amirotd, ec2, daemon, tmp_path):
    textfile = tmp_path / "node-exporter"
    textfile.mkdir()
    prom = textfile / "amirotd.prom"
    run_instances(ec2, {"Role": "web"}, count=2)
    amirotd.write_global(f"spread: 0s\nmetrics_file: {prom}\n")
    amirotd.write_policy("web", POLICY)
    amirotd.sim.fault(action="DescribeImages", kind="throttle", count=1)
    t0 = time.time()
    d = daemon(wrapper=UMASK_077)
    d.notify.wait_for("READY=1")
    s = wait_metrics(prom, lambda s: (value(s, "amirotd_images", policy="web", region="us-east-1",
                                            state="available") or 0) >= 2)
    assert d.stop() == 0

    assert stat.S_IMODE(os.stat(prom).st_mode) == 0o644          # node_exporter may read it
    assert [p.name for p in textfile.iterdir()] == ["amirotd.prom"]   # no temporary file left
    unit = dict(policy="web", region="us-east-1")
    assert value(s, "amirotd_last_run_success", **unit) == 1
    start = value(s, "amirotd_last_run_start_timestamp_seconds", **unit)
    assert t0 - 1 <= start <= time.time()
    assert 0 <= value(s, "amirotd_last_run_duration_seconds", **unit) < 60
    assert value(s, "amirotd_next_slot_timestamp_seconds", **unit) > start
    assert value(s, "amirotd_images", state="failed", **unit) == 0
    # distribution's counters: every unit's, at 0 without distribution (non-zero values need
    # the distributors' runs: tests of share, copy_to, launch_template and ssm_parameter)
    for name in ("shares_added", "shares_removed", "copies_started", "copies_retired", "template_versions_created",
                 "template_versions_deleted", "ssm_parameters_published", "distribution_errors"):
        assert value(s, f"amirotd_{name}_total", **unit) == 0, name
    assert value(s, "amirotd_aws_requests_total", service="ec2", action="CreateImage") >= 2
    assert value(s, "amirotd_aws_throttles_total", service="ec2", action="DescribeImages") == 1
    assert value(s, "amirotd_aws_retries_total", service="ec2", action="DescribeImages") >= 1
    assert value(s, "amirotd_aws_errors_total", service="ec2", action="DescribeImages",
                 code="RequestLimitExceeded") == 1
    assert value(s, "amirotd_metrics_written_timestamp_seconds", **{}) >= start

    p = subprocess.run([promtool(), "check", "metrics"], input=prom.read_text(), capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout + p.stderr == "", p.stdout + p.stderr        # not even a lint warning

    # `amirotd status`, for a person, from the same file.
    out = amirotd.run("status").stdout
    assert f"From {prom}, written " in out
    row = [line for line in out.splitlines() if line.startswith("web ")]
    assert len(row) == 1 and "us-east-1" in row[0] and " ok " in row[0], out
    assert re.search(r"\b\d+ available\b", row[0]), out
    assert re.search(r"AWS calls since the service started: \d+ requests, \d+ retr(y|ies), 1 throttled; "
                     r"errors: 1 RequestLimitExceeded \(DescribeImages\)", out), out


def test_distribution_counters_add_up_the_service_runs(amirotd, ec2, daemon, tmp_path):
    """The service's runs share and copy (every 3 s): the counters add up what each run
    did, and promtool accepts them."""
    prom = tmp_path / "amirotd.prom"
    run_instances(ec2, {"Role": "web"}, count=2)
    amirotd.write_global(f"spread: 0s\nmetrics_file: {prom}\n")
    amirotd.write_policy("web", POLICY + """\
    share:
      accounts: ["444455556666"]
    copy_to:
      - region: eu-west-1
""")
    d = daemon()
    d.notify.wait_for("READY=1")
    unit = dict(policy="web", region="us-east-1")
    # Two images a run: four copies need two runs, added up.
    s = wait_metrics(prom, lambda s: (value(s, "amirotd_copies_started_total", **unit) or 0) >= 4 and
                     (value(s, "amirotd_shares_added_total", **unit) or 0) >= 4)
    assert d.stop() == 0
    s = samples(prom.read_text())
    copies = [i for i in amirotd.sim.images("eu-west-1") if "amirotd:copy-of" in (i.get("Tags") or {})]
    assert value(s, "amirotd_copies_started_total", **unit) == \
        len(copies) + value(s, "amirotd_copies_retired_total", **unit)
    assert value(s, "amirotd_distribution_errors_total", **unit) == 0
    p = subprocess.run([promtool(), "check", "metrics"], input=prom.read_text(), capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and p.stdout + p.stderr == "", p.stdout + p.stderr


def test_metrics_file_that_cannot_be_written_is_reported_once(amirotd, ec2, daemon, tmp_path):
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_global(f"spread: 0s\nmetrics_file: {tmp_path}/missing/amirotd.prom\n")
    amirotd.write_policy("web", POLICY)
    d = daemon()
    e = journal.wait_for(d.log, lambda e: len([x for x in e if "run done" in x.get("MESSAGE", "")]) >= 3,
                         timeout=60)
    assert d.stop() == 0
    said = [x["MESSAGE"] for x in e if "metrics file" in x.get("MESSAGE", "")]
    assert said == [f"cannot write the metrics file '{tmp_path}/missing/amirotd.prom': No such file or "
                    "directory; will retry after the next run"], said


def test_status_without_metrics_file_reads_the_journal(amirotd, ec2, daemon):
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("web", POLICY)
    d = daemon()
    journal.wait_for(d.log, lambda e: any("run done" in x.get("MESSAGE", "") for x in e), timeout=60)
    assert d.stop() == 0
    out = amirotd.run("status").stdout
    assert out.startswith("From the journal")
    row = [line for line in out.splitlines() if line.startswith("web ")]
    assert len(row) == 1 and "us-east-1" in row[0] and "policy 'web' in us-east-1: run done" in row[0], out


def test_metrics_file_must_be_an_absolute_prom_file(amirotd):
    amirotd.write_global("metrics_file: amirotd.txt\n")
    p = amirotd.run("check", check=False)
    assert p.returncode == 78           # EX_CONFIG: an invalid configuration
    assert "amirotd.yaml:5:15: 'metrics_file' is an absolute file name, got 'amirotd.txt'" in p.stderr
