"""The harness on a real PostgreSQL server: results database, gen3 registry, schema upgrades.

The server is Debian's, in a throwaway cluster the tests start (`_postgres`).
"""
import json

import pytest
import sqlalchemy as sa
from _campaigns import scenario, write_campaign
from _postgres import postgresql_cluster  # noqa: F401  (fixture)

from compat.gen3 import make_repo
from compat.gen3.errors import Gen3Error
from validation.cli import main
from validation.db import SCHEMA_VERSION, ResultsDB
from validation.db.engine import open_engine
from validation.errors import ValidationError


def _outcome(report_dir):
    """Verdicts and science metrics of a run, without timings and host names."""
    results = json.loads((report_dir / "results.json").read_text())
    outcome = {}
    for stored in results["scenarios"]:
        for data_id in stored["data_ids"]:
            key = (stored["name"], data_id["data_id"]["visit"])
            metrics = {backend: {name: value for name, value in values.items()
                                 if name != "seconds"}
                       for backend, values in data_id["backend_metrics"].items()}
            outcome[key] = ([(c["product"], c["verdict"]) for c in data_id["comparisons"]],
                            metrics)
    return outcome


def test_a_campaign_on_postgresql_matches_the_one_on_sqlite(postgresql_cluster, tmp_path,
                                                             capsys):
    path = write_campaign(tmp_path / "small.yaml", "small_pg",
                          [scenario("coadd_template"), scenario("calexp_template")])
    workdir = tmp_path / "work"
    assert main(["run", str(path), "--workdir", str(workdir), "--out",
                 str(tmp_path / "sqlite")]) == 0
    results_url = postgresql_cluster.url(postgresql_cluster.create_database("results"))
    registry_url = postgresql_cluster.url(postgresql_cluster.create_database("registry"),
                                          driver="psycopg2")
    for attempt in ("first", "again"):  # a second run replaces its registry schema
        assert main(["run", str(path), "--workdir", str(workdir), "--db", results_url,
                     "--registry-db", registry_url, "--out", str(tmp_path / attempt)]) == 0
    assert _outcome(tmp_path / "again") == _outcome(tmp_path / "sqlite")
    assert {verdict for comparisons, _ in _outcome(tmp_path / "again").values()
            for _, verdict in comparisons} == {"identical"}

    butler_yaml = (workdir / "run" / "gen3" / "repo" / "butler.yaml").read_text()
    assert "postgresql+psycopg2" in butler_yaml and "namespace: diffim_" in butler_yaml
    with ResultsDB(results_url) as db:
        runs = db.runs()
        assert [run.campaign for run in runs] == ["small_pg", "small_pg"]
        assert all(db.run_status(run.run_id) == "complete" for run in runs)
    engine, _ = open_engine(registry_url)
    with engine.connect() as connection:
        schemas = connection.execute(sa.text(
            "SELECT schema_name FROM information_schema.schemata "
            "WHERE schema_name LIKE 'diffim_%'")).scalars().all()
        calexps = connection.execute(sa.text(
            f'SELECT COUNT(*) FROM "{schemas[0]}".dataset_type')).scalar()
    engine.dispose()
    assert len(schemas) == 1 and calexps > 0


def test_a_new_database_gets_the_current_schema_once(postgresql_cluster):
    url = postgresql_cluster.url(postgresql_cluster.create_database("schema"))
    for _ in range(2):
        with ResultsDB(url):
            pass
    engine, _ = open_engine(url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version FROM schema_info")).all() == [
            (SCHEMA_VERSION,)]
    engine.dispose()


def test_an_unreachable_server_is_one_line_naming_the_url(tmp_path):
    url = f"postgresql+psycopg://harness:s3cret@/validation?host={tmp_path}"
    with pytest.raises(ValidationError) as raised:
        ResultsDB(url)
    message = str(raised.value)
    assert "\n" not in message and "s3cret" not in message
    assert "harness:***@" in message and "No such file or directory" in message


def test_a_missing_registry_database_is_one_line(postgresql_cluster, tmp_path):
    url = postgresql_cluster.url("no_such_database", driver="psycopg2")
    with pytest.raises(Gen3Error, match=r'^registry database \S*/no_such_database\S*: .*'
                                        r'"no_such_database" does not exist$'):
        make_repo(tmp_path / "repo", url, "diffim_x")
