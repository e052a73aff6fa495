"""Warm kernels for the grader: one process imports what every notebook's kernel imports
(IPython, ipykernel, torch, NumPy, matplotlib, helpers), then forks a fresh kernel for each
submission, so a kernel starts in a fraction of a second instead of re-importing them each time
(about four seconds of CPU per submission on the course's slow machine).

    python -m coursekit.grade_zygote serve SOCKET    # the warm process (one per worker)
    python -m coursekit.grade_zygote shim CONNECTION_FILE   # the "kernel" jupyter_client starts

jupyter_client starts the shim as if it were the kernel (a kernel spec whose ``argv`` runs it,
see :func:`kernel_spec_dir`); the shim asks the warm process, over a Unix socket, to fork a
kernel with its connection file, working directory and environment, forwards the signals it
gets (SIGINT interrupts the kernel, SIGTERM stops it) and exits with the kernel's exit code.
If the shim dies (SIGKILL), the warm process kills the kernel; if the warm process's parent dies
(a Dask worker killed), it kills its kernels and exits. A kernel is a fork of a process that has
only imported modules (no thread pool started, no event loop, no ZeroMQ context), which is what
forking safely needs; each kernel is its own process with its own memory, as before.

Nothing here is required: without the warm process the grader starts ordinary kernels.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

WARM_MODULES = (
    "IPython",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "matplotlib_inline.backend_inline",
    "numpy",
    "torch",
    "torch.nn",
    "torch.utils.data",
    "torchvision",
    "torchvision.datasets",
    "matplotlib",
    "matplotlib.pyplot",
    "helpers",
    *(f"helpers.{name}" for name in "runtime results plots data models training metrics".split()),
    "coursekit.grade_guard",
)
SPEC_NAME = "course-grade-warm"
READY_TIMEOUT = 300  # seconds for the imports, on a slow and busy machine


# ------------------------------------------------------------------------ the warm process
def _kernel(request: dict[str, Any], inherited: list[Any]) -> None:
    """In the forked child: become the kernel the request asks for (never returns)."""
    code = 1
    try:
        for thing in inherited:  # the warm process's sockets and selector are not the kernel's
            thing.close()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        os.setsid()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.argv = ["ipykernel_launcher", "-f", request["connection_file"]]
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(sys.argv[1:])
        app.start()
        code = 0
    except SystemExit as err:
        code = err.code if isinstance(err.code, int) else 1
    except BaseException:  # noqa: BLE001 - the log says what
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def serve(path: str) -> int:
    """Import the warm modules, then fork a kernel for every request on the Unix socket
    ``path``, until the parent process dies or SIGTERM."""
    # Ctrl-C in a terminal reaches the whole process group, this process with it: the runner
    # decides what stops, and this process must live to kill its kernels (they have sessions of
    # their own, out of the terminal's reach)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in WARM_MODULES:
        try:
            __import__(name)
        except Exception as err:  # noqa: BLE001 - a kernel imports it itself, and says
            print(f"warm: cannot import {name}: {err}", file=sys.stderr, flush=True)
    parent = os.getppid()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}  # kernel pid -> its shim's connection
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    print("ready", flush=True)
    while not stopping and os.getppid() == parent:
        for key, _ in selector.select(timeout=0.1):
            if key.fileobj is server:
                conn, _ = server.accept()
                request = json.loads(conn.makefile("r").readline())
                pid = os.fork()
                if pid == 0:
                    _kernel(request, [server, selector, *children.values()])
                conn.sendall(f"{pid}\n".encode())
                children[pid] = conn
                selector.register(conn, selectors.EVENT_READ, pid)
            else:  # the shim hung up: its kernel goes too
                pid = key.data
                selector.unregister(key.fileobj)
                _kill(pid)
        for pid, conn in list(children.items()):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done:
                code = os.waitstatus_to_exitcode(status) if status else 0
                try:
                    conn.sendall(f"{code}\n".encode())
                    selector.unregister(conn)
                except (OSError, KeyError, ValueError):
                    pass
                conn.close()
                del children[pid]
    for pid in children:
        _kill(pid)
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)  # its owner may be gone
    return 0


def _kill(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
            return
        except (ProcessLookupError, PermissionError):
            continue


# ------------------------------------------------------------------------ the shim
def shim(connection_file: str) -> int:
    """What jupyter_client runs as the kernel: ask the warm process for one, forward signals,
    exit with its exit code."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(os.environ["COURSE_GRADE_WARM"])
    log = os.environ.get("COURSE_GRADE_KERNEL_LOG") or os.devnull
    request = {
        "connection_file": os.path.abspath(connection_file),
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "log": log,
    }
    conn.sendall((json.dumps(request) + "\n").encode())
    stream = conn.makefile("r")
    pid = int(stream.readline())

    def forward(signum: int, frame: Any) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, forward)
    parent = os.getppid()

    def watch() -> None:  # the runner gone, the shim goes: the warm process kills the kernel
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    line = stream.readline()  # the kernel's exit code, when it exits
    return int(line) if line.strip() else 1


# ------------------------------------------------------------------------ for the runner
class Warm:
    """A warm process of this process's (started on first use, stopped when this process
    exits): ``Warm.get(env).environment()`` is what a runner needs to use it."""

    _instance: Warm | None = None

    def __init__(self, env: dict[str, str]) -> None:
        self.folder = tempfile.mkdtemp(prefix="grade-warm-")
        self.socket = os.path.join(self.folder, "warm.sock")
        spec = Path(self.folder) / "kernels" / SPEC_NAME
        spec.mkdir(parents=True)
        argv = [sys.executable, "-m", "coursekit.grade_zygote", "shim", "{connection_file}"]
        kernel = {"argv": argv, "display_name": "Python 3 (warm)", "language": "python"}
        (spec / "kernel.json").write_text(json.dumps(kernel))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "coursekit.grade_zygote", "serve", self.socket],
            env=env,
            stdout=subprocess.PIPE,
            stderr=open(os.path.join(self.folder, "warm.log"), "w"),
            text=True,
        )
        atexit.register(self.close)
        ready, _, _ = select.select([self.process.stdout], [], [], READY_TIMEOUT)
        if not ready or self.process.stdout.readline().strip() != "ready":
            self.close()
            raise RuntimeError("the warm process did not start")

    def close(self) -> None:
        """Stop the warm process (its kernels with it) and remove its folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    @classmethod
    def get(cls, env: dict[str, str]) -> Warm | None:
        """This process's warm process, started if need be in the runner's environment ``env``;
        None if it cannot start."""
        if cls._instance is None or cls._instance.process.poll() is not None:
            try:
                cls._instance = cls(env)
            except (OSError, RuntimeError):
                cls._instance = None
        return cls._instance

    def environment(self) -> dict[str, str]:
        """What a runner's environment needs to start its kernel here: the kernel spec's folder
        first on ``JUPYTER_PATH``, and the socket."""
        path = os.environ.get("JUPYTER_PATH", "")
        return {
            "JUPYTER_PATH": os.pathsep.join(filter(None, [self.folder, path])),
            "COURSE_GRADE_WARM": self.socket,
        }


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        return serve(argv[1])
    if argv[:1] == ["shim"]:
        return shim(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
