"""Markdown tables of the committed aggregates, for docs/results.md (``python -m algos tables``).

Pure functions from an aggregate root (``results/aggregate/``: one folder of tables per
experiment and ``claims.csv``) to Markdown, so that every table of the results page is made by a
command from the committed runs, and a test can require that the page holds what the command
prints (``tests/test_docs.py``).

* ``claims_table``: every row of ``claims.csv``: the claim, game, measure, effect with its
  interval, the p-value raw and adjusted for its family, the runs, where along the budget it
  holds, what would change it, whether it was registered before its runs, and the verdict.
* ``headline_table``: the primary claims alone, for the README.
* ``experiment_table``: per method and env of one experiment: the runs finished of those
  planned, their seeds, the mean raw score with its spread over seeds, and the IQM of the
  expert-normalised score, with its interval where it rests on three runs or more.
* ``tuning_table``: the tuning protocol's measures per run and its decision
  (``algos/evidence/protocol.py``), under the tuning experiment's table.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from algos.evidence.aggregate import AggregateError, read_tables
from algos.evidence.protocol import DIIQN_DEFAULT, TuningProtocol, decide, per_game, run_measures
from algos.provenance.runs import atomic_write_text

BEGIN = "<!-- tables: python -m algos tables results/aggregate --update docs/results.md -->"
END = "<!-- end of tables -->"
"""The markers around the generated block of a page (``--update`` rewrites what lies between)."""
HEADLINE_BEGIN = ("<!-- headline: python -m algos tables results/aggregate --headline "
                  "--update README.md -->")
HEADLINE_END = "<!-- end of headline -->"
"""The markers around the README's headline verdicts (``--headline --update``)."""


def _number(value: object, digits: int = 2) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(value) else f"{value:.{digits}f}"


MIN_LEVEL_RUNS = 3
"""Runs below which a cell's bootstrap interval is left out: the interval of one or two runs'
IQM is the runs themselves."""


def _interval(point: object, low: object, high: object, digits: int = 2) -> str:
    text = _number(point, digits)
    if text and _number(low) and _number(high):
        text += f" [{_number(low, digits)}, {_number(high, digits)}]"
    return text


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
              for row in rows]
    return "\n".join(lines)


def _verdict(row: object, interim: str) -> str:
    """A claim's verdict as a cell: *reproduced* in bold; a verdict read without some of the
    claim's registered seeds is marked interim (``interim``: the mark's words, or empty)."""
    verdict = "" if pd.isna(row.verdict) else str(row.verdict)
    cell = f"**{verdict}**" if verdict == "reproduced" else verdict
    if not interim or verdict == "not run":
        return cell
    if interim == "interim":
        return f"{cell} (interim)"
    return f"{cell} (interim: registered seeds missing, {interim})"


def claims_table(claims: pd.DataFrame) -> str:
    """``claims.csv`` as a Markdown table."""
    rows = []
    for row in claims.itertuples():
        def text(value: object) -> str:
            return "" if pd.isna(value) else str(value)

        rows.append([text(row.claim), text(row.env), text(row.measure),
                     _interval(row.effect, row.effect_lower, row.effect_upper),
                     _number(row.p_value, 3), _number(row.p_adjusted, 3), text(row.family),
                     text(row.runs), text(row.where), text(row.fragility),
                     text(row.pre_registered),
                     _verdict(row, text(getattr(row, "seeds_missing", None)))])
    return _markdown(["claim", "game", "measure", "effect [95 % CI]", "p", "p adjusted",
                      "family", "runs", "where", "fragility", "pre-registered", "verdict"], rows)


def headline_table(claims: pd.DataFrame) -> str:
    """The primary claims of ``claims.csv`` (each experiment's own question) as a short
    Markdown table: the README's verdicts, word for word the file's."""
    rows = []
    for row in claims[claims["family"] == "primary"].itertuples():
        def text(value: object) -> str:
            return "" if pd.isna(value) else str(value)

        rows.append([f"`{row.experiment}`", text(row.claim), text(row.env),
                     _interval(row.effect, row.effect_lower, row.effect_upper),
                     _number(row.p_adjusted, 3),
                     _verdict(row, "interim" if text(getattr(row, "seeds_missing", None)) else "")])
    return _markdown(["experiment", "claim", "game", "effect [95 % CI]", "p (adjusted)",
                      "verdict"], rows)


def experiment_table(tables: dict[str, pd.DataFrame]) -> str:
    """One experiment's runs per method and env, their scores and IQMs, as Markdown."""
    scores, cells = tables["scores"], tables["cells"].set_index(["method", "env"])
    iqm = tables["intervals_by_env"].set_index(["method", "env"])
    rows = []
    for (method, env), runs in scores.groupby(["method", "env"], sort=False):
        cell = cells.loc[(method, env)]
        raw = runs["score"]
        spread = f" ± {raw.std(ddof=1):.2f}" if len(raw) > 1 else ""
        normalised = ""
        if (method, env) in iqm.index:
            point, low, high = iqm.loc[(method, env), ["iqm", "lower", "upper"]]
            # The bootstrap interval of one or two runs is the runs themselves: left out.
            normalised = (_interval(point, low, high) if len(raw) >= MIN_LEVEL_RUNS
                          else _number(point))
        rows.append([method, env, f"{cell['finished']} of {cell['planned']}",
                     str(cell["seeds"]), f"{raw.mean():.2f}{spread}", normalised])
    return _markdown(["method", "game", "runs", "seeds", "score (mean ± sd over seeds)",
                      "IQM of the normalised score [95 % CI]"], rows)


def tuning_table(tables: dict[str, pd.DataFrame], protocol: TuningProtocol) -> str:
    """The protocol's measures per method and game (each seed's, then their mean) and the
    method its decision rule chooses, as Markdown."""
    measures = run_measures(tables["scores"], tables["curves"], protocol.head_start_until)
    means = per_game(measures)
    rows = []
    for (method, env), runs in measures.groupby(["method", "env"], sort=False):
        runs = runs.sort_values("seed")
        rows.append([method, env, " ".join(str(seed) for seed in runs["seed"]),
                     " / ".join(_number(v) for v in runs["final"]),
                     _number(means.loc[(method, env), "final"]),
                     " / ".join(_number(v) for v in runs["head_start"]),
                     _number(means.loc[(method, env), "head_start"])])
    table = _markdown(["method", "game", "seeds", "final normalised score per seed", "mean",
                       f"head start (mean normalised return to {protocol.head_start_until:,} "
                       "steps) per seed", "mean"], rows)
    _, why = decide(measures, tables["cells"], protocol)
    return f"{table}\n\nThe decision rule: {why}."


def tables_markdown(root: Path) -> str:
    """Every table of ``root``'s aggregates: the claims, then each experiment."""
    root = Path(root)
    parts = []
    claims = root / "claims.csv"
    if claims.is_file():
        parts += ["### The claims (`results/aggregate/claims.csv`)",
                  claims_table(pd.read_csv(claims))]
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            tables = read_tables(folder)
        except AggregateError:
            continue
        parts += [f"### `{folder.name}` (`results/aggregate/{folder.name}/`)",
                  experiment_table(tables)]
        if folder.name == DIIQN_DEFAULT.experiment:
            parts += [f"The tuning protocol's measures ({folder.name}; "
                      "algos/evidence/protocol.py):",
                      tuning_table(tables, DIIQN_DEFAULT)]
    if not parts:
        raise AggregateError(f"{root}: no aggregate folders and no claims.csv")
    return "\n\n".join(parts) + "\n"


def headline_markdown(root: Path) -> str:
    """``headline_table`` of ``root/claims.csv``."""
    path = Path(root) / "claims.csv"
    if not path.is_file():
        raise AggregateError(f"{path}: no such file (python -m algos claims makes it)")
    return headline_table(pd.read_csv(path)) + "\n"


def with_tables(page: str, tables: str, name: str = "the page", begin: str = BEGIN,
                end: str = END) -> str:
    """``page`` with the block between ``begin`` and ``end`` replaced by ``tables``."""
    if page.count(begin) != 1 or page.count(end) != 1 or page.index(begin) > page.index(end):
        raise AggregateError(f"{name}: needs one line {begin!r} and, after it, one {end!r}")
    head, rest = page.split(begin)
    _, tail = rest.split(end)
    return f"{head}{begin}\n\n{tables}\n{end}{tail}"


def update_page(page: Path, root: Path, headline: bool = False) -> None:
    """Write every table of ``root``'s aggregates (``tables_markdown``), or with ``headline``
    its primary claims (``headline_markdown``), into the Markdown file ``page``, between its
    markers (``with_tables``)."""
    tables = headline_markdown(root) if headline else tables_markdown(root)
    markers = {"begin": HEADLINE_BEGIN, "end": HEADLINE_END} if headline else {}
    try:
        text = Path(page).read_text()
    except OSError as err:
        raise AggregateError(f"--update {page}: cannot read ({err.strerror})") from None
    atomic_write_text(page, with_tables(text, tables, str(page), **markers))
