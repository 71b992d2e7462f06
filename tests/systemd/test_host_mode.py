# SPDX-License-Identifier: MIT
# run-test's choice of how to boot systemd, for each kind of host: the CI machines
# are only one of them, so the others are proven here from their probed facts.
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import host_mode  # noqa: E402

CI_MACHINE = {           # Debian 12, PID 1 not systemd, cgroup v1 hybrid, root
    'root': True, 'systemd_installed': True, 'systemd_run': True, 'pid1_systemd': False,
    'cgroup_layout': 'hybrid', 'cgroup_parent': '/sys/fs/cgroup/systemd, /sys/fs/cgroup/unified',
    'cgroup_parents': ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'],
    'cgroup_writable': True, 'unshare_error': None,
}


def facts(**changes):
    f = dict(CI_MACHINE)
    f.update(changes)
    return f


def test_ci_machine_boots_with_both_v1_hierarchies():
    assert host_mode.choose_mode(CI_MACHINE)[0] == 'hybrid'


def test_stock_debian_vm_uses_a_delegated_scope_of_the_host_systemd():
    # Debian 12 installed on a VM: systemd is PID 1, pure cgroup v2, and its
    # cgroups are systemd's: the test asks it for a delegated scope.
    mode, reason = host_mode.choose_mode(facts(pid1_systemd=True, cgroup_layout='unified',
                                               cgroup_parents=['/sys/fs/cgroup/user.slice/x.scope']))
    assert mode == 'delegated' and 'PID 1 is systemd' in reason


def test_systemd_host_booted_hybrid_is_delegated_too():
    assert host_mode.choose_mode(facts(pid1_systemd=True))[0] == 'delegated'


def test_systemd_host_delegates_even_where_its_cgroup_is_not_ours_to_write():
    # A session's scope is systemd's; the delegated scope is the test's own.
    assert host_mode.choose_mode(facts(pid1_systemd=True, cgroup_writable=False))[0] == 'delegated'


def test_privileged_container_with_pure_cgroup_v2_makes_a_child_of_its_cgroup():
    mode, reason = host_mode.choose_mode(facts(cgroup_layout='unified', cgroup_parent='/sys/fs/cgroup',
                                               cgroup_parents=['/sys/fs/cgroup']))
    assert mode == 'unified' and '/sys/fs/cgroup' in reason


@pytest.mark.parametrize('changes, why', [
    (dict(root=False), 'not root'),
    (dict(systemd_installed=False), 'systemd is not installed'),
    (dict(unshare_error='unshare: unshare failed: Operation not permitted'),
     'cannot create namespaces (a container without privileges?): '
     '`unshare --cgroup --pid --fork --mount --uts --ipc --net true` failed: '
     'unshare: unshare failed: Operation not permitted'),
    (dict(cgroup_layout='unified', cgroup_writable=False, cgroup_parent='/sys/fs/cgroup'),
     'the cgroup hierarchy (/sys/fs/cgroup) is not writable'),
    (dict(cgroup_layout='legacy'), 'no cgroup v2 hierarchy (layout: legacy)'),
    (dict(cgroup_layout='none'), 'no cgroup v2 hierarchy (layout: none)'),
    (dict(pid1_systemd=True, systemd_run=False), 'systemd-run is missing'),
])
def test_skips_say_exactly_why(changes, why):
    mode, reason = host_mode.choose_mode(facts(**changes))
    assert mode == 'skip'
    assert why in reason


def test_unprivileged_container_skips_for_namespaces_before_cgroups():
    # docker run without --privileged: no CAP_SYS_ADMIN and a read-only cgroup mount;
    # the first thing that fails is what the message names.
    mode, reason = host_mode.choose_mode(facts(cgroup_layout='unified', cgroup_writable=False,
                                               unshare_error='Operation not permitted'))
    assert mode == 'skip' and 'cannot create namespaces' in reason


def test_probe_on_this_host_gives_facts_choose_mode_accepts():
    f = host_mode.probe()
    assert set(f) >= set(CI_MACHINE)
    mode, reason = host_mode.choose_mode(f)
    assert mode in ('hybrid', 'unified', 'delegated', 'skip') and reason
