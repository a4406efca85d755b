"""Which process runs a campaign, and whether that process still exists.

A run killed without a chance to say so (``kill -9``, a crash, a lost
machine) stays ``running`` in the database. Each run therefore records its
owner: host name, process id and the process's start time. A later opener
on the same host finds the run abandoned when no process has that id, or
the one that has it started at another time (the id was reused). On other
hosts nothing can be known, and the run keeps its status.

The start time is the kernel's (``/proc/PID/stat``, in clock ticks since
boot, with the boot's id), so it does not depend on clocks or time zones.
Where there is no ``/proc``, only the process id is compared.
"""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Owner", "current_owner", "is_gone"]

_STARTTIME_FIELD = 22  # 1-based, in proc(5)'s numbering of /proc/PID/stat


@dataclass(frozen=True)
class Owner:
    """The process running a campaign.

    Attributes
    ----------
    host : `str`
    pid : `int`
    start : `str` or `None`
        ``"BOOT_ID:TICKS"``, or `None` where the system does not say.
    """

    host: str
    pid: int
    start: str | None


def current_owner():
    """The `Owner` of this process."""
    return Owner(platform.node(), os.getpid(), process_start(os.getpid()))


def process_start(pid):
    """``"BOOT_ID:TICKS"`` of process ``pid``; `None` without ``/proc``, such process, or
    when it has exited (a zombie waiting for its parent)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces and parentheses;
    # the state (field 3) follows it.
    fields = stat[stat.rindex(")") + 1:].split()
    if fields[0] == "Z":
        return None
    return f"{boot}:{fields[_STARTTIME_FIELD - 3]}"


def is_gone(owner):
    """Whether ``owner`` certainly no longer runs (only decidable on its own host).

    Parameters
    ----------
    owner : `Owner`

    Returns
    -------
    gone : `bool`
        `False` when it may still run: it does, or it ran on another host.
    """
    if owner.host != platform.node():
        return False
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # exists, under another user
    return owner.start is not None and process_start(owner.pid) != owner.start
