"""`up` adopts the orphans of its parts and waits for them: nothing a part started outlives it.

Run in a child interpreter: becoming a subreaper is for the life of a process, and the test
worker must not adopt every other test's orphans.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux")

SCRIPT = textwrap.dedent(
    """
    import json, os, signal, subprocess, sys, time
    from cvntrade.platform import processes

    adopted = processes.adopt_orphans()
    # a part that starts a child of its own and ends without waiting for it
    part = subprocess.run(
        ["sh", "-c", "sleep 600 >/dev/null 2>&1 & echo $!"],
        capture_output=True, text=True, check=True,
    )
    orphan = int(part.stdout)
    with open(f"/proc/{orphan}/stat") as stat:
        parent = int(stat.read().rsplit(")", 1)[1].split()[1])
    os.kill(orphan, signal.SIGKILL)
    collected = processes.wait_orphans(time.monotonic() + 60)
    print(json.dumps({
        "adopted": adopted,
        "parent_is_us": parent == os.getpid(),
        "collected": collected,
        "zombie_left": os.path.exists(f"/proc/{orphan}"),
    }))
    """
)


def test_an_orphaned_grandchild_is_adopted_and_collected() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=300
    )
    result = json.loads(done.stdout)
    assert result == {
        "adopted": True,
        "parent_is_us": True,
        "collected": True,
        "zombie_left": False,
    }


def test_reap_orphans_leaves_the_parts_to_their_popen() -> None:
    script = textwrap.dedent(
        """
        import json, os, subprocess
        from cvntrade.platform import processes

        processes.adopt_orphans()
        part = subprocess.Popen(["true"])
        os.waitid(os.P_PID, part.pid, os.WEXITED | os.WNOWAIT)  # ended, not yet collected
        reaped = processes.reap_orphans({part.pid})
        print(json.dumps({"reaped": reaped, "code": part.wait()}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    assert json.loads(done.stdout) == {"reaped": [], "code": 0}
