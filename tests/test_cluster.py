"""Grading on a Dask cluster: a scheduler and two workers started as separate processes
(``dask scheduler``, ``dask worker``), each worker with its own scratch folder and no view of
the course folder; grades equal a local run's, also when a worker is killed halfway."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from distributed import Client

from grader.instructor import grade_class, journal
from grader.instructor.grade_submission import Limits
from grader.instructor.grading_task import (
    GraderMismatch,
    Submission,
    grade_task,
    grader_fingerprint,
    lesson_bundle,
)
from grader.instructor.journal import LEFT
from tests.test_class_grading import LESSON, new_course, scores

STUDENTS = ["good", "buggy-xor", "deleted-cells", "kernel-dies", "invalid-json", "renamed",
            "edited-metadata", "memory-hog"]
SETTINGS = grade_class.Settings(cell_timeout=10, memory_limit_mb=1536, jobs=2)
DASK = str(Path(sys.executable).parent / "dask")  # the command an instructor runs


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes on localhost, stopped on close."""

    def __init__(self, folder: Path, workers: int):
        self.folder = folder
        self.address_file = folder / "scheduler.json"
        self.log = open(folder / "cluster.log", "ab")
        self.scheduler = self._start("scheduler", "--host", "127.0.0.1", "--port", "0",
                                     "--dashboard-address", ":0", "--scheduler-file",
                                     str(self.address_file))
        deadline = time.monotonic() + 60
        while not self.address_file.exists():
            assert time.monotonic() < deadline, "dask scheduler did not start"
            time.sleep(0.2)
        self.address = json.loads(self.address_file.read_text())["address"]
        self.workers = {}
        for number in range(workers):
            scratch = folder / f"worker{number}"
            scratch.mkdir()
            self.workers[f"worker{number}"] = self._start(
                "worker", self.address, "--name", f"worker{number}", "--nthreads", "1",
                "--local-directory", str(scratch), "--no-dashboard", cwd=scratch)
        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)

    def _start(self, command: str, *args: str, cwd: Path | None = None) -> subprocess.Popen:
        # Own process groups: killing a worker kills its nanny, process and kernels.
        return subprocess.Popen([DASK, command, *args], cwd=cwd or self.folder,
                                stdout=self.log, stderr=self.log, start_new_session=True)

    def kill_worker(self, name: str) -> None:
        os.killpg(self.workers[name].pid, signal.SIGKILL)
        self.workers[name].wait()

    def close(self) -> None:
        for process in [*self.workers.values(), self.scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.workers.values(), self.scheduler]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def local_grades(tmp_path_factory):
    """The class graded on the default local cluster: what every other run must equal."""
    root = new_course(tmp_path_factory, "local", STUDENTS)
    grade_class.run(root, [LESSON], SETTINGS, progress=False)
    return {student: scores(root, student) for student in STUDENTS}


@pytest.fixture
def cluster(tmp_path):
    started = Cluster(tmp_path, workers=2)
    yield started
    started.close()


def test_the_local_run_grades_every_submission(local_grades):
    assert local_grades["good"] and set(local_grades["good"].values()) != {0}
    assert local_grades["buggy-xor"]["test_xor_gradients"] == 0
    assert sum(local_grades["invalid-json"].values()) == 0


def test_a_class_graded_on_separate_workers_equals_the_local_run(local_grades, cluster,
                                                                  tmp_path_factory):
    root = new_course(tmp_path_factory, "cluster", STUDENTS)
    settings = grade_class.Settings(cell_timeout=10, memory_limit_mb=1536,
                                    scheduler=cluster.address)
    outcomes = grade_class.run(root, [LESSON], settings, progress=False)
    assert {o.student for o in outcomes} == set(STUDENTS)
    assert {student: scores(root, student) for student in STUDENTS} == local_grades
    # Each worker graded in its own scratch folder, never in the course folder.
    for name in cluster.workers:
        assert list((cluster.folder / name).rglob("autograded")), f"{name} graded nothing"
    assert not (root / "submitted" / "good" / LESSON / "gradebook.db").exists()


def test_a_worker_killed_halfway_loses_nothing(local_grades, cluster, tmp_path_factory):
    """Kill one worker (nanny, worker and kernel) while it grades; its submission is graded
    again on the other, and the gradebook equals an uninterrupted run."""
    root = new_course(tmp_path_factory, "killed-worker", STUDENTS)
    settings = grade_class.Settings(cell_timeout=10, memory_limit_mb=1536,
                                    scheduler=cluster.address)
    errors = []

    def grade():
        try:
            grade_class.run(root, [LESSON], settings, progress=False)
        except BaseException as error:  # reported by the test below
            errors.append(error)

    run = threading.Thread(target=grade)
    run.start()
    state = root / journal.STATE_DIR / LESSON
    victim, in_flight = None, []
    with Client(cluster.address, timeout="60s") as client:
        names = {address: info["name"]
                 for address, info in client.scheduler_info(n_workers=-1)["workers"].items()}
        deadline = time.monotonic() + 300
        while victim is None and time.monotonic() < deadline:
            assert run.is_alive(), f"the run ended before a worker could be killed: {errors}"
            if list(state.glob("*.json")):  # halfway: some submissions are finished
                for address, keys in client.processing().items():
                    if keys:
                        victim, in_flight = names[address], list(keys)
                        break
            time.sleep(0.1)
    assert victim, "no worker was grading when the time came to kill one"
    finished_before = len(list(state.glob("*.json")))
    cluster.kill_worker(victim)
    run.join(timeout=900)
    assert not run.is_alive() and not errors, errors
    assert finished_before < len(STUDENTS), "the kill came too late to test anything"
    assert in_flight, "the killed worker held no task"
    outcomes = [journal.load(root, LESSON, student) for student in STUDENTS]
    assert all(o is not None and o.status != LEFT for o in outcomes), outcomes
    assert {student: scores(root, student) for student in STUDENTS} == local_grades


def test_a_worker_with_another_grader_refuses_to_grade(tmp_path_factory):
    """A worker installed from another commit would judge by other checks: it refuses, and
    the submission is left for the next run (tests/test_class_grading.py)."""
    root = new_course(tmp_path_factory, "mismatch", ["good"])
    bundle = replace(lesson_bundle(root, LESSON), grader="0" * 16)
    with pytest.raises(GraderMismatch, match="another version of the grader"):
        grade_task(bundle, Submission(LESSON, "good", {}), Limits())
    assert lesson_bundle(root, LESSON).grader == grader_fingerprint()
