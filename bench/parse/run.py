"""``make bench-parse``: Chimera's DAG factory against astronomer's dag-factory and the raw limit.

Generates N intents × 5 objects (5,000 DAGs by default), builds Chimera's DAGs from them once to
check they are all valid, declares the same DAGs for dag-factory (YAML) and for a plain Python
loop (the raw limit), then times each side's DAG file through Airflow's own ``BundleDagBag`` in
fresh processes, several runs interleaved, and reports the medians as seconds per 1,000 DAGs and
as ratios. Correctness is checked (DAG counts, no import errors, identical DAGs on every side);
speed is only reported, never asserted.

Run it with the benchmark environment (``.bench/venv``: the locked dependencies, Chimera and
dag-factory): ``make bench-parse`` or ``.bench/venv/bin/python bench/parse/run.py --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHIMERA_DAG_FILE = REPO / "dags" / "chimera_pipelines.py"
CHIMERA_ERRORS_FILE = REPO / "dags" / "chimera_intent_errors.py"
TARGET_RATIO = 0.25  # Chimera parses in at most a quarter of dag-factory's time
TARGET_VS_RAW = 1.25  # and in at most 1.25x the plain loop's

ASYMMETRIES = [
    (
        "Chimera validates every intent against its contract (Pydantic) before building; dag-factory "
        "only loads YAML; the raw limit only reads one JSON list."
    ),
    (
        "Chimera's task is its IngestOperator carrying the validated pipeline; "
        "dag-factory's and the raw limit's is a PythonOperator whose op_kwargs carry the same configuration."
    ),
    "dag-factory appends each DAG's YAML to its doc_md and adds a 'dagfactory' tag (its own behaviour).",
    (
        "Inputs: Chimera reads 1 JSON intent per 5 DAGs, dag-factory 1 YAML file per 5 DAGs, the raw "
        "limit one JSON list; all three are declared from the same DAGs (see generate.py)."
    ),
]


@dataclass
class Side:
    key: str
    label: str
    dag_file: Path
    bundle: Path
    expect_dags: int
    repeat: int = 2
    source: Path | None = None  # folder copied afresh for each cold run
    intents_env: bool = False  # point [chimera] intents_dir at the copy
    samples: dict[str, list[float]] = field(default_factory=dict)


def _env(run_dir: Path, bundle: Path, intents: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYICEBERG_"))}
    # A deployment's DAG processor imports from bytecode caches; without them every parse would
    # also compile each imported module (the warm-up run writes them).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for name in ("home", "cache", "tmp"):
        (run_dir / name).mkdir(parents=True, exist_ok=True)
    env.update(
        AIRFLOW_HOME=str(run_dir / "home"),
        XDG_CACHE_HOME=str(run_dir / "cache"),
        TMPDIR=str(run_dir / "tmp"),
        AIRFLOW__CORE__DAGS_FOLDER=str(bundle),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="0",  # one file of 5,000 DAGs may take longer than the 30 s default
        AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY="False",
        DO_NOT_TRACK="1",
        SCARF_NO_ANALYTICS="true",
    )
    if intents is not None:
        env["AIRFLOW__CHIMERA__INTENTS_DIR"] = str(intents)
    return env


def _worker(side: Side, run_dir: Path, *, repeat: int, serialize: bool, signatures: Path | None = None,
            profile: Path | None = None) -> dict:
    """One fresh process parsing the side's DAG file; its input is (or was) copied into ``run_dir``."""
    dag_file, bundle, intents = side.dag_file, side.bundle, None
    if side.source is not None:
        copy = run_dir / "input"
        if not copy.exists():
            shutil.copytree(side.source, copy)
        if side.intents_env:
            intents = copy
        else:
            dag_file, bundle = copy / side.dag_file.name, copy
    out = run_dir / f"result-{time.monotonic_ns()}.json"
    cmd = [sys.executable, str(HERE / "worker.py"), "--dag-file", str(dag_file), "--bundle", str(bundle),
           "--repeat", str(repeat), "--out", str(out)]
    if serialize:
        cmd.append("--serialize")
    if signatures:
        cmd += ["--signatures", str(signatures)]
    if profile:
        cmd += ["--profile", str(profile)]
    log = run_dir / "worker.log"
    with log.open("a") as stream:
        code = subprocess.run(cmd, check=False, env=_env(run_dir, bundle, intents), stdout=stream, stderr=stream).returncode
    if code != 0 or not out.exists():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"{side.label}: the parsing process failed (exit {code}); last lines of {log}:\n{tail}")
    result = json.loads(out.read_text())
    if result["import_errors"]:
        errors = "\n".join(f"{f}: {e}" for f, e in result["import_errors"].items())
        raise SystemExit(f"{side.label}: import errors while parsing {dag_file}:\n{errors[-4000:]}")
    if result["dags"] != side.expect_dags:
        raise SystemExit(f"{side.label}: expected {side.expect_dags} DAGs, the DagBag holds {result['dags']}")
    return result


def _compare(signatures: dict[str, Path]) -> list[str]:
    """Differences between the DAGs the sides built (empty when they are the same)."""
    loaded = {key: {s[0]: s for s in json.loads(path.read_text())} for key, path in signatures.items()}
    (ref_key, ref), *others = loaded.items()
    problems = []
    for key, sigs in others:
        missing, extra = sorted(ref.keys() - sigs.keys()), sorted(sigs.keys() - ref.keys())
        if missing or extra:
            problems.append(f"{key}: DAG ids differ from {ref_key}: missing {missing[:5]}, extra {extra[:5]}")
            continue
        differing = [i for i in ref if ref[i] != sigs[i]]
        for i in differing[:3]:
            problems.append(f"{key}: {i} differs from {ref_key}:\n    {ref_key}: {ref[i]}\n    {key}: {sigs[i]}")
        if len(differing) > 3:
            problems.append(f"{key}: {len(differing)} DAGs differ from {ref_key} in all")
    return problems


def _build_chimera_dags(intents: Path, home: Path) -> dict:
    """Chimera's DAGs for the generated intents, built in this process (the peers are declared from them)."""
    env = _env(home, CHIMERA_DAG_FILE.parent, intents)
    os.environ.clear()
    os.environ.update(env)
    from airflow_provider_chimera.factory import build_dags
    from airflow_provider_chimera.pipelines import discover

    found = discover(intents)
    if found.errors:
        raise SystemExit("generated intents were rejected:\n" + "\n".join(str(e) for e in found.errors[:5]))
    return build_dags(intents)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _profile_report(path: Path, out: Path) -> str:
    import io
    import pstats

    text = io.StringIO()
    stats = pstats.Stats(str(path), stream=text)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats("airflow_provider_chimera", 25)
    out.write_text(text.getvalue())
    return text.getvalue()


def _versions() -> dict:
    from importlib.metadata import version

    return {name: version(name) for name in ("apache-airflow", "dag-factory", "airflow-provider-chimera", "pydantic")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intents", type=int, default=1000, help="intents to generate, 5 objects each (1000)")
    parser.add_argument("--runs", type=int, default=5, help="cold runs per side, interleaved (5)")
    parser.add_argument("--out", type=Path, default=REPO / ".bench" / "results" / "parse.json")
    parser.add_argument("--no-serialize", action="store_true", help="skip timing the DAG serialization")
    parser.add_argument("--profile", action="store_true",
                        help="profile one Chimera parse even when the target is met (always done when it is not)")
    parser.add_argument("--keep", action="store_true", help="keep the generated folder")
    args = parser.parse_args()

    from generate import OBJECTS_PER_INTENT, write_intents, write_peers
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 150))
    dags_expected = args.intents * OBJECTS_PER_INTENT
    work = Path(tempfile.mkdtemp(prefix="chimera-bench-parse-"))
    try:
        started = time.perf_counter()
        console.print(f"generating {args.intents} intents × {OBJECTS_PER_INTENT} objects in {work}")
        pipelines = write_intents(work / "intents", args.intents)
        dags = _build_chimera_dags(work / "intents", work / "generator")
        expected_ids = {i for configs in pipelines.values() for i in configs}
        if set(dags) != expected_ids:
            raise SystemExit(f"Chimera built {len(dags)} DAGs; ids differ from the intents' pipelines: "
                             f"{sorted(set(dags) ^ expected_ids)[:5]}")
        write_peers(work, dags, pipelines)
        del dags
        console.print(f"  {dags_expected} DAGs declared three ways ({time.perf_counter() - started:.0f} s)")

        chimera = Side("chimera", "Chimera", CHIMERA_DAG_FILE, CHIMERA_DAG_FILE.parent, dags_expected,
                       source=work / "intents", intents_env=True)
        dagfactory = Side("dagfactory", "dag-factory", work / "dagfactory" / "dagfactory_dags.py",
                          work / "dagfactory", dags_expected, source=work / "dagfactory")
        raw = Side("raw", "raw limit", work / "raw" / "raw_dags.py", work / "raw", dags_expected, source=work / "raw")
        sides = [chimera, dagfactory, raw]
        errors_side = None
        if CHIMERA_ERRORS_FILE.exists():
            errors_side = Side("chimera_errors", "Chimera error-report file", CHIMERA_ERRORS_FILE,
                               CHIMERA_ERRORS_FILE.parent, 0, repeat=1, source=work / "intents", intents_env=True)

        # Warm-up, untimed: writes the bytecode caches and checks that every side builds the same DAGs.
        console.print("warm-up: " + ", ".join(s.label for s in sides))
        signatures = {s.key: work / f"signatures-{s.key}.json" for s in sides}
        for side in sides + ([errors_side] if errors_side else []):
            run_dir = work / "runs" / f"warmup-{side.key}"
            _worker(side, run_dir, repeat=1, serialize=False, signatures=signatures.get(side.key))
            shutil.rmtree(run_dir, ignore_errors=True)
        equivalence = _compare(signatures)
        if any("DAG ids differ" in p for p in equivalence):
            raise SystemExit("the sides built different DAGs:\n" + "\n".join(equivalence))

        io_calls: dict[str, dict] = {}
        for round_no in range(args.runs):
            order = sides[round_no % len(sides):] + sides[: round_no % len(sides)]
            console.print(f"run {round_no + 1}/{args.runs}: " + ", ".join(s.label for s in order))
            for side in order:
                run_dir = work / "runs" / f"{round_no}-{side.key}"
                result = _worker(side, run_dir, repeat=side.repeat, serialize=not args.no_serialize)
                side.samples.setdefault("cold", []).append(result["runs"][0]["parse_s"])
                if len(result["runs"]) > 1:
                    side.samples.setdefault("warm_same_process", []).append(result["runs"][1]["parse_s"])
                if "serialize_s" in result["runs"][0]:
                    side.samples.setdefault("serialize", []).append(result["runs"][0]["serialize_s"])
                for event, count in result["io_calls"].items():
                    io_calls.setdefault(side.key, {}).setdefault(event, 0)
                    io_calls[side.key][event] += count
                if side is chimera:
                    # A new process on the same AIRFLOW_HOME, cache and temp folders: shows any cache
                    # that outlives the parsing process (the DAG processor forks one per file parse).
                    primed = _worker(side, run_dir, repeat=1, serialize=False)
                    side.samples.setdefault("fresh_process_primed", []).append(primed["runs"][0]["parse_s"])
                    if errors_side is not None:
                        errors_dir = work / "runs" / f"{round_no}-{errors_side.key}"
                        errors = _worker(errors_side, errors_dir, repeat=1, serialize=False)
                        errors_side.samples.setdefault("cold", []).append(errors["runs"][0]["parse_s"])
                        shutil.rmtree(errors_dir, ignore_errors=True)
                shutil.rmtree(run_dir, ignore_errors=True)

        per_k = 1000 / dags_expected
        med = {s.key: {kind: _median(v) for kind, v in s.samples.items()} for s in sides}
        ratio = {
            "chimera_vs_dagfactory": med["chimera"]["cold"] / med["dagfactory"]["cold"],
            "chimera_vs_raw": med["chimera"]["cold"] / med["raw"]["cold"],
            "dagfactory_vs_raw": med["dagfactory"]["cold"] / med["raw"]["cold"],
            "chimera_warm_vs_dagfactory_warm":
                med["chimera"]["warm_same_process"] / med["dagfactory"]["warm_same_process"],
            "chimera_primed_vs_dagfactory": med["chimera"]["fresh_process_primed"] / med["dagfactory"]["cold"],
        }
        target_met = ratio["chimera_vs_dagfactory"] <= TARGET_RATIO and ratio["chimera_vs_raw"] <= TARGET_VS_RAW

        table = Table(title=f"Parse cost through Airflow's DagBag: {dags_expected} DAGs, median of {args.runs} runs")
        for column in ("side", "parse", "DAGs", "median s", "s / 1,000 DAGs", "min–max s", "× dag-factory",
                       "× raw", "serialize s / 1,000"):
            table.add_column(column, justify="left" if column in ("side", "parse") else "right")
        rows = [
            (chimera, "cold", "fresh process"),
            (chimera, "fresh_process_primed", "fresh process, caches on disk kept"),
            (chimera, "warm_same_process", "2nd parse, same process"),
            (dagfactory, "cold", "fresh process"),
            (dagfactory, "warm_same_process", "2nd parse, same process"),
            (raw, "cold", "fresh process"),
            (raw, "warm_same_process", "2nd parse, same process"),
        ]
        for side, kind, what in rows:
            values = side.samples[kind]
            m = med[side.key][kind]
            df = med["dagfactory"][kind if kind != "fresh_process_primed" else "cold"]
            rw = med["raw"][kind if kind != "fresh_process_primed" else "cold"]
            serialize = med[side.key].get("serialize") if kind == "cold" else None
            table.add_row(
                side.label, what, str(side.expect_dags), f"{m:.2f}", f"{m * per_k:.2f}",
                f"{min(values):.2f}–{max(values):.2f}", f"{m / df:.2f}", f"{m / rw:.2f}",
                f"{serialize * per_k:.2f}" if serialize is not None else "",
            )
        console.print(table)
        def verdict(value: float, target: float) -> str:
            return f"target ≤ {target:.2f}: {'met' if value <= target else 'NOT met'}"

        console.print(
            f"Chimera / dag-factory = [bold]{ratio['chimera_vs_dagfactory']:.2f}[/bold] "
            f"({verdict(ratio['chimera_vs_dagfactory'], TARGET_RATIO)}); Chimera / raw = "
            f"[bold]{ratio['chimera_vs_raw']:.2f}[/bold] ({verdict(ratio['chimera_vs_raw'], TARGET_VS_RAW)}); "
            f"dag-factory / raw = {ratio['dagfactory_vs_raw']:.2f}"
        )
        if errors_side is not None:
            e = _median(errors_side.samples["cold"])
            console.print(
                f"{CHIMERA_ERRORS_FILE.relative_to(REPO)} (0 DAGs; the DAG processor parses it in its own process "
                f"too): {e:.2f} s, so a full Chimera parse cycle costs {(med['chimera']['cold'] + e) * per_k:.2f} s "
                f"of CPU per 1,000 DAGs ({(med['chimera']['cold'] + e) / med['dagfactory']['cold']:.2f} × dag-factory)"
            )
        console.print("Serialization (what the DAG processor does after parsing, the same for every side's "
                      "DAGs) is timed apart and not in the ratios." if not args.no_serialize else "")
        console.print("Network/database calls seen while parsing (socket connect/getaddrinfo, sqlite3 connect, "
                      "subprocess): " + (", ".join(f"{k}: {v}" for k, v in io_calls.items()) or "none"))
        console.print("Same DAGs on every side (ids, schedules, run settings, tags, params, task owner/retries/timeout/pool/"
                      "priority, inlets, outlets): " + ("yes" if not equivalence else "NO:\n" + "\n".join(equivalence)))
        console.print("Asymmetries:\n" + "\n".join(f"  - {a}" for a in ASYMMETRIES))

        profile_text = None
        if args.profile or not target_met:
            profile = args.out.parent / "parse-chimera.prof"
            profile.parent.mkdir(parents=True, exist_ok=True)
            _worker(chimera, work / "runs" / "profile", repeat=1, serialize=False, profile=profile)
            report = args.out.parent / "parse-chimera-profile.txt"
            profile_text = _profile_report(profile, report)
            console.print(f"Chimera's parse profiled (cProfile): {profile}, top functions in {report}")

        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "intents": args.intents,
            "objects_per_intent": OBJECTS_PER_INTENT,
            "dags_per_side": dags_expected,
            "runs": args.runs,
            "seconds": {s.key: s.samples for s in sides}
            | ({"chimera_errors_file": errors_side.samples} if errors_side else {}),
            "median_seconds": med,
            "seconds_per_1000_dags": {k: {kind: v * per_k for kind, v in m.items()} for k, m in med.items()},
            "ratios": ratio,
            "target_ratio": TARGET_RATIO,
            "target_vs_raw": TARGET_VS_RAW,
            "target_met": target_met,
            "io_calls_while_parsing": io_calls,
            "equivalence_problems": equivalence,
            "asymmetries": ASYMMETRIES,
            "profile": profile_text is not None,
            "versions": _versions(),
            "python": platform.python_version(),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        }, indent=2))
        console.print(f"results: {args.out}")
    finally:
        if args.keep:
            console.print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
