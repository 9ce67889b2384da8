"""The bench's outputs: the table printed (rich), the Markdown table written between the
results markers of bench/README.md and docs/performance.md, and the JSON of results.json
(NaN and infinities as null)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from common import BENCH, ROOT, Results, fmt_mb, fmt_s, log

README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def print_table(res: Results, machine: dict, total_s: float, out: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(160, Console().width))
    table = Table(title=f"titanic-reg bench — {machine['cpu_model']}, {machine['logical_cpus']} cores, "
                        f"Python {machine['python']}, torch {machine['torch']}, {machine['date']}",
                  show_lines=False)
    for col, kw in (("part", {"justify": "center"}), ("measure", {}), ("result", {}), ("target", {}),
                    ("verdict", {"justify": "center"})):
        table.add_column(col, **kw)
    last = None
    for r in res.rows:
        if last is not None and r["part"] != last:
            table.add_section()
        last = r["part"]
        v = r["verdict"]
        table.add_row(r["part"], r["label"], r["shown"], r["target"],
                      f"[green]{v}[/]" if v == "met" else (f"[bold red]{v}[/]" if v else ""))
    console.print(table)
    console.print(f"total bench time {fmt_s(total_s)}; load average {machine.get('loadavg_start')} → "
                  f"{machine.get('loadavg_end')}; results in {out}")


def markdown_table(res: Results, machine: dict, total_s: float, cmd: str) -> str:
    lines = [f"Machine: {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs, "
             f"{fmt_mb(machine.get('mem_total_mb'))} RAM; {machine['os']}; Python {machine['python']}, "
             f"torch {machine['torch']}, scikit-learn {machine['scikit-learn']}, {machine.get('libreoffice', '')}; "
             f"git {machine.get('git', '?')}; {machine['date']}; load average {machine.get('loadavg_start')} at start, "
             f"{machine.get('loadavg_end')} at end; `{cmd}` took {fmt_s(total_s)}.",
             "", "| part | measure | result | target | verdict |", "| --- | --- | --- | --- | --- |"]
    for r in res.rows:
        cells = [r["part"], r["label"], r["shown"], r["target"], f"**{r['verdict']}**" if r["verdict"] else ""]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def update_readme(md: str) -> None:
    """The table between the results markers of bench/README.md and of docs/performance.md
    (the project README links there)."""
    for path in (BENCH / "README.md", ROOT / "docs" / "performance.md"):
        text = path.read_text() if path.exists() else ""
        if README_START in text and README_END in text:
            head, rest = text.split(README_START, 1)
            _, tail = rest.split(README_END, 1)
            path.write_text(f"{head}{README_START}\n{md}\n{README_END}{tail}")
        else:
            log(f"{path.relative_to(ROOT)} has no results markers; not updated")


def _clean(o):
    """JSON-ready: NaN and infinities become null."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def _json_default(o):
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return str(o)


def write_json(path, doc: dict) -> None:
    Path(path).write_text(json.dumps(_clean(doc), indent=2, default=_json_default, allow_nan=False) + "\n")
