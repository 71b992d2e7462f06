# Issue 11, item 3: outages. The endpoint down (the simulator stopped, then started
# again on the same port from its saved state), DNS failing (a host name that does not
# resolve, then does), TLS against an https endpoint with a wrong certificate (not
# trusted, or naming another host; then a trusted one). In each, the real daemon keeps
# running, says what is wrong in its sd_notify STATUS= line (what `systemctl status`
# shows) and in the journal, and resumes without a restart once the outage ends.
#
# DNS and TLS are changed for the daemon alone: it runs in a mount namespace of its own
# (unshare --mount; it keeps its PID, so the journal still finds it) where a hosts file
# and a CA bundle of the test's are bound over /etc/hosts and the system's bundle, which
# libcurl reads (amirotd sets no CA of its own: amirotd(8), AWS_CA_BUNDLE). The files of
# the machine, shared by other tests, are never touched.
#
# "Minutes": conftest.LONG keeps each outage up for three minutes, `make check` for ten
# seconds; the three run side by side.
import concurrent.futures
import datetime
import ipaddress
import shutil
import socket
import ssl
import threading
import time

import faultlib
import figures
from conftest import LONG, SEED

OUTAGE_SECONDS = 180 if LONG else 10
RESUME_TIMEOUT = 90
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
HOST = "ec2-outage.amirotd.test"            # resolves only when the test says so


def statuses(d):
    with d.notify.lock:
        return [m[len("STATUS="):] for m in d.notify.messages if m.startswith("STATUS=")]


def wait_status(sc, predicate, timeout):
    """The first STATUS= line from now on for which predicate holds."""
    seen = len(statuses(sc.daemon))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert sc.alive(), f"amirotd exited with {sc.daemon.proc.returncode}"
        sc.watch_clock()
        for s in statuses(sc.daemon)[seen:]:
            if predicate(s):
                return s
        time.sleep(0.1)
    raise AssertionError(f"no such status line within {timeout}s; the last: {statuses(sc.daemon)[-3:]}")


def in_namespace(binds):
    """A wrapper for Daemon: `unshare --mount` binds each (file, over) and execs amirotd."""
    script = " && ".join(f'mount --bind "${2 * i + 1}" "${2 * i + 2}"' for i in range(len(binds)))
    args = [x for pair in binds for x in pair]
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            script + f' && shift {len(args)} && exec "$@"', "sh", *args]


def rewrite(path, text):
    """In place, keeping the inode a bind mount shows."""
    with open(path, "r+") as f:
        f.truncate(0)
        f.write(text)


def outage(sc, since_usec, words):
    """Checks, after the outage, that the daemon said what was wrong while it lasted."""
    # A run that could not read EC2 ("failed: why"), or one that waits for its images and
    # cannot poll them ("waiting: why").
    status = wait_status(sc, lambda s: ("failed:" in s or "waiting:" in s) and any(w in s for w in words),
                         OUTAGE_SECONDS + 30)
    errors = [e for e in faultlib.entries_since(sc.daemon.proc.pid, since_usec)
              if int(e.get("PRIORITY", "7")) <= 4 and any(w in e.get("MESSAGE", "") for w in words)]
    assert errors, f"no error in the journal names the outage ({words})"
    return status, errors


def resume(sc, since, what, status, errors, seconds_down):
    pid = sc.daemon.proc.pid
    # A failed run is tried again after poll_max on the monotonic clock: resuming needs
    # no slot, so the wall clock steps of other tests do not matter here.
    took = sc.wait_converged(since, RESUME_TIMEOUT)
    ok = wait_status(sc, lambda s: "last: web/us-east-1 ok" in s and "waiting:" not in s, RESUME_TIMEOUT)
    assert sc.daemon.proc.pid == pid and sc.alive()
    assert sc.daemon.stop(timeout=15) == 0
    return dict(scenario=what, seconds=round(took, 1), slots=faultlib.slots(took), down=seconds_down,
                clock_steps=sc.watch_clock(),
                status=status, status_after=ok, journal=errors[0]["MESSAGE"])


# ---- The endpoint down ----------------------------------------------------------------

def endpoint_down(tmp, steps):
    state = tmp / "ec2sim-state.json"
    sc = faultlib.Scenario(tmp, sim_args=("--state", str(state)))
    try:
        port = int(sc.sim.url.rsplit(":", 1)[1])
        started = time.monotonic()
        sc.start().notify.wait_for("READY=1", timeout=30)
        sc.wait_converged(started, 60)

        # The endpoint goes down while a run waits for its new images (held pending): a
        # run that polls, not one that fails, and the status line must say so all the same.
        sc.sim.admin("POST", "images", {"hold": True})
        seq = max((c["seq"] for c in sc.sim.calls()), default=0)
        deadline = time.monotonic() + 30
        while not [c for c in sc.sim.calls("CreateImage") if c["seq"] > seq and c["status"] == 200]:
            assert time.monotonic() < deadline, "no CreateImage"
            time.sleep(0.1)
        down = time.monotonic()
        since_usec = time.monotonic_ns() // 1000
        faultlib.stop(sc.sim.proc)                          # SIGTERM: saves the state
        status, errors = outage(sc, since_usec, ["Couldn't connect", "Failed to connect", "refused"])
        assert "web/us-east-1 waiting: DescribeImages: " in status, status
        time.sleep(max(0.0, down + OUTAGE_SECONDS - time.monotonic()))
        assert sc.alive()

        sc.sim = faultlib.start_sim(tmp, "--state", str(state), port=port)
        sc.sim.admin("POST", "images", {"hold": False})     # the held images finish
        back = time.monotonic()
        return resume(sc, back, "endpoint down", status, errors, round(back - down, 1))
    finally:
        steps.append(sc.watch_clock())
        sc.close()


# ---- DNS -------------------------------------------------------------------------------

def dns_failing(tmp, steps):
    tmp.mkdir(parents=True, exist_ok=True)
    hosts = tmp / "hosts"
    shutil.copyfile("/etc/hosts", hosts)
    original = hosts.read_text()
    sc = faultlib.Scenario(tmp, endpoint=lambda url: url.replace("127.0.0.1", HOST))
    try:
        down = time.monotonic()
        since_usec = time.monotonic_ns() // 1000
        sc.start(wrapper=in_namespace([(str(hosts), "/etc/hosts")])).notify.wait_for("READY=1", timeout=30)
        status, errors = outage(sc, since_usec, [f"'{HOST}' could not be resolved"])
        time.sleep(max(0.0, down + OUTAGE_SECONDS - time.monotonic()))
        assert sc.alive()

        rewrite(hosts, original + f"127.0.0.1 {HOST}\n")
        back = time.monotonic()
        return resume(sc, back, "DNS failing", status, errors, round(back - down, 1))
    finally:
        steps.append(sc.watch_clock())
        sc.close()


# ---- TLS -------------------------------------------------------------------------------

def certificates(tmp):
    """A test CA; a certificate it signed for 127.0.0.1, one it signed for another host,
    and a self-signed one for 127.0.0.1: (ca.pem, {name: (cert, key)})."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    # Valid from a day ago: another test steps the wall clock back by minutes.
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=2)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def build(subject, key, issuer, issuer_key, ca, san):
        b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(start).not_valid_after(end)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    def write(stem, cert, key):
        c, k = tmp / f"{stem}.pem", tmp / f"{stem}.key"
        c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
        return str(c), str(k)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = build("amirotd outage test CA", ca_key, "amirotd outage test CA", ca_key, True, None)
    ca_pem, _ = write("ca", ca, ca_key)
    ip = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    out = {}
    for stem, issuer, san in (("trusted", "ca", ip), ("wrong-host", "ca", [x509.DNSName("wrong.amirotd.test")]),
                              ("untrusted", "self", ip)):
        key = ec.generate_private_key(ec.SECP256R1())
        if issuer == "ca":
            cert = build("127.0.0.1" if stem == "trusted" else "wrong.amirotd.test", key,
                         "amirotd outage test CA", ca_key, False, san)
        else:
            cert = build("127.0.0.1", key, "127.0.0.1", key, False, san)
        out[stem] = write(stem, cert, key)
    return ca_pem, out


class TlsProxy:
    """https on a port of its own, forwarding the bytes to the simulator; the certificate
    it presents is the one of `self.phase`, switchable at any time."""

    def __init__(self, certs, backend_port):
        self.contexts = {}
        for phase, (cert, key) in certs.items():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.contexts[phase] = ctx
        self.phase = "untrusted"
        self.backend = backend_port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.handshakes = {}
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn, self.phase), daemon=True).start()

    def _serve(self, conn, phase):
        try:
            tls = self.contexts[phase].wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshakes[phase + " refused"] = self.handshakes.get(phase + " refused", 0) + 1
            conn.close()
            return
        self.handshakes[phase] = self.handshakes.get(phase, 0) + 1
        back = socket.create_connection(("127.0.0.1", self.backend))

        def pump(src, dst):
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        threading.Thread(target=pump, args=(back, tls), daemon=True).start()
        pump(tls, back)

    def close(self):
        self.closed = True
        self.sock.close()


def tls_wrong_certificate(tmp, steps):
    tmp.mkdir(parents=True, exist_ok=True)
    ca, certs = certificates(tmp)
    bundle = tmp / "ca-bundle.crt"
    bundle.write_text(open(SYSTEM_BUNDLE).read() + open(ca).read())
    proxy = None
    holder = {}

    def endpoint(url):
        holder["backend"] = int(url.rsplit(":", 1)[1])
        return None                                     # written below, once the proxy listens
    sc = faultlib.Scenario(tmp, endpoint=endpoint)
    try:
        proxy = TlsProxy(certs, holder["backend"])
        sc.write_endpoint(f"https://127.0.0.1:{proxy.port}")
        down = time.monotonic()
        since_usec = time.monotonic_ns() // 1000
        sc.start(wrapper=in_namespace([(str(bundle), SYSTEM_BUNDLE)])).notify.wait_for("READY=1", timeout=30)
        # Not trusted: a self-signed certificate.
        status, errors = outage(sc, since_usec, ["certificate"])
        # Trusted, but for another host.
        proxy.phase = "wrong-host"
        since_usec = time.monotonic_ns() // 1000
        status2, errors2 = outage(sc, since_usec, ["wrong.amirotd.test", "does not match", "subject name"])
        time.sleep(max(0.0, down + OUTAGE_SECONDS - time.monotonic()))
        assert sc.alive()

        proxy.phase = "trusted"
        back = time.monotonic()
        result = resume(sc, back, "TLS with a wrong certificate", status + " | " + status2, errors + errors2,
                        round(back - down, 1))
        assert proxy.handshakes.get("trusted", 0) > 0, proxy.handshakes
        return result
    finally:
        steps.append(sc.watch_clock())
        if proxy:
            proxy.close()
        sc.close()


def again_after_clock_steps(outage_fn, tmp, tries=3):
    """outage_fn(), again when it failed while the wall clock was being stepped by another
    test on this machine (see test_faults.run_scenario_again_after_clock_steps())."""
    for attempt in range(1, tries + 1):
        steps = []
        try:
            result = outage_fn(tmp / f"t{attempt}", steps)
            result["tries"] = attempt
            return result
        except Exception:
            if not steps or steps[0] == 0 or attempt == tries:
                raise


def test_outages_daemon_keeps_running_says_why_and_resumes(tmp_path, journald):
    outages = {"endpoint": endpoint_down, "dns": dns_failing, "tls": tls_wrong_certificate}
    results, errors = [], []
    with concurrent.futures.ThreadPoolExecutor(len(outages)) as pool:
        futures = {pool.submit(again_after_clock_steps, f, tmp_path / k): k for k, f in outages.items()}
        for fut in concurrent.futures.as_completed(futures):
            try:
                results.append(fut.result())
            except Exception as e:
                errors.append(f"{futures[fut]}: {type(e).__name__}: {e}")
    for r in sorted(results, key=lambda r: r["scenario"]):
        figures.record("outages", scenario=r["scenario"], seconds=r["seconds"], slots=r["slots"], seed=SEED,
                       violations=0,
                       command=("RELIABILITY_LONG=1 " if LONG else "") +
                       "/usr/bin/python3 -m pytest -q tests/reliability/test_outages.py",
                       notes=f"down {r['down']} s; STATUS= said: {r['status']}; journal: {r['journal']}" +
                       (f"; wall clock seen stepped {r['clock_steps']} times meanwhile" if r["clock_steps"] else "") +
                       (f"; run {r['tries']} times (failed under clock steps before)" if r["tries"] > 1 else ""))
    assert not errors, "\n".join(errors)
