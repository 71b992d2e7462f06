"""Command line: ec2sim --port N [--host H] [--state FILE] [--seed FILE]
[--latency-ms N] [--buckets ec2|off] [--pending-seconds S] [--max-skew-seconds S]
[--date-offset-seconds S]
[--consistency-delay S] [--steady-clock] [--ignore-delete-associated-snapshots]
[--no-delete-snapshot-return] [--verbose].

Prints "ec2sim listening on http://HOST:PORT" (flushed) when ready. SIGTERM and
SIGINT save the state to --state (atomically) and exit 0.
"""
import argparse
import gc
import json
import os
import signal
import sys
import threading

from . import seed as seed_mod, sigv4
from .server import Server
from .sim import Settings, Sim


def parse_args(argv):
    p = argparse.ArgumentParser(prog='ec2sim',
                                description='Stateful EC2/STS Query-API simulator')
    p.add_argument('--port', type=int, default=0, help='TCP port; 0 picks a free one')
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--state', help='JSON state file: loaded at start, saved at exit')
    p.add_argument('--seed', help='JSON seed document (or a list of them) applied at start')
    p.add_argument('--latency-ms', type=float, default=0.0,
                   help='delay every API answer by this many milliseconds')
    p.add_argument('--buckets', choices=('ec2', 'off'), default='ec2',
                   help="EC2's request token buckets (default) or none")
    p.add_argument('--pending-seconds', type=float, default=2.0,
                   help='simulator seconds an image stays pending (default 2)')
    p.add_argument('--max-skew-seconds', type=int, default=sigv4.MAX_SKEW_SECONDS,
                   help='accepted X-Amz-Date distance from real time '
                        f'(default {sigv4.MAX_SKEW_SECONDS}, as EC2)')
    p.add_argument('--date-offset-seconds', type=int, default=0, metavar='SECONDS',
                   help="the server's wall clock runs this far ahead of the host's (negative: "
                        'behind), in its Date header and its SigV4 skew check (default 0)')
    p.add_argument('--consistency-delay', type=float, default=0.0, metavar='SECONDS',
                   help='new images, their snapshots and new tags stay invisible to '
                        'describes (and NotFound by id) this long (default 0: off)')
    p.add_argument('--steady-clock', action='store_true',
                   help="run the simulator clock on the host's monotonic clock from the wall "
                        "time at start, so that a step of the host's wall clock does not move it")
    p.add_argument('--ignore-delete-associated-snapshots', action='store_true',
                   help='act as an endpoint that predates DeregisterImage '
                        'DeleteAssociatedSnapshots: deregister, delete nothing')
    p.add_argument('--no-delete-snapshot-return', action='store_true',
                   help='DeleteSnapshot answers without <return>true</return>')
    p.add_argument('--verbose', action='store_true', help='log requests to stderr')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # The state is large and acyclic; collect young objects less eagerly so a
    # 100 000-image state does not make every request pay for full GC passes.
    gc.set_threshold(50_000, 20, 100)
    sim = Sim(Settings(
        pending_seconds=args.pending_seconds, latency_ms=args.latency_ms,
        buckets=args.buckets == 'ec2', max_skew_seconds=args.max_skew_seconds,
        date_offset_seconds=args.date_offset_seconds,
        consistency_delay=args.consistency_delay,
        ignore_delete_associated_snapshots=args.ignore_delete_associated_snapshots,
        delete_snapshot_return=not args.no_delete_snapshot_return),
        steady_clock=args.steady_clock)
    sim.state_path = args.state
    if args.state and os.path.exists(args.state):
        with open(args.state) as f:
            sim.load_state(json.load(f))
    if args.seed:
        with open(args.seed) as f:
            docs = json.load(f)
        for doc in docs if isinstance(docs, list) else [docs]:
            seed_mod.seed(sim, doc)

    server = Server((args.host, args.port), sim, verbose=args.verbose)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()          # only a flag: the main thread does the work

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, name='ec2sim-http',
                              daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    print(f'ec2sim listening on http://{host}:{port}', flush=True)
    while not stop.wait(0.5):
        pass
    sim.stopping.set()
    server.shutdown()
    server.server_close()
    if args.state:
        sim.save(args.state)
    return 0
