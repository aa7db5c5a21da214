"""The terminal table of a benchmark run."""

from __future__ import annotations

from typing import Any


def _value(stats: dict[str, Any] | None) -> str:
    if not stats:
        return "-"
    return f"{stats['median']:.4g} ±{stats['spread'] * 50:.0f}%"


def _ratio(value: float | None, target: float | None) -> str:
    if value is None:
        return "-"
    text = f"{value:.2f}x"
    if target is not None:
        text += " ok" if value >= target else f" <{target:g}x!"
    return text


def format_table(rows: list[dict[str, Any]]) -> str:
    """Medians (± half the max-min spread) and the project's ratios with their targets.

    Ratios read "times better than" (for latencies, other / project), paired by repeat.
    """
    header = ("figure", "unit", "project", "reference", "raw redis-py", "vs ref", "vs raw")
    lines = [header]
    for row in rows:
        lines.append(
            (
                row["label"],
                row["unit"] + ("" if row["higher_is_better"] else " (lower=better)"),
                _value(row["project"]),
                _value(row["reference"]),
                _value(row["raw"]),
                _ratio(row["vs_reference"], row["target_vs_reference"]),
                _ratio(row["vs_raw"], row["target_vs_raw"]),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                             for i, (cell, w) in enumerate(zip(line, widths))))  # fmt: skip
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def format_markdown(rows: list[dict[str, Any]]) -> str:
    """The same table in Markdown (for tools/bench/README.md)."""
    header = ("figure", "unit", "project", "reference", "raw redis-py", "vs ref", "vs raw")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = (
            row["label"],
            row["unit"] + ("" if row["higher_is_better"] else " (lower=better)"),
            _value(row["project"]),
            _value(row["reference"]),
            _value(row["raw"]),
            _ratio(row["vs_reference"], row["target_vs_reference"]),
            _ratio(row["vs_raw"], row["target_vs_raw"]),
        )
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the Markdown table of a results file written by run.py."""
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("results", nargs="?", default="bench-results.json")
    args = parser.parse_args(argv)
    results = json.loads(Path(args.results).read_text())
    print(format_markdown(results["figures"]))
    meta = results["meta"]
    print(
        f"\n{meta['date']}, {meta['cpus']} CPUs, Python {meta['python']}, "
        f"{meta['repeats']} repeats, {meta['seconds']} s; load average at the end "
        + " ".join(f"{x:.1f}" for x in meta["load_average_at_end"])
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
