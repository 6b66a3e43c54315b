"""The gradebook in PostgreSQL (nbgrader's ``db_url``): a real server started by the test
(Debian's ``postgresql``, run as an unprivileged user), a class graded into it, grades equal
to the SQLite gradebook's."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg2
import pytest

from grader.instructor import grade_class
from grader.instructor.gradebook import gradebook_url
from tests.test_class_grading import LESSON, new_course, scores

STUDENTS = ["good", "buggy-xor", "deleted-cells", "invalid-json"]
SETTINGS = grade_class.Settings(cell_timeout=10, memory_limit_mb=1536, jobs=2)


def server_binaries() -> Path | None:
    """The folder holding Debian's PostgreSQL server programs (initdb, pg_ctl)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return Path(folders[-1]) if folders else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL server on a Unix socket; yields a database URL."""
    binaries = server_binaries()
    if binaries is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed (.ci/run installs Debian's postgresql)")
        pytest.skip("PostgreSQL is not installed: apt-get install postgresql to run this test")
    # Not under pytest's own temporary folder, which only its owner may enter.
    folder = Path(tempfile.mkdtemp(prefix="gradebook-postgres-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    # The server refuses to run as root: then it runs as nobody, in folders nobody owns.
    as_user = []
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for path in (folder, sockets):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        as_user = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                   "--clear-groups"]
    subprocess.run([*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "grader",
                    "--auth=trust", "--no-sync"], check=True, capture_output=True)
    port = free_port()
    subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-w", "-l",
                    str(folder / "server.log"), "-o",
                    f"-k {sockets} -p {port} -c listen_addresses=''", "start"],
                   check=True, capture_output=True, timeout=120)
    try:
        connection = psycopg2.connect(host=str(sockets), port=port, user="grader",
                                      dbname="postgres")
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with connection.cursor() as cursor:
            cursor.execute("CREATE DATABASE gradebook")
        connection.close()
        yield f"postgresql+psycopg2://grader@/gradebook?host={sockets}&port={port}"
    finally:
        subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast",
                        "stop"], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_class_graded_into_postgresql_equals_the_sqlite_gradebook(postgres_url,
                                                                    tmp_path_factory):
    on_sqlite = new_course(tmp_path_factory, "sqlite", STUDENTS)
    on_postgres = new_course(tmp_path_factory, "postgres", [])
    with open(on_postgres / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    # The release was generated into the folder's own gradebook.db: start from PostgreSQL.
    (on_postgres / "gradebook.db").unlink()
    for student in STUDENTS:
        shutil.copytree(on_sqlite / "submitted" / student, on_postgres / "submitted" / student)
    assert gradebook_url(on_postgres) == postgres_url
    for root in (on_sqlite, on_postgres):
        grade_class.run(root, [LESSON], SETTINGS, progress=False)
    assert not (on_postgres / "gradebook.db").exists(), "grading wrote a SQLite gradebook"
    for student in STUDENTS:
        assert scores(on_postgres, student) == scores(on_sqlite, student), student
    assert sum(scores(on_postgres, "good").values()) > 0
    # nbgrader's own commands read the same database: grades.csv has the same rows.
    header, *rows = (on_postgres / "grades.csv").read_text().splitlines()
    sqlite_header, *sqlite_rows = (on_sqlite / "grades.csv").read_text().splitlines()
    assert header == sqlite_header and sorted(rows) == sorted(sqlite_rows)
    assert len(rows) == len(STUDENTS)
