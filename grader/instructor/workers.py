"""A pool of grading processes (``grader.instructor.grade_submission``) fed one submission
at a time, each answer awaited for at most a time budget.

A worker that does not answer in time is killed with its kernel and replaced, so a
submission that wedges nbgrader itself costs its own points and nothing more.
"""

import json
import os
import queue
import select
import subprocess
import sys
from pathlib import Path
from typing import IO

# How the error of a submission that ran past its whole time budget begins (grade_class
# gives it 0; any other failure of the grading process is left for the next run).
OVER_BUDGET = "no result after"


class Worker:
    """One grading process, kept for many submissions."""

    def __init__(self, root: Path, options: list[str], log: IO, keep_fds: tuple[int, ...]):
        env = dict(os.environ)
        # nbgrader starts `alembic` and kernels by name: this environment's bin goes first.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.instructor.grade_submission", str(root),
             "--parent-pid", str(os.getpid()), *options],
            cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            text=True, pass_fds=keep_fds)

    def request(self, payload: dict, timeout: float) -> dict | None:
        """Send one request; its answer, or None if none came within ``timeout`` seconds."""
        try:
            self.process.stdin.write(json.dumps(payload) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            return self._stopped()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.process.stdout.readline()
        return json.loads(line) if line else self._stopped()

    def _stopped(self) -> dict:
        code = self.process.wait()
        return {"success": False, "error": f"the grading process stopped (exit code {code})",
                "feedback_error": "", "seconds": 0.0}

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Kill the process; its kernel notices its parent is gone and exits too."""
        if self.alive:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class WorkerPool:
    """Up to ``size`` workers, started when first needed; thread-safe ``grade``."""

    def __init__(self, root: Path, size: int, options: list[str], log: IO,
                 keep_fds: tuple[int, ...] = ()):
        self._start = lambda: Worker(root, options, log, keep_fds)
        self._idle: queue.Queue[Worker | None] = queue.Queue()
        self._all: list[Worker] = []
        for _ in range(size):
            self._idle.put(None)  # a slot; the worker is started on first use

    def grade(self, payload: dict, timeout: float) -> dict:
        """Grade one submission on an idle worker (waiting for one if all are busy)."""
        worker = self._idle.get()
        try:
            if worker is None or not worker.alive:
                worker = self._start()
                self._all.append(worker)
            answer = worker.request(payload, timeout)
            if answer is None:
                worker.stop()
                answer = {"success": False, "feedback_error": "", "seconds": timeout,
                          "error": f"{OVER_BUDGET} {timeout:.0f} s; grading stopped"}
            return answer
        finally:
            self._idle.put(worker)

    def kill(self) -> None:
        """Stop every worker at once (their current submissions are abandoned)."""
        for worker in list(self._all):
            worker.stop()

    def close(self) -> None:
        for worker in self._all:
            if worker.alive and worker.process.stdin:
                try:
                    worker.process.stdin.close()  # ends the worker's request loop
                except OSError:
                    pass
        for worker in self._all:
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            worker.stop()
