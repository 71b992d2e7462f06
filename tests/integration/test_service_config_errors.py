# What the operator sees when a file is bad (issue 12, items 4 and 5): the real
# daemon with a real journald and a NOTIFY_SOCKET of the test's own.
#   - a broken global file: the start fails once, with exit status 78 (EX_CONFIG),
#     which the unit's RestartPreventExitStatus=78 keeps systemd from restarting;
#   - a broken policy file: the other policies run; the journal names the file as
#     FILE:LINE:COL and the status line says "not loaded: FILE:LINE:COL";
#   - a reload with an error: "reload failed: FILE:LINE:COL" stays in the status
#     line until a good reload, and the policies loaded before keep running.
import signal

import journal
from conftest import created, run_instances
from test_daemon import POLICY

CONFIG_ERROR_ID = "0050a776a8c949faa5ec9445d1a1a7ec"
DB = POLICY.replace("name: web", "name: db").replace("Role: web", "Role: db")


def statuses(d):
    with d.notify.lock:
        return [m[len("STATUS="):] for m in d.notify.messages if m.startswith("STATUS=")]


def wait_status(d, predicate, timeout=30):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = statuses(d)
        if s and predicate(s[-1]):
            return s[-1]
        time.sleep(0.05)
    raise AssertionError(f"no such status in {statuses(d)}")


def test_start_with_invalid_global_file_exits_78_once(amirotd, daemon):
    amirotd.write_policy("web", POLICY)
    (amirotd.dir / "amirotd.yaml").write_text("region: us-east-1\nmax_in_flight: lots\n")
    d = daemon()
    assert d.proc.wait(timeout=30) == 78
    e = journal.wait_for(d.log, lambda e: any("not starting" in x.get("MESSAGE", "") for x in e))
    errors = [x["MESSAGE"] for x in e if "amirotd.yaml:2:" in x.get("MESSAGE", "")]
    assert len(errors) == 1, errors                       # printed once, with FILE:LINE:COL
    assert "max_in_flight" in errors[0]
    assert any(x.get("MESSAGE_ID") == CONFIG_ERROR_ID for x in e)
    assert not [m for m in d.notify.messages if m == "READY=1"]


def test_start_with_broken_policy_file_runs_the_other_policies(amirotd, ec2, daemon):
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("web", POLICY)
    amirotd.write_policy("db", DB.replace("count: 2", "count: lots"))
    d = daemon()
    d.notify.wait_for("READY=1")
    status = wait_status(d, lambda s: "not loaded" in s)
    assert status.startswith("1 policy;")
    assert f"not loaded: {amirotd.dir}/policies.d/db.yaml:7:" in status
    e = journal.wait_for(d.log, lambda e: len(created(e)) >= 1)
    assert all(x["AMIROTD_POLICY"] == "web" for x in created(e))
    said = [x for x in e if "db.yaml:7:" in x.get("MESSAGE", "")]
    assert said and all(x.get("MESSAGE_ID") == CONFIG_ERROR_ID for x in said)
    assert any("left out" in x.get("MESSAGE", "") and "other 1 policy" in x["MESSAGE"] for x in e)
    assert d.stop() == 0
    # `amirotd check` still fails on any error (EX_CONFIG).
    p = amirotd.run("check", check=False)
    assert p.returncode == 78 and "db.yaml:7:" in p.stderr


def test_reload_failure_stays_in_the_status_line_until_a_good_reload(amirotd, ec2, daemon):
    run_instances(ec2, {"Role": "db"}, count=1)
    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("web", POLICY)
    amirotd.write_policy("db", DB)
    d = daemon()
    d.notify.wait_for("READY=1")
    journal.wait_for(d.log, lambda e: any(x.get("AMIROTD_POLICY") == "db" for x in created(e)))

    amirotd.write_policy("db", DB.replace("every: 3s", "every: often"))
    d.proc.send_signal(signal.SIGHUP)
    status = wait_status(d, lambda s: "reload failed" in s)
    assert f"reload failed: {amirotd.dir}/policies.d/db.yaml:5:" in status
    assert status.startswith("2 policies;")               # db keeps the version loaded before
    e = journal.wait_for(d.log, lambda e: any("reloaded with errors" in x.get("MESSAGE", "") for x in e))
    n = len([x for x in created(e) if x.get("AMIROTD_POLICY") == "db"])
    journal.wait_for(d.log, lambda e: len([x for x in created(e) if x.get("AMIROTD_POLICY") == "db"]) > n,
                     timeout=30)
    assert "reload failed" in statuses(d)[-1]             # still there after the runs that followed

    # An invalid global file: nothing changes, the status says so.
    (amirotd.dir / "amirotd.yaml").write_text("region: nowhere-1\n")
    d.proc.send_signal(signal.SIGHUP)
    status = wait_status(d, lambda s: "amirotd.yaml:1:" in s)
    assert "reload failed" in status and status.startswith("2 policies;")

    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("db", DB)
    d.proc.send_signal(signal.SIGHUP)
    journal.wait_for(d.log, lambda e: any("configuration reloaded: 2 policies" in x.get("MESSAGE", "") for x in e))
    status = wait_status(d, lambda s: "reload failed" not in s)
    assert status.startswith("2 policies;")
    assert d.stop() == 0
