"""A throwaway PostgreSQL cluster for the tests: Debian's server on a local socket.

`make test` installs Debian's ``postgresql`` package when its server is
missing; this module starts a fresh cluster in a temporary directory (no TCP
port, trust authentication on the socket), hands out one empty database per
test, and stops the cluster when the session ends. ``initdb`` refuses to run
as root, so as root the server runs as the ``postgres`` user the package made.
"""
import getpass
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

SUPERUSER = "diffim"
"""The cluster's superuser; the socket trusts it, so URLs carry no password."""
START_TIMEOUT_SECONDS = 60


def server_bin_dir():
    """Directory of ``initdb``/``pg_ctl``: Debian's versioned one, else the PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda path: int(Path(path).parts[-3]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    assert found, "PostgreSQL server not installed: `make test` installs Debian's postgresql"
    return Path(found).parent


class ThrowawayCluster:
    """A PostgreSQL cluster living in ``directory`` until `stop`.

    Parameters
    ----------
    directory : `pathlib.Path`
        Empty directory for the data, the socket and the log.
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        self.bin_dir = server_bin_dir()
        self.run_as = "postgres" if os.geteuid() == 0 else getpass.getuser()
        self._names = itertools.count()

    def _server_command(self, *args):
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", self.run_as, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True,
                       timeout=START_TIMEOUT_SECONDS)

    def start(self):
        """``initdb`` and ``pg_ctl start``, listening only on the socket in ``directory``."""
        owner = pwd.getpwnam(self.run_as)
        os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        self._server_command("initdb", "-D", str(self.directory / "data"), "-A", "trust",
                             "-U", SUPERUSER, "-E", "UTF8", "--no-instructions")
        self._server_command("pg_ctl", "-D", str(self.directory / "data"), "-l",
                             str(self.directory / "server.log"), "-w", "-o",
                             f"-k {self.directory} -c listen_addresses='' -F", "start")

    def stop(self):
        """``pg_ctl stop -m immediate``: the data is thrown away anyway."""
        self._server_command("pg_ctl", "-D", str(self.directory / "data"), "-m", "immediate",
                             "-w", "stop")

    def url(self, database="postgres", driver="psycopg"):
        """SQLAlchemy URL of ``database`` over the socket."""
        return f"postgresql+{driver}://{SUPERUSER}@/{database}?host={self.directory}"

    def create_database(self, prefix="test", extensions=()):
        """A new empty database (with ``extensions`` created in it); its name."""
        name = f"{prefix}_{next(self._names)}"
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        if extensions:
            engine = sa.create_engine(self.url(name), isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                for extension in extensions:
                    connection.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS {extension}")
            engine.dispose()
        return name


@pytest.fixture(scope="session")
def postgresql_cluster():
    """One cluster for the whole session, stopped at its end."""
    directory = Path(tempfile.mkdtemp(prefix="diffim-pg-"))
    cluster = ThrowawayCluster(directory)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def results_url(request, tmp_path):
    """A fresh, empty results database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "results.sqlite3")
    cluster = request.getfixturevalue("postgresql_cluster")
    return cluster.url(cluster.create_database("results"))
