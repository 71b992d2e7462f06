# amirotd run: the real daemon against the simulator, with a real journald and a
# NOTIFY_SOCKET of the test's own.
import signal
import time

import journal
from conftest import available, created, images, retired, run_instances, tag_dict

POLICY = """\
    name: web
    targets:
      tags: {Role: web}
    schedule:
      every: 3s
    retain:
      count: 2
"""


def test_ready_status_and_rotation_with_journal_fields(amirotd, ec2, daemon):
    ids = run_instances(ec2, {"Role": "web"}, count=2)
    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("web", POLICY)
    d = daemon()
    d.notify.wait_for("READY=1")
    status = d.notify.wait_for("STATUS=")
    assert "1 policy" in status[-1]

    # Several slots: each instance rotates, two available images kept.
    e = journal.wait_for(d.log, lambda e: len(retired(e)) >= 4, timeout=60)
    c = created(e)[0]
    assert c["AMIROTD_POLICY"] == "web"
    assert c["AMIROTD_REGION"] == "us-east-1"
    assert c["AMIROTD_INSTANCE_ID"] in ids
    assert c["AMIROTD_IMAGE_ID"].startswith("ami-")
    assert c["SYSLOG_IDENTIFIER"] == "amirotd"
    assert c["PRIORITY"] == "6"
    assert any(x.get("MESSAGE_ID") == "c30010e1c5cc4ca2be4bf434166ea8c7" and x.get("AMIROTD_SNAPSHOT_ID")
               for x in e)
    assert d.stop() == 0
    d.notify.wait_for("STOPPING=1")

    per = {}
    for i in images(ec2, **{"tag:amirotd:policy": "web", "state": "available"}):
        per.setdefault(tag_dict(i)["amirotd:instance-id"], []).append(i)
    assert sorted(per) == sorted(ids)
    assert all(len(v) <= 3 for v in per.values())   # 2 kept, plus at most one of the slot being retired at stop

    d.notify.wait_for("WATCHDOG=1")


def test_sighup_with_broken_file_keeps_old_policies(amirotd, ec2, daemon):
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("web", POLICY)
    d = daemon()
    d.notify.wait_for("READY=1")
    journal.wait_for(d.log, lambda e: len(created(e)) >= 1)
    amirotd.write_policy("broken", "name: broken\nretain:\n  count: [\n")
    d.proc.send_signal(signal.SIGHUP)
    d.notify.wait_for("RELOADING=1")
    e = journal.wait_for(d.log, lambda e: any("broken.yaml:" in x.get("MESSAGE", "") for x in e))
    msg = [x["MESSAGE"] for x in e if "broken.yaml:" in x.get("MESSAGE", "")][0]
    assert ":3:" in msg or ":4:" in msg                      # file:line:col
    assert any(x.get("MESSAGE_ID") == "0050a776a8c949faa5ec9445d1a1a7ec" for x in e)
    n = len(created(e))
    journal.wait_for(d.log, lambda e: len(created(e)) > n, timeout=30)   # the old policy still runs
    assert d.stop() == 0


def test_sighup_with_changed_retain_count_takes_effect(amirotd, ec2, daemon):
    [iid] = run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("web", POLICY.replace("count: 2", "count: 4"))
    d = daemon()
    journal.wait_for(d.log, lambda e: len(retired(e)) >= 1, timeout=60)
    amirotd.write_policy("web", POLICY.replace("count: 2", "count: 1"))
    d.proc.send_signal(signal.SIGHUP)
    journal.wait_for(d.log, lambda e: any("configuration reloaded" in x.get("MESSAGE", "") for x in e))
    e = journal.wait_for(d.log, lambda e: len(retired(e)) >= 5, timeout=60)
    d.stop()
    avail = images(ec2, **{"tag:amirotd:policy": "web", "state": "available"})
    assert 1 <= len(avail) <= 2


def test_sigterm_with_every_request_hanging_exits_within_a_second(amirotd, ec2, daemon):
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_policy("web", POLICY)
    amirotd.sim.fault(action="*", kind="latency", latency_ms=60000)
    d = daemon()
    d.notify.wait_for("READY=1")
    time.sleep(1.0)                         # requests are now in flight and hang
    t = time.monotonic()
    assert d.stop(timeout=5) == 0
    assert time.monotonic() - t < 1.0


def test_failed_run_is_retried_before_the_next_slot(amirotd, ec2, daemon):
    [iid] = run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("web", POLICY.replace("every: 3s", "every: 1d"))
    amirotd.sim.fault(action="CreateImage", kind="error", code="InternalError", status=500, count=3)
    d = daemon()
    # Available, not only created: EC2 shows a new image only after a while.
    e = journal.wait_for(d.log, lambda e: len(available(e)) >= 1, timeout=30)
    assert any("will retry" in x.get("MESSAGE", "") for x in e)
    assert d.stop() == 0
    assert [tag_dict(i)["amirotd:instance-id"] for i in images(ec2, **{"tag:amirotd:policy": "web"})] == [iid]


def run_done(e):
    return [x for x in e if "run done" in x.get("MESSAGE", "")]


def many_policies(amirotd, ec2, n=5):
    amirotd.write_global("spread: 0s\n")
    for k in range(n):
        run_instances(ec2, {"Role": f"r{k}"}, count=1)
        amirotd.write_policy(f"p{k}", POLICY.replace("name: web", f"name: p{k}")
                             .replace("{Role: web}", f"{{Role: r{k}}}").replace("every: 3s", "every: 1s"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_hundreds_of_cycles_do_not_grow_memory(amirotd, ec2, daemon):
    many_policies(amirotd, ec2)
    d = daemon()
    journal.wait_for(d.log, lambda e: len(run_done(e)) >= 60, timeout=120)
    warm = rss_kib(d.proc.pid)
    journal.wait_for(d.log, lambda e: len(run_done(e)) >= 300, timeout=300)
    grown = rss_kib(d.proc.pid) - warm
    assert d.stop() == 0
    # A leak of even 10 KiB a run would show as 2.4 MiB over these 240 runs.
    assert grown < 2048, f"RSS grew by {grown} KiB over 240 runs"


def test_hundreds_of_cycles_under_valgrind_leak_nothing(amirotd, ec2, daemon, tmp_path):
    many_policies(amirotd, ec2)
    log = tmp_path / "valgrind.log"
    d = daemon(wrapper=["valgrind", "-q", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                        "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
                        f"--log-file={log}"])
    journal.wait_for(d.log, lambda e: len(run_done(e)) >= 200, timeout=600)
    rc = d.stop(timeout=120)
    assert rc == 0, log.read_text()
    assert "definitely lost" not in log.read_text()
