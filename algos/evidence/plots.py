"""Figures of an aggregated experiment (seaborn on matplotlib): PNG and PDF, readable as printed.

One function per figure of ``figures.FIGURES`` (the list of figures, their captions and where
they apply), of the same name, drawing it from the aggregate's tables into ``out``.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter

from algos.algorithms import ALGORITHMS, with_trait
from algos.evidence.aggregate import AggregateError, read_tables
from algos.evidence.figures import FIGURES, figures_for
from algos.evidence.stats import aggregated_envs
from algos.provenance.runs import atomic_write, atomic_write_folder

# 250000 -> "250K": full step counts run into each other under a panel's ticks.
STEPS = FuncFormatter(
    lambda x, _: f"{x / 1e6:g}M" if abs(x) >= 1e6 else f"{x / 1e3:g}K" if abs(x) >= 1e3
    else f"{x:g}")


def _steps_axis(ax) -> None:
    ax.set_xlabel("environment steps")
    ax.xaxis.set_major_formatter(STEPS)

ALGO_ORDER = tuple(ALGORITHMS)  # each algorithm's colour: its place in the registry
PALETTE_SIZE = 10  # seaborn's colour-blind palette: four colours beyond the six algorithms'
"""The algorithms in the order of their colours."""


def palette(methods, algos=None) -> dict[str, tuple]:
    """One colour per method from seaborn's colour-blind-safe palette, in the methods' order.
    ``algos`` gives each method's algorithm (default: the label up to a "/" or a space). Where
    the methods' algorithms are the registry's, each algorithm has its own colour in every
    figure (DQN blue, DIIQN orange, HA-DIIQN green, ...), so a figure without DQN does not
    repaint the others: the method named after its algorithm (else the first) takes it, and
    the other methods of that algorithm take the colours no algorithm has. Otherwise the
    methods take the palette in order."""
    if algos is None:
        methods = list(dict.fromkeys(methods))
        algos = [m.split("/")[0].split(" ")[0] for m in methods]
    else:
        first = dict(reversed(list(zip(methods, algos, strict=True))))  # each method's algo
        methods = list(dict.fromkeys(methods))
        algos = [first[m] for m in methods]
    colors = sns.color_palette("colorblind", n_colors=max(len(methods), PALETTE_SIZE))
    if set(algos) <= set(ALGO_ORDER):
        spare = iter(colors[len(ALGO_ORDER):])  # no algorithm's own colour
        chosen: dict[str, tuple | None] = {}
        # The method named after its algorithm (the default) first, so it keeps the colour.
        for method, algo in sorted(zip(methods, algos, strict=True),
                                   key=lambda pair: pair[0] != pair[1]):
            own = colors[ALGO_ORDER.index(algo)]
            chosen[method] = own if own not in chosen.values() else next(spare, None)
        if None not in chosen.values():
            return {method: chosen[method] for method in methods}
    return dict(zip(methods, colors[: len(methods)], strict=True))


def _method_colors(table: pd.DataFrame) -> dict[str, tuple]:
    """``palette`` for a table with method and algo columns, in the table's order."""
    pairs = table[["method", "algo"]].drop_duplicates("method")
    return palette(pairs["method"], pairs["algo"])


def _save(fig, out: Path, name: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix in ("png", "pdf"):
        path = out / f"{name}.{suffix}"
        # No creation date in a PDF: a figure drawn again from the same runs is the same file.
        metadata = {"CreationDate": None} if suffix == "pdf" else {}
        atomic_write(path, lambda f, s=suffix, m=metadata: fig.savefig(
            f, format=s, dpi=150, bbox_inches="tight", metadata=m))
        paths.append(path)
    plt.close(fig)
    return paths


LEGEND_COLUMNS = 8  # five methods, the expert and random (or the markers' key) on one line


def _legend_below(fig, axes) -> None:
    """Move the panels' legends into one under all the panels, where it covers no data (each
    entry once, in the order the panels first show it: a partial experiment's first panel may
    lack a method), and lay the figure out around it."""
    entries: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    labels, handles = list(entries), list(entries.values())
    for ax in axes:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), LEGEND_COLUMNS),
               fontsize="small", frameon=False)
    rows = -(-len(labels) // LEGEND_COLUMNS)
    height = fig.get_size_inches()[1]
    fig.tight_layout(rect=(0, (0.25 + 0.22 * rows) / height, 1, 1))  # the legend's inches


def _note_partial_envs(fig, scores: pd.DataFrame) -> None:
    """A line over a figure of aggregates over envs where they leave out an env of the
    experiment (``stats.aggregated_envs``: a partial experiment), naming the envs they are
    over."""
    over = aggregated_envs(scores)
    left_out = sorted(set(scores["env"]) - set(over))
    if left_out:
        fig.text(0.5, 1.045, f"over {', '.join(over)}; not yet {', '.join(left_out)} (fewer "
                 "runs so far: cells.csv)", ha="center", va="bottom", fontsize="small")


def _warn_weak_experts(fig, scores: pd.DataFrame) -> None:
    """A line over the figure where an env's expert is not clearly above random: its
    normalised scores measure nothing."""
    weak = sorted(scores.loc[~scores["expert_above_random"].astype(bool), "env"].unique())
    if weak:
        fig.suptitle(f"WARNING: the expert of {', '.join(weak)} is not clearly better than "
                     "random; normalised scores there are meaningless", color="firebrick",
                     fontsize="small", y=1.04)


def _save_over_envs(fig, scores: pd.DataFrame, out: Path, name: str) -> list[Path]:
    """``_save`` for a figure of aggregates over envs, with its lines on weak experts and the
    envs it is over."""
    fig.tight_layout()
    _warn_weak_experts(fig, scores)
    _note_partial_envs(fig, scores)
    return _save(fig, out, name)


def learning_curves(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    curves, scores = tables["curves"], tables["scores"]
    sns.set_theme(style="whitegrid", context="notebook")
    colors = _method_colors(curves)
    games = sorted(curves["env"].unique())
    # At most three panels a row: five games in one row would be too narrow to read.
    cols = min(3, len(games))
    rows = -(-len(games) // cols)
    fig, grid = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.2 * rows), squeeze=False)
    axes = list(grid.flat)
    for ax in axes[len(games):]:
        ax.set_visible(False)
    for ax, game in zip(axes[:len(games)], games, strict=True):
        data = curves[curves["env"] == game]
        # A marker per method as well as a colour: two methods with the same curve (DIIQN with
        # no usable expert sample is DQN) would otherwise show as one line.
        sns.lineplot(data=data, x="step", y="eval_return", hue="method",
                     hue_order=list(colors), palette=colors, style="method",
                     style_order=list(colors), markers=True, dashes=False, markersize=6,
                     errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax)
        ends = scores[scores["env"] == game][["expert_return", "random_return"]].dropna()
        if len(ends):
            ax.axhline(ends["expert_return"].iloc[0], color="black", ls="--", lw=1.2,
                       label="expert")
            ax.axhline(ends["random_return"].iloc[0], color="grey", ls=":", lw=1.2,
                       label="random")
        ax.set_title(game)
        _steps_axis(ax)
        ax.set_ylabel("evaluation return (95 % CI over seeds)")
    _legend_below(fig, axes[:len(games)])
    _warn_weak_experts(fig, scores)
    return _save(fig, out, "learning_curves")


def _intervals(ax, rows: pd.DataFrame, colors: dict, point: str, low: str, high: str) -> None:
    """Horizontal interval bars, one per row (the first on top), with the point marked; a row
    without a point (NaN) is left empty."""
    for y, row in enumerate(rows.itertuples()):
        if pd.isna(getattr(row, point)):
            continue
        ax.plot([getattr(row, low), getattr(row, high)], [y, y], lw=6, alpha=0.6,
                color=colors[row.method], solid_capstyle="butt")
        ax.plot([getattr(row, point)], [y], "|", ms=14, mew=2, color="black")
    ax.set_yticks(range(len(rows)), list(rows["method"]))
    ax.set_ylim(len(rows) - 0.5, -0.5)


def aggregates(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """IQM, median, mean and optimality gap per method, from ``intervals``."""
    table = tables["intervals"]
    sns.set_theme(style="whitegrid", context="notebook")
    metrics = list(dict.fromkeys(table["metric"]))
    colors = _method_colors(tables["scores"])
    methods = [m for m in colors if m in set(table["method"])]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics),
                                                        0.6 * len(methods) + 1.6),
                             sharey=True, squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        rows = table[table["metric"] == metric].set_index("method").loc[methods].reset_index()
        _intervals(ax, rows, colors, "point", "lower", "upper")
        if metric != "optimality_gap":
            ax.axvline(1.0, color="black", ls="--", lw=1)  # the expert
        ax.set_title(metric.replace("_", " "))
        ax.set_xlabel("expert-normalised score")
    return _save_over_envs(fig, tables["scores"], out, "aggregates")


def improvement(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """P(X > Y) for every ordered pair, from ``poi``."""
    table = tables["poi"].rename(columns={"x": "method"})
    sns.set_theme(style="whitegrid", context="notebook")
    colors = _method_colors(tables["scores"])
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(table) + 1.4))
    _intervals(ax, table, colors, "probability", "lower", "upper")
    ax.set_yticks(range(len(table)), [f"P({x} > {y})" for x, y in
                                      zip(table["method"], table["y"], strict=True)])
    ax.axvline(0.5, color="black", ls="--", lw=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability of improvement (95 % CI)")
    fig.tight_layout()
    _note_partial_envs(fig, tables["scores"])
    return _save(fig, out, "improvement")


def profiles(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """Performance profiles, from ``profiles``."""
    table = tables["profiles"]
    sns.set_theme(style="whitegrid", context="notebook")
    colors = _method_colors(tables["scores"])
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for method in colors:
        rows = table[table["method"] == method]
        ax.plot(rows["tau"], rows["fraction"], color=colors[method], label=method)
        ax.fill_between(rows["tau"], rows["lower"], rows["upper"], color=colors[method],
                        alpha=0.2)
    ax.axvline(1.0, color="black", ls="--", lw=1)
    ax.set_xlabel("expert-normalised score τ (1 = the expert)")
    ax.set_ylabel("fraction of runs with score > τ")
    ax.legend(fontsize="small")
    fig.tight_layout()
    _note_partial_envs(fig, tables["scores"])
    return _save(fig, out, "profiles")


def sweep(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """Final normalised score against the swept setting (read from each run's config.json into
    ``scores``), mean over seeds with a 95 % bootstrap band, one line per method and one panel
    per env; the sweep's anchors (methods trained once, such as DQN) as horizontal lines, so
    each value reads against them. Values that are not numbers (a similarity) are categories."""
    scores = tables["scores"]
    sns.set_theme(style="whitegrid", context="notebook")
    numeric = pd.to_numeric(scores["sweep_value"], errors="coerce")
    categorical = scores["sweep_value"].notna().any() and numeric[
        scores["sweep_value"].notna()].isna().any()
    data = scores.assign(value=scores["sweep_value"] if categorical else numeric)
    swept, anchors = data.dropna(subset=["value"]), data[data["value"].isna()]
    colors = palette(data["method_base"], data["algo"])
    envs = sorted(data["env"].unique())
    fig, axes = plt.subplots(1, len(envs), figsize=(6.5 * len(envs), 4.2), squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        here = swept[swept["env"] == env]
        if categorical:
            sns.pointplot(data=here, x="value", y="normalized_score", hue="method_base",
                          hue_order=[m for m in colors if m in set(here["method_base"])],
                          palette=colors, errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax)
        else:
            sns.lineplot(data=here, x="value", y="normalized_score", hue="method_base",
                         marker="o", hue_order=[m for m in colors if m in
                                                set(here["method_base"])],
                         palette=colors, errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax)
            if here["value"].max() / max(here["value"].min(), 1e-12) >= 100:
                ax.set_xscale("log")
        for method, runs in anchors[anchors["env"] == env].groupby("method_base", sort=False):
            ax.axhline(runs["normalized_score"].mean(), color=colors[method], lw=1.5, ls=":",
                       label=f"{method} (not swept; {len(runs)} runs)")
        ax.axhline(1.0, color="black", ls="--", lw=1, label="expert")
        ax.set_xlabel(str(data["sweep_label"].dropna().iloc[0]))
        ax.set_ylabel("final expert-normalised score (95 % CI)")
        ax.set_title(env if len(envs) > 1 else "")
        ax.legend(fontsize="small")
    fig.tight_layout()
    return _save(fig, out, "sweep")


DIAGNOSTIC_PANELS = (
    ("inference_effect_accuracy", "inference accuracy (same effect)"),
    ("knn_acceptance", "share of agent states matched within τ"),
    ("expert_same_action_share", "share of expert samples with a_e = a_a"),
    ("greedy_is_expert_share", "share where the greedy action is a_e"),
    ("phi_mean", "mean confidence Φ"),
    ("delta_q_mean", "mean ΔQ"),
    ("trust_mean", "mean trust factor (δ or 1 - δ)"),
    ("expert_loss_share", "share of the loss from the expert"),
)


def diagnostics(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """The diagnostics over training (``diagnostics``) of the algorithms that declare DIIQN's
    (``confidence``): inference, matches, what the expert samples add, and Φ with its terms;
    one line per method and environment (the environment by its dashes; mean over seeds, 95 %
    band): games differ, and pooling them would also jump where one game's budget ends."""
    table = tables["diagnostics"]
    table = table[table["algo"].isin(with_trait("confidence"))]
    sns.set_theme(style="whitegrid", context="notebook")
    panels = list(DIAGNOSTIC_PANELS)
    if table.get("inference_effect_accuracy") is None or \
            table["inference_effect_accuracy"].isna().all():
        panels[0] = ("inference_accuracy", "inference accuracy (action id)")
    colors = _method_colors(table)
    style = "env" if table["env"].nunique() > 1 else None
    fig, axes = plt.subplots(2, 4, figsize=(5.0 * 4, 4.0 * 2), squeeze=False)
    for ax, (column, label) in zip(axes.ravel(), panels, strict=True):
        if column in table.columns and table[column].notna().any():
            sns.lineplot(data=table.dropna(subset=[column]), x="step", y=column, hue="method",
                         hue_order=list(colors), palette=colors, style=style,
                         errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax,
                         legend=ax is axes[0][0])
        else:
            ax.text(0.5, 0.5, "not logged by these runs", ha="center", va="center",
                    transform=ax.transAxes)
        ax.set_ylim(-0.02, 1.02)
        _steps_axis(ax)
        ax.set_ylabel("")
        ax.set_title(label, fontsize="small")
    _legend_below(fig, axes.ravel())
    return _save(fig, out, "diagnostics")


def bridging(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """The heterogeneous-action experiment, one row of panels per environment.

    From ``steps_to_threshold``: each run's first evaluation step within the threshold of the
    expert (a dot per run; runs that never got there are crosses at the budget, and the panel
    counts them). From ``diagnostics``: the share of the loss that comes from the expert (DIIQN
    and HA-DIIQN), the share of matched expert samples that are infeasible for the agent, and
    the bridges found per evaluation interval (HA-DIIQN)."""
    steps, table = tables["steps_to_threshold"], tables["diagnostics"]
    sns.set_theme(style="whitegrid", context="notebook")
    colors = _method_colors(steps)
    methods = list(colors)
    envs = sorted(steps["env"].unique())
    panels = [("expert_loss_share", "share of the loss from the expert"),
              ("infeasible_share", "share of expert samples infeasible"),
              ("bridge_hits", "bridges found per evaluation interval")]
    fig, axes = plt.subplots(len(envs), 1 + len(panels), figsize=(4.6 * (1 + len(panels)),
                                                                  4.0 * len(envs)),
                             squeeze=False)
    for row, env in zip(axes, envs, strict=True):
        data = steps[steps["env"] == env]
        ax = row[0]
        for x, method in enumerate(methods):
            runs = data[data["method"] == method]
            jitter = (runs["seed"].rank(method="first").to_numpy() - 1) * 0.08 - 0.04 * (
                len(runs) - 1)
            reached = runs["reached"].to_numpy(dtype=bool)
            ax.scatter(x + jitter[reached], runs["step"][reached], color=colors[method], s=40,
                       zorder=3)
            ax.scatter(x + jitter[~reached], runs["budget"][~reached], color=colors[method],
                       marker="x", s=50, zorder=3)
            if reached.any():
                ax.plot([x - 0.25, x + 0.25], [runs["step"][reached].median()] * 2,
                        color="black", lw=1.5)
            ax.annotate(f"{reached.sum()}/{len(runs)}", (x, 0), xycoords=("data", "axes fraction"),
                        xytext=(0, 4), textcoords="offset points", ha="center", fontsize="small")
        ax.set_xticks(range(len(methods)), methods, rotation=20, ha="right")
        ax.set_xlim(-0.6, len(methods) - 0.4)
        ax.set_ylim(bottom=0)
        threshold = data["threshold"].iloc[0] if len(data) else float("nan")
        ax.set_ylabel(f"environment steps to {threshold:.0%} of the expert")
        ax.yaxis.set_major_formatter(STEPS)
        ax.set_title(f"{env} (×: never; bar: median)", fontsize="small")
        diag = table[table["env"] == env]
        for ax, (column, label) in zip(row[1:], panels, strict=True):
            shown = diag.dropna(subset=[column]) if column in diag.columns else diag.iloc[:0]
            if len(shown):
                sns.lineplot(data=shown, x="step", y=column, hue="method", hue_order=[
                    m for m in methods if m in set(shown["method"])], palette=colors,
                    errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax)
                ax.legend(fontsize="small")
            else:
                ax.text(0.5, 0.5, "not logged by these methods", ha="center", va="center",
                        transform=ax.transAxes)
            if column != "bridge_hits":
                ax.set_ylim(-0.02, 1.02)
            _steps_axis(ax)
            ax.set_ylabel(label)
            ax.set_title(env, fontsize="small")
    fig.tight_layout()
    return _save(fig, out, "bridging")


def beyond(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """Does a method go beyond the expert, and beyond DQN? Left: the IQM of final
    expert-normalised scores per environment (95 % intervals over seeds; 1 = the expert).
    Middle: the share of runs above the expert. Right: the probability that a run of the
    method beats one of DQN."""
    by_env, table = tables["intervals_by_env"], tables["beyond"]
    sns.set_theme(style="whitegrid", context="notebook")
    colors = _method_colors(tables["scores"])
    methods = [m for m in colors if m in set(table["method"])]
    envs = sorted(by_env["env"].unique())
    # A panel per env and the two summaries, at most four panels a row (five games and the
    # summaries in one row were 26 inches wide).
    panels = len(envs) + 2
    cols = min(4, panels)
    lines = -(-panels // cols)
    fig, grid = plt.subplots(lines, cols, figsize=(3.8 * cols,
                                                   (0.55 * len(methods) + 1.8) * lines),
                             sharey=True, squeeze=False)
    axes = list(grid.flat)
    for ax in axes[panels:]:
        ax.set_visible(False)
    for ax, env in zip(axes[:len(envs)], envs, strict=True):
        # A method without runs on this env (a partial experiment) keeps its row, empty.
        rows = by_env[by_env["env"] == env].set_index("method").reindex(methods).reset_index()
        _intervals(ax, rows, colors, "iqm", "lower", "upper")
        ax.axvline(1.0, color="black", ls="--", lw=1)
        ax.set_title(f"{env}: IQM")
        ax.set_xlabel("expert-normalised score")
    rows = table.set_index("method").loc[methods].reset_index()
    ax = axes[len(envs)]
    _intervals(ax, rows, colors, "above_expert", "above_expert_lower", "above_expert_upper")
    ax.set_xlim(0, 1)
    ax.set_title("runs above the expert")
    ax.set_xlabel("share of runs (95 % CI)")
    ax = axes[len(envs) + 1]
    _intervals(ax, rows, colors, "beats_dqn", "beats_dqn_lower", "beats_dqn_upper")
    ax.axvline(0.5, color="black", ls="--", lw=1)
    ax.set_xlim(0, 1)
    ax.set_title("P(method > DQN)")
    ax.set_xlabel("probability of improvement (95 % CI)")
    return _save_over_envs(fig, tables["scores"], out, "beyond")


def budget(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """Top: each method's IQM of normalised return along the budget; bottom: P(method > DQN)
    along the budget, filled where the test finds it ahead (its p adjusted for the number of
    steps)."""
    table = tables["budget"]
    sns.set_theme(style="whitegrid", context="notebook")
    colors = _method_colors(tables["scores"])
    methods = [m for m in colors if m in set(table["method"])]
    envs = sorted(table["env"].unique())
    # At most three games a row, each a column of two panels (the learning curves' layout).
    cols = min(3, len(envs))
    lines = -(-len(envs) // cols)
    fig, grid = plt.subplots(2 * lines, cols, figsize=(5.2 * cols, 7.0 * lines), squeeze=False)
    pairs = [(grid[2 * (i // cols)][i % cols], grid[2 * (i // cols) + 1][i % cols])
             for i in range(len(envs))]
    for i in range(len(envs), lines * cols):
        grid[2 * (i // cols)][i % cols].set_visible(False)
        grid[2 * (i // cols) + 1][i % cols].set_visible(False)
    # Methods with the same values (two at P = 1, say) would hide each other: a marker shape
    # each, and the first drawn widest, so that every one shows.
    markers = dict(zip(methods, itertools.cycle("osD^vP*X"), strict=False))
    widths = dict(zip(methods, np.linspace(3.2, 1.2, max(len(methods), 1)), strict=False))
    for (top, bottom), env in zip(pairs, envs, strict=True):
        bottom.sharex(top)
        top.tick_params(labelbottom=False)
        for method in methods:
            rows = table[(table["env"] == env) & (table["method"] == method)].sort_values("step")
            if rows.empty:
                continue
            style = {"color": colors[method], "marker": markers[method], "lw": widths[method]}
            top.plot(rows["step"], rows["iqm"], ms=5, label=method, **style)
            top.fill_between(rows["step"], rows["iqm_lower"], rows["iqm_upper"],
                             color=colors[method], alpha=0.2, lw=0)
            compared = rows.dropna(subset=["p_improvement"])
            if compared.empty:
                continue
            ahead = compared["p_value_adjusted"] <= 0.05
            tested = compared["p_value_adjusted"].notna()  # a step some run lacks: no marker
            bottom.plot(compared["step"], compared["p_improvement"], ms=0, **style)
            bottom.fill_between(compared["step"], compared["p_improvement_lower"],
                                compared["p_improvement_upper"], color=colors[method],
                                alpha=0.12, lw=0)
            for filled, points in ((True, compared[ahead]), (False, compared[tested & ~ahead])):
                bottom.plot(points["step"], points["p_improvement"], ls="none", ms=7,
                            marker=markers[method], color=colors[method],
                            mfc=colors[method] if filled else "white")
        top.axhline(1.0, color="black", ls="--", lw=1)
        top.set_title(f"{env}: IQM of normalised return")
        top.set_ylabel("expert-normalised (1 = expert)")
        bottom.axhline(0.5, color="black", ls="--", lw=1)
        bottom.set_ylim(-0.02, 1.02)
        bottom.set_title(f"{env}: P(method > DQN)")
        bottom.set_ylabel("probability of improvement")
        bottom.set_xlabel("environment steps")
        _steps_axis(bottom)
    # The markers' key, as legend entries after the methods' (proxies on the last panel, which
    # the legend reads last: nothing is drawn).
    key = pairs[-1][0]
    key.plot([], [], ls="none", marker="o", ms=7, color="gray",
             label="filled (lower panels): ahead of DQN, p ≤ 0.05 adjusted for the steps")
    key.plot([], [], ls="none", marker="o", ms=7, color="gray", mfc="white",
             label="open: not shown ahead")
    _legend_below(fig, [top for top, _ in pairs])
    _warn_weak_experts(fig, tables["scores"])
    return _save(fig, out, "budget")


def draw(tables: dict[str, pd.DataFrame], out: Path, only: list[str] | None = None
         ) -> list[Path]:
    """Draw ``only`` these figures, or every one that applies to the tables' experiment (each
    figure of ``figures.FIGURES`` is the function of its name here)."""
    algos = set(tables["scores"]["algo"])
    swept = "sweep_value" in tables["scores"].columns
    applicable = figures_for(algos, swept)
    foreign = [name for name in only or () if name not in applicable]
    if foreign:
        raise AggregateError(f"--only {' '.join(foreign)}: not a figure of this aggregate (of "
                             f"{', '.join(sorted(algos))}, {'a' if swept else 'no'} sweep); its "
                             f"figures: {', '.join(applicable)}")
    names = only or applicable
    if tables["intervals"].empty:  # a partial experiment: no method has a run on every env
        left_out = [name for name in names if FIGURES[name].over_envs]
        if left_out:
            print(f"left out until a method has a run on every env: {', '.join(left_out)}",
                  file=sys.stderr)
        names = [name for name in names if name not in left_out]
    return [path for name in names for path in globals()[name](tables, Path(out))]


def draw_folder(aggregate: Path, out: Path, only: list[str] | None = None) -> list[Path]:
    """``draw`` the tables of the aggregate folder ``aggregate`` (each checked whole first,
    ``read_tables``) into folder ``out``."""
    tables = read_tables(aggregate)  # checked whole before anything is written
    paths: list[Path] = []
    # Into a new folder that takes ``out``'s place whole: an error or an interrupt leaves the
    # figures there as they were. With ``only``, the other figures there are kept.
    atomic_write_folder(Path(out), lambda folder: paths.extend(draw(tables, folder, only)),
                        keep=lambda name: bool(only))
    return [Path(out) / path.name for path in paths]
