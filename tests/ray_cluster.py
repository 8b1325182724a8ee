"""A real two-node Ray cluster on the loopback interface (127.0.0.x) for tests and benchmarks: a head and one
more node, each a ``ray start --block`` process in its own session, so stopping the cluster kills exactly its processes
(raylets, workers, agents) and nothing else on the machine — never ``ray stop``, which is machine-wide.

Every port is chosen free (Ray's fixed defaults would collide with a second cluster), the dashboard is off,
the object store is small, and every node has a loopback address (the head 127.0.0.2, see HEAD_IP).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Environment for the nodes and the drivers that connect to them (no usage reports).
LOOPBACK_ENV = {"RAY_USAGE_STATS_ENABLED": "0"}
#: Loopback addresses of the nodes: the head on 127.0.0.2, joining nodes on .3, .4, ... Ray rewrites a node
#: address of 127.0.0.1 (or localhost) to the machine's outward address in multi-node mode, which other
#: loopback addresses keep it from doing: every process of the cluster listens on the loopback interface.
HEAD_IP = "127.0.0.2"
# A loaded 2-core machine starts Ray's Python agents slowly; the raylet must wait for them, not abort.
_SLOW_START_ENV = {"RAY_agent_register_timeout_ms": "300000"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # free on the loopback interface
        return s.getsockname()[1]


def _ray_executable() -> str:
    exe = Path(sys.executable).with_name("ray")
    return str(exe) if exe.exists() else "ray"


def _node_ports() -> list[str]:
    """Explicit free ports for everything a node would otherwise bind at a fixed default."""
    return [
        f"--node-manager-port={free_port()}",
        f"--object-manager-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--metrics-export-port={free_port()}",
        "--min-worker-port=0",  # 0: workers bind random free ports
        "--max-worker-port=0",
    ]


def _session_pids(leader: int) -> list[int]:
    """Processes whose session id is ``leader`` (``ray start`` and everything it spawned)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) == leader:
                pids.append(int(entry.name))
        except (ProcessLookupError, PermissionError):
            continue
    return pids


#: Extra CPU priority while a node starts (root only; undone once the node is up, see RayNode.settle).
_BOOST = -10


def _start_boost() -> None:
    """In the ``ray start`` child: raise its priority for start-up, when allowed (root), else nothing."""
    with contextlib.suppress(OSError):
        os.nice(_BOOST)


def _raylet_args(pid: int) -> dict[str, str] | None:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if not argv or not argv[0].endswith(b"/raylet"):
        return None
    pairs = (a.decode(errors="replace").lstrip("-").split("=", 1) for a in argv[1:] if b"=" in a)
    return {k: v for k, v in pairs}


def _prime_agent_port(leader: int, stop: threading.Event) -> None:
    """Write the dashboard agent's listen-port file for the raylet of session ``leader`` as soon as it starts.

    A raylet waits a fixed 15 s (not configurable in Ray 2.6x) for its Python dashboard agent to write that
    file and aborts otherwise, which happens when the machine is loaded. With the minimal Ray that
    ``ray[data]`` installs the agent runs no HTTP server and writes -1; writing the same value up front
    changes nothing but the raylet's start-up wait."""
    # the minimal Ray (no aiohttp) runs no agent HTTP server; with the full dashboard the agent must answer
    value = "-1" if importlib.util.find_spec("aiohttp") is None else None
    while value is not None and not stop.wait(0.05):
        for pid in _session_pids(leader):
            args = _raylet_args(pid)
            if args and "node_id" in args and "session_dir" in args:
                target = Path(args["session_dir"]) / f"dashboard_agent_listen_port_{args['node_id']}"
                if not target.exists():
                    tmp = target.with_name(target.name + ".tmp")
                    tmp.write_text(value)
                    os.replace(tmp, target)
                return


@dataclass
class RayNode:
    """One ``ray start --block`` process (a session leader) and its log file."""

    proc: subprocess.Popen
    log: Path
    stop_priming: threading.Event = field(default_factory=threading.Event)

    def kill(self) -> None:
        """SIGKILL every process of this node's session (raylet, object store, workers, agents)."""
        self.stop_priming.set()
        for _ in range(3):
            pids = _session_pids(self.proc.pid)
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)

    def settle(self) -> None:
        """Back to normal priority for every process of the node (workers started later inherit it)."""
        for pid in _session_pids(self.proc.pid):
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, pid, 0)

    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class LocalRayCluster:
    """A head and extra nodes on loopback addresses, started with ``ray start`` and always killed by :meth:`stop`."""

    num_cpus: int = 1
    object_store_bytes: int = 150 * 1024 * 1024
    env: dict[str, str] = field(default_factory=dict)
    temp_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="vwray", dir="/tmp")))
    port: int = field(default_factory=free_port)
    nodes: list[RayNode] = field(default_factory=list)
    joined: int = 0

    @property
    def address(self) -> str:
        return f"{HEAD_IP}:{self.port}"

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self.env, **LOOPBACK_ENV, **_SLOW_START_ENV}

    def _start(self, name: str, args: list[str], ip: str = HEAD_IP) -> RayNode:
        log = self.temp_dir / f"{name}.log"
        common = ["--block", f"--node-ip-address={ip}", f"--num-cpus={self.num_cpus}",
                  f"--object-store-memory={self.object_store_bytes}", "--disable-usage-stats", *_node_ports()]
        with open(log, "wb") as out:
            proc = subprocess.Popen([_ray_executable(), "start", *args, *common], env=self._env(),
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, preexec_fn=_start_boost)
        node = RayNode(proc, log)
        threading.Thread(target=_prime_agent_port, args=(proc.pid, node.stop_priming), daemon=True).start()
        self.nodes.append(node)
        return node

    def start_head(self) -> RayNode:
        return self._start("head", ["--head", f"--port={self.port}", f"--temp-dir={self.temp_dir}",
                                    "--include-dashboard=false", f"--ray-client-server-port={free_port()}",
                                    f"--dashboard-port={free_port()}"])

    def add_node(self) -> RayNode:
        self.joined += 1
        return self._start(f"node{self.joined}", [f"--address={self.address}"], ip=f"127.0.0.{self.joined + 2}")

    def wait_nodes(self, count: int, timeout: float = 240) -> None:
        """Wait until ``count`` nodes are alive in the cluster (queried from a short-lived driver process)."""
        probe = ("import ray,sys; ray.init(address=sys.argv[1], log_to_driver=False, logging_level='ERROR'); "
                 "print(sum(n['Alive'] for n in ray.nodes()))")
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            dead = [n for n in self.nodes if not n.alive()]
            if dead:
                raise RuntimeError(f"a Ray node exited during start-up:\n{self.logs()}")
            try:
                out = subprocess.run([sys.executable, "-c", probe, self.address], env=self._env(), timeout=120,
                                     capture_output=True, text=True)
                last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-2000:]
                if out.returncode == 0 and int(last) >= count:
                    for node in self.nodes:
                        node.settle()
                    return
            except (subprocess.TimeoutExpired, ValueError):
                pass
            time.sleep(1)
        raise RuntimeError(f"the Ray cluster did not reach {count} nodes in {timeout:.0f} s ({last}):\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {n.log.name}\n{n.log.read_text(errors='replace')[-3000:]}" for n in self.nodes
                         if n.log.exists())

    def stop(self) -> None:
        """Kill every node (workers first, then the head) and remove the cluster's temp dir."""
        for node in reversed(self.nodes):
            node.kill()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def start_cluster(nodes: int = 2, attempts: int = 3, **kwargs) -> LocalRayCluster:
    """A running cluster of ``nodes`` nodes (head included); stopped again if start-up fails.

    On a loaded machine a raylet can abort at start (it waits a fixed 15 s for its Python agent): each node
    is tried up to ``attempts`` times, after warming the page cache with the agent's imports."""
    subprocess.run([sys.executable, "-c", "import ray.dashboard.agent"], env={**os.environ, **LOOPBACK_ENV},
                   capture_output=True, timeout=300)
    for attempt in range(attempts):
        cluster = LocalRayCluster(**kwargs)
        try:
            cluster.start_head()
            cluster.wait_nodes(1)
            break
        except RuntimeError:
            cluster.stop()
            if attempt == attempts - 1:
                raise
    try:
        for _ in range(nodes - 1):
            for attempt in range(attempts):
                node = cluster.add_node()
                try:
                    cluster.wait_nodes(len(cluster.nodes))
                    break
                except RuntimeError:
                    node.kill()
                    cluster.nodes.remove(node)
                    if attempt == attempts - 1:
                        raise
    except BaseException:
        cluster.stop()
        raise
    return cluster
