# SPDX-License-Identifier: MIT
"""How tests/systemd/run-test can boot systemd on this host, or why it cannot.

run-test boots systemd as PID 1 of new namespaces. What that takes depends on the
host, and the decision is kept apart from the probing so that every combination
is tested (tests/systemd/test_host_mode.py) on a machine that has only one:

  hybrid     cgroup v1 with the named `systemd` hierarchy and cgroup v2 under
             /sys/fs/cgroup/unified, PID 1 not systemd (the CI machines): a child
             cgroup in each, at their roots.
  unified    pure cgroup v2 (/sys/fs/cgroup/cgroup.controllers), PID 1 not
             systemd (a privileged container): a child of our own cgroup.
  delegated  PID 1 is systemd (a stock Debian 12 VM, pure cgroup v2, or a host
             booted with the hybrid layout): its cgroups are its own, so
             `systemd-run --scope -p Delegate=yes` hands the test a cgroup
             subtree, and the namespace starts in a child of that scope.
  skip       none of these is possible; `reason` says exactly why.

In every booting mode the namespace's systemd sees only its cgroup v2 subtree
(cgroup namespace, ns-init mounts cgroup2), as in systemd-nspawn.
"""
import os
import subprocess

SYSTEMD = '/lib/systemd/systemd'
CGROUP = '/sys/fs/cgroup'
UNSHARE_PROBE = ['unshare', '--cgroup', '--pid', '--fork', '--mount', '--uts', '--ipc', '--net', 'true']


def choose_mode(facts):
    """(mode, reason) from the probed facts (see probe()); mode is one of
    'hybrid', 'unified', 'delegated', 'skip'."""
    if not facts['root']:
        return 'skip', ('not root: booting systemd needs namespaces, mounts and cgroups '
                        '(make check runs as root on CI)')
    if not facts['systemd_installed']:
        return 'skip', f'{SYSTEMD} is missing: systemd is not installed (make deps installs it)'
    if facts['unshare_error'] is not None:
        return 'skip', ('cannot create namespaces (a container without privileges?): '
                        f'`{" ".join(UNSHARE_PROBE)}` failed: {facts["unshare_error"]}')
    layout = facts['cgroup_layout']
    if layout not in ('hybrid', 'unified'):
        return 'skip', (f'{CGROUP} has no cgroup v2 hierarchy (layout: {layout}); systemd in a '
                        'namespace needs one, as a pure cgroup v2 or a hybrid host has')
    if facts['pid1_systemd']:
        if not facts['systemd_run']:
            return 'skip', 'PID 1 is systemd but systemd-run is missing, so no delegated cgroup can be had'
        return 'delegated', ('PID 1 is systemd: the namespace runs in a scope with Delegate=yes '
                             f'(cgroup layout {layout})')
    if not facts['cgroup_writable']:
        return 'skip', (f'the cgroup hierarchy ({facts["cgroup_parent"]}) is not writable '
                        '(a container without privileges, or a read-only cgroup mount)')
    if layout == 'hybrid':
        return 'hybrid', 'cgroup v1 systemd and unified hierarchies, PID 1 is not systemd'
    return 'unified', f'pure cgroup v2, PID 1 is not systemd: a child of {facts["cgroup_parent"]}'


def own_cgroup_v2():
    """This process's cgroup v2 path ('/' at the root), from /proc/self/cgroup."""
    with open('/proc/self/cgroup') as f:
        for line in f:
            if line.startswith('0::'):
                return line[3:].strip() or '/'
    return None


def cgroup_layout():
    if os.path.exists(os.path.join(CGROUP, 'cgroup.controllers')):
        return 'unified'
    if os.path.isdir(os.path.join(CGROUP, 'systemd')):
        if os.path.exists(os.path.join(CGROUP, 'unified', 'cgroup.controllers')):
            return 'hybrid'
        return 'legacy'
    return 'none'


def pid1_is_systemd():
    # sd_booted()'s test, and PID 1's name for containers that have the folder.
    if not os.path.isdir('/run/systemd/system'):
        return False
    try:
        with open('/proc/1/comm') as f:
            return f.read().strip() == 'systemd'
    except OSError:
        return False


def probe():
    """The facts about this host that choose_mode() decides on."""
    layout = cgroup_layout()
    if layout == 'hybrid':
        parents = [os.path.join(CGROUP, 'systemd'), os.path.join(CGROUP, 'unified')]
    elif layout == 'unified':
        own = own_cgroup_v2() or '/'
        parents = [os.path.normpath(CGROUP + own)]
    else:
        parents = []
    unshare_error = None
    try:
        p = subprocess.run(UNSHARE_PROBE, capture_output=True, text=True, timeout=20)
        if p.returncode != 0:
            unshare_error = (p.stderr.strip() or f'exit status {p.returncode}')
    except (OSError, subprocess.TimeoutExpired) as error:
        unshare_error = str(error)
    return {
        'root': os.geteuid() == 0,
        'systemd_installed': os.access(SYSTEMD, os.X_OK),
        'systemd_run': any(os.access(os.path.join(d, 'systemd-run'), os.X_OK)
                           for d in ('/usr/bin', '/bin')),
        'pid1_systemd': pid1_is_systemd(),
        'cgroup_layout': layout,
        'cgroup_parent': ', '.join(parents) or None,
        'cgroup_parents': parents,
        'cgroup_writable': bool(parents) and all(os.access(p, os.W_OK) for p in parents),
        'unshare_error': unshare_error,
    }
