"""Editions to benchmark: generate the synthetic trees, build each once, cache the dist.

A 1M-quad build takes minutes, so a built dist is kept under ``build/bench/<size>/`` and reused
while the release inputs (ontology/, data/, shapes/ and the generator) are unchanged; the
timings recorded at that build are reported with ``cached: true``. ``--rebuild`` forces a build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emkbench import procs
from emkbench.paths import BENCH, PROJECT_PYTHON, ROOT, parse_size

INPUT_DIRS = ("ontology", "data", "shapes")
KiB = 1024


@dataclass(frozen=True)
class Edition:
    """One built size: where its dist is and what its build recorded."""

    size: str
    dist: Path
    info: dict[str, Any]

    @property
    def quads(self) -> int:
        return int(self.info.get("quads", 0))


def input_key(size: str) -> str:
    """Digest of everything the release at ``size`` is built from (not the build's code)."""
    digest = hashlib.sha256(size.encode())
    for name in INPUT_DIRS:
        for path in sorted((ROOT / name).rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(ROOT).as_posix().encode())
                digest.update(path.read_bytes())
    if parse_size(size) is not None:
        digest.update((BENCH / "synthetic.py").read_bytes())
    return digest.hexdigest()


def prepare(size: str, cache: Path, rebuild: bool) -> Edition:
    """Return the built edition for ``size``, building it unless a matching one is cached."""
    home = cache / size
    key = input_key(size)
    record = home / "build.json"
    if not rebuild and record.is_file() and (home / "dist" / "manifest.json").is_file():
        info = json.loads(record.read_text(encoding="utf-8"))
        if info.get("input_key") == key:
            return Edition(size, home / "dist", {**info, "cached": True})
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    log = home / "build.log"  # kept: the run's temporary folder is gone when a build fails
    info = {"input_key": key, "code": code_version(), **_generate_and_build(size, home, log)}
    record.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return Edition(size, home / "dist", {**info, "cached": False})


def _generate_and_build(size: str, home: Path, log: Path) -> dict[str, Any]:
    """Write the synthetic tree (if any), then build it in a child process."""
    target = parse_size(size)
    info: dict[str, Any] = {"target_quads": target}
    tree = ROOT
    if target is not None:
        tree = home / "tree"
        started = time.perf_counter()
        command = [str(PROJECT_PYTHON), str(BENCH / "synthetic.py")]
        out = _run_logged([*command, "--triples", str(target), "--out", str(tree)], log)
        info["generate_s"] = round(time.perf_counter() - started, 3)
        info["synthetic"] = json.loads(out)
    # -I: isolated, so neither the script's folder nor the environment shadows a module.
    child = [str(PROJECT_PYTHON), "-I", str(BENCH / "emkbench" / "build_child.py")]
    started = time.perf_counter()
    out, memory = _run_measured([*child, str(tree), str(home / "dist")], log)
    info.update(json.loads(out.strip().splitlines()[-1]))
    info["process_wall_s"] = round(time.perf_counter() - started, 3)
    info.update(memory)
    return info


def _run_logged(command: list[str], log: Path) -> str:
    """Run ``command``, stderr appended to ``log``; return stdout or raise with the log's tail."""
    with log.open("ab") as err:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=err, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}); see {log}")
    return done.stdout.decode()


def _run_measured(command: list[str], log: Path) -> tuple[str, dict[str, Any]]:
    """Run ``command``; its stdout and memory: ``wait4``'s ru_maxrss (the largest single
    process, workers included) and the sampled peak of the whole tree's summed RSS and PSS
    (a build that forks validation workers uses their sum)."""
    out_path = log.with_suffix(".out")
    with log.open("ab") as err, out_path.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT)
        sampler = procs.MemorySampler(process.pid).start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            sampler.close()
        process.returncode = os.waitstatus_to_exitcode(status)
    text = out_path.read_text(encoding="utf-8")
    out_path.unlink()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}); see {log}")
    peaks = sampler.peaks_mb()
    memory = {
        "peak_rss_mb": round(usage.ru_maxrss / KiB, 1),
        "tree_peak_rss_mb": peaks["peak_rss_mb"],
        "tree_peak_pss_mb": peaks["peak_pss_mb"],
        "tree_processes": peaks["processes"],
    }
    return text, memory


def code_version() -> dict[str, Any]:
    """The commit the build ran on and whether src/ had local changes (timings depend on it)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "src_dirty": bool(git("status", "--porcelain", "src")),
    }
