"""Silence benchmark: how each silence detector does on real and synthetic homes.

    python -m bench.silence --ordonez DIR [--full] [--markdown] [--jobs 2] [--results FILE]
    python -m bench.silence --ordonez DIR --export OUT   # write the replay inputs, run nothing

See bench/README.md for the data, the method and what the columns mean.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from bench.homes.model import Dataset
from bench.homes.ordonez import load_ordonez_a
from bench.homes.synthetic_events import synthetic_community
from bench.silence.metrics import Score, score_window, summarize
from bench.silence.plan import VARIANTS, Job, door_kind, plan_jobs
from bench.silence.replay import DEFAULT_COMMAND, Replayer, ReplayError, replay_available
from bench.silence.report import Row, render_markdown, render_text
from bench.silence.results import score_rows, write_results

DETECTORS = ("day", "24h", "48h", "adaptive")
QUICK = {"residents": 12, "days": 28, "rounds": 1, "real_incidents": 12}
FULL = {"residents": 40, "days": 90, "rounds": 2, "real_incidents": 40}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.silence", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ordonez", type=Path, help="folder with OrdonezA_Sensors.txt and "
                   "OrdonezA_ADLs.txt (real home A; skipped when not given)")
    p.add_argument("--no-synthetic", action="store_true", help="real homes only")
    p.add_argument("--full", action="store_true",
                   help="the long run: " + ", ".join(f"{k} {v}" for k, v in FULL.items()))
    p.add_argument("--residents", type=int, help=f"synthetic residents ({QUICK['residents']})")
    p.add_argument("--days", type=int, help=f"synthetic days ({QUICK['days']})")
    p.add_argument("--rounds", type=int, help="synthetic rounds: each gives half the "
                   f"residents an incident, the others none ({QUICK['rounds']})")
    p.add_argument("--real-incidents", type=int,
                   help=f"incidents per real home ({QUICK['real_incidents']})")
    p.add_argument("--detectors", default=",".join(DETECTORS),
                   help="values of LINLI_RULES__SILENCE__DETECTOR; 'default' leaves it unset")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=2, help="replays at once (2)")
    p.add_argument("--markdown", action="store_true", help="also print the table in markdown")
    p.add_argument("--results", type=Path, help="write every scored window as JSON lines")
    p.add_argument("--export", type=Path, help="write each replay's inputs there and stop")
    p.add_argument("--keep", action="store_true", help="keep the replays' working folder")
    p.add_argument("--replay-command", help="command instead of "
                   f"'{shlex.join(DEFAULT_COMMAND)}' (same arguments)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per replay")
    args = p.parse_args(argv)
    sizes = FULL if args.full else QUICK
    for key, value in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def load_datasets(args: argparse.Namespace) -> list[Dataset]:
    datasets = []
    if args.ordonez:
        datasets.append(load_ordonez_a(args.ordonez))
    if not args.no_synthetic:
        datasets.append(synthetic_community(residents=args.residents, days=args.days,
                                            seed=args.seed))
    return datasets


def plan(args: argparse.Namespace, datasets: list[Dataset]) -> list[Job]:
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    jobs = []
    for dataset in datasets:
        # a real home: one replay, a baseline copy and one copy per incident
        rounds, copies = (1, 1 + args.real_incidents) if dataset.real else (args.rounds, 1)
        incidents = not dataset.real or args.real_incidents > 0
        for variant in variants:
            jobs += plan_jobs(dataset, variant, rounds=rounds, copies=copies, seed=args.seed,
                              incidents=incidents)
    return jobs


def run(args: argparse.Namespace, jobs: list[Job], detectors: list[str],
        workdir: Path) -> dict[tuple[str, str], list[tuple[Job, list[Score]]]]:
    """Every job × detector; scores grouped by (job key, detector)."""
    command = shlex.split(args.replay_command) if args.replay_command else list(DEFAULT_COMMAND)
    problem = replay_available(command)
    if problem is not None:
        raise SystemExit(f"the replay command does not run ({shlex.join(command)}): {problem}; "
                         "is 'linli rules replay' in this checkout? (else --replay-command)")
    inputs = {}
    for n, job in enumerate(jobs):
        folder = workdir / f"{n:02d}-{job.key.replace('/', '-').replace('+', '-')}"
        inputs[job.key] = (folder, job.write(folder))
    results: dict[tuple[str, str], list[tuple[Job, list[Score]]]] = defaultdict(list)
    # the longest replays first, so that the last ones running are short
    tasks = [(job, d) for job in sorted(jobs, key=lambda j: -len(j.dataset.events))
             for d in detectors]
    with Replayer(command, timeout_s=args.timeout) as replayer, \
            ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {}
        for job, detector in tasks:
            folder, paths = inputs[job.key]
            futures[pool.submit(_replay_one, replayer, job, detector, folder, paths)] = (job,
                                                                                       detector)
        try:
            for done, future in enumerate(as_completed(futures), 1):
                job, detector = futures[future]
                scores, lines, seconds = future.result()
                results[(job.key, detector)].append((job, scores))
                print(f"[{done}/{len(tasks)}] {job.key} {detector}: {lines} alert lines, "
                      f"{seconds:.0f} s", file=sys.stderr, flush=True)
        except BaseException:
            pool.shutdown(cancel_futures=True)  # one failed: the queued ones would too
            raise
    return results


def _replay_one(replayer: Replayer, job: Job, detector: str, folder: Path,
                paths: dict[str, Path]) -> tuple[list[Score], int, float]:
    started = time.monotonic()
    lines = replayer.replay(community=paths["community"], events=[paths["events"]],
                            until=job.until, detector=detector, workdir=folder)
    scores = [score_window(lines, w) for w in job.windows]
    return scores, len(lines), time.monotonic() - started


def table_rows(datasets: list[Dataset], variants: list[str], detectors: list[str],
               results: dict[tuple[str, str], list[tuple[Job, list[Score]]]]) -> list[Row]:
    rows = []
    for dataset in datasets:
        kinds = sorted({door_kind(dataset, h) for h in dataset.homes})
        groups = [("", None)] + ([(f"/{k}", k) for k in kinds] if len(kinds) > 1 else [])
        for suffix, kind in groups:
            homes = [h for h in dataset.homes if kind is None or door_kind(dataset, h) == kind]
            for variant in variants:
                for detector in detectors:
                    scores = [s for key, runs in results.items() if key[1] == detector
                              for job, scored in runs if job.source == dataset.name
                              and job.variant == variant
                              for w, s in zip(job.windows, scored, strict=True)
                              if kind is None or door_kind(job.dataset, w.home) == kind]
                    figures = summarize(scores, homes=len(homes),
                                        resident_days=sum(h.days() for h in homes))
                    label = ("real: " if dataset.real else "") + dataset.name + suffix
                    rows.append(Row(label, variant, detector, figures))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    detectors = [d.strip() for d in args.detectors.split(",") if d.strip()]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    datasets = load_datasets(args)
    if not datasets:
        raise SystemExit("nothing to run: give --ordonez DIR or leave the synthetic homes on")
    jobs = plan(args, datasets)
    if args.export:
        for n, job in enumerate(jobs):
            job.write(args.export / f"{n:02d}-{job.key.replace('/', '-').replace('+', '-')}")
        print(f"wrote {len(jobs)} replays' inputs to {args.export}", file=sys.stderr)
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="linli-silence-"))
    started = time.monotonic()
    try:
        results = run(args, jobs, detectors, workdir)
    except ReplayError as exc:
        print(f"bench.silence: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"replay inputs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    rows = table_rows(datasets, variants, detectors, results)
    for dataset in datasets:
        print(f"# {dataset.name}: {'; '.join(dataset.notes)}")
    print(f"# {len(jobs) * len(detectors)} replays in {time.monotonic() - started:.0f} s; "
          f"seed {args.seed}")
    print(render_text(rows))
    if args.markdown:
        print()
        print(render_markdown(rows))
    if args.results:
        write_results(args.results, score_rows(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
