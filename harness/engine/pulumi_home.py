"""A Pulumi home of the suite's own, sharing only the user's plugin cache.

Every `pulumi` command writes a debug log into `$PULUMI_HOME/logs` and, before it does, reads
that folder whole to rotate it (files are kept 7 days, up to 500 MB). A run of the suite starts
some 700 commands, so a machine that ran it a few times a day held 11,104 logs, and a `pulumi
version` then took 0.28 s of CPU where it took 0.14 s with the folder empty (a warm run of the
suite: 799 s of CPU before this home, 786 s after). The suite's engine therefore runs on a home
made for the run (its logs, stack selections and workspace files go there and are removed with
it), whose `plugins` folder is the user's (the provider built once stays shared, and one
installed by scripts/bootstrap_engine.sh lands in the user's cache as before). xdist workers
inherit the controller's home.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import tempfile
from collections.abc import Mapping, MutableMapping
from pathlib import Path

# Set beside PULUMI_HOME to the home this module made, so a worker reuses its controller's.
MARK = "INVOLUTION_SUITE_PULUMI_HOME"


def user_home(environ: Mapping[str, str]) -> Path:
    """The home the CLI would use: $PULUMI_HOME, else .pulumi in the passwd database's home
    directory of the user (Go's user.Current(), as scripts/bootstrap_engine.sh reads it)."""
    given = environ.get("PULUMI_HOME")
    if given:
        return Path(given)
    return Path(pwd.getpwuid(os.getuid()).pw_dir) / ".pulumi"


def use_private_home(environ: MutableMapping[str, str]) -> Path:
    """PULUMI_HOME in `environ` pointed at a home of this run's own (made here, removed at this
    process's exit), or at the one a parent process of the run made already."""
    inherited = environ.get(MARK)
    if inherited and environ.get("PULUMI_HOME") == inherited and Path(inherited).is_dir():
        return Path(inherited)
    plugins = user_home(environ) / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="involution-pulumi-home-"))
    (home / "plugins").symlink_to(plugins, target_is_directory=True)
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    environ["PULUMI_HOME"] = environ[MARK] = str(home)
    return home
