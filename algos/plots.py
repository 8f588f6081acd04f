"""Figures of an aggregated experiment (seaborn on matplotlib): PNG and PDF, readable as printed.

* ``learning_curves``: evaluation return against environment frames, one panel per game, one line
  per method (the mean over seeds, with a 95 % bootstrap band), the expert's and the random
  policy's returns as dashed and dotted lines.
* ``aggregates``: IQM, median, mean and optimality gap of expert-normalised scores per method,
  with their 95 % stratified-bootstrap intervals (rliable), a line at 1 = the expert.
* ``improvement``: probability of improvement of each method over each other, with intervals.
* ``profiles``: performance profiles (fraction of runs above each normalised score).
* ``sweep``: final normalised score against a swept setting (dataset size, c_max, τ).
* ``diagnostics``: DIIQN's inference accuracy, KNN acceptance and mean Φ over training.
* ``bridging``: heterogeneous actions: steps each run took to come within a threshold of the
  expert, the expert's share of the loss, the infeasible share and HA-DIIQN's bridges found.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from .runs import atomic_write

ALGO_ORDER = ("dqn", "diiqn", "ha_diiqn", "bco", "gaifo", "oril")
"""The algorithms in the order of their colours."""


def palette(methods) -> dict[str, tuple]:
    """One colour per method (``algo`` or ``algo/variant``) from seaborn's colour-blind-safe
    palette. Where the methods are distinct algorithms, each algorithm has its own colour in
    every figure (DQN blue, DIIQN orange, HA-DIIQN green, ...), so a figure without DQN does not
    repaint the others; variants of one algorithm take the palette in sorted order."""
    methods = sorted(set(methods))
    algos = [method.split("/")[0] for method in methods]
    colors = sns.color_palette("colorblind", n_colors=max(len(methods), len(ALGO_ORDER)))
    if len(set(algos)) == len(algos) and set(algos) <= set(ALGO_ORDER):
        return {method: colors[ALGO_ORDER.index(algo)]
                for method, algo in zip(methods, algos, strict=True)}
    return dict(zip(methods, colors[: len(methods)], strict=True))


def _save(fig, out: Path, name: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix in ("png", "pdf"):
        path = out / f"{name}.{suffix}"
        atomic_write(path, lambda f, s=suffix: fig.savefig(f, format=s, dpi=150,
                                                           bbox_inches="tight"))
        paths.append(path)
    plt.close(fig)
    return paths


def _legend_below(fig, axes) -> None:
    """Move the first panel's legend under all the panels, where it covers no data (the other
    panels' legends, the same entries, are dropped), and lay the figure out around it."""
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize="small",
               frameon=False)
    rows = -(-len(labels) // 4)
    fig.tight_layout(rect=(0, 0.05 + 0.045 * rows, 1, 1))


def learning_curves(curves: pd.DataFrame, scores: pd.DataFrame, out: Path) -> list[Path]:
    sns.set_theme(style="whitegrid", context="notebook")
    curves = curves.assign(method=curves["algo"] + "/" + curves["variant"])
    colors = palette(curves["method"])
    games = sorted(curves["env"].unique())
    fig, axes = plt.subplots(1, len(games), figsize=(5.2 * len(games), 4.2), squeeze=False)
    for ax, game in zip(axes[0], games, strict=True):
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
        ax.set_xlabel("environment steps (MinAtar: frames)")
        ax.set_ylabel("evaluation return (95 % CI over seeds)")
    _legend_below(fig, axes[0])
    return _save(fig, out, "learning_curves")


def aggregates(table: pd.DataFrame, out: Path) -> list[Path]:
    """``table``: metric, method, point, lower, upper (as ``intervals.csv``)."""
    sns.set_theme(style="whitegrid", context="notebook")
    metrics = list(dict.fromkeys(table["metric"]))
    colors = palette(table["method"])
    methods = list(colors)
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics),
                                                        0.6 * len(methods) + 1.6),
                             sharey=True, squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        rows = table[table["metric"] == metric].set_index("method").loc[methods]
        for y, (method, row) in enumerate(rows.iterrows()):
            ax.plot([row["lower"], row["upper"]], [y, y], lw=6, alpha=0.6, color=colors[method],
                    solid_capstyle="butt")
            ax.plot([row["point"]], [y], "|", ms=14, mew=2, color="black")
        if metric != "optimality_gap":
            ax.axvline(1.0, color="black", ls="--", lw=1)  # the expert
        ax.set_yticks(range(len(methods)), methods)
        ax.set_ylim(len(methods) - 0.5, -0.5)  # the first method on top
        ax.set_title(metric.replace("_", " "))
        ax.set_xlabel("expert-normalised score")
    fig.tight_layout()
    return _save(fig, out, "aggregates")


def improvement(table: pd.DataFrame, out: Path) -> list[Path]:
    """``table``: x, y, probability, lower, upper (as ``poi.csv``)."""
    sns.set_theme(style="whitegrid", context="notebook")
    labels = [f"P({x} > {y})" for x, y in zip(table["x"], table["y"], strict=True)]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(labels) + 1.4))
    colors = palette(table["x"])
    for i, row in enumerate(table.itertuples()):
        ax.plot([row.lower, row.upper], [i, i], lw=6, alpha=0.6, color=colors[row.x],
                solid_capstyle="butt")
        ax.plot([row.probability], [i], "|", ms=14, mew=2, color="black")
    ax.axvline(0.5, color="black", ls="--", lw=1)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability of improvement (95 % CI)")
    fig.tight_layout()
    return _save(fig, out, "improvement")


def profiles(table: pd.DataFrame, out: Path) -> list[Path]:
    """``table``: method, tau, fraction, lower, upper (as ``profiles.csv``)."""
    sns.set_theme(style="whitegrid", context="notebook")
    colors = palette(table["method"])
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for method, rows in table.groupby("method", sort=True):
        ax.plot(rows["tau"], rows["fraction"], color=colors[method], label=method)
        ax.fill_between(rows["tau"], rows["lower"], rows["upper"], color=colors[method],
                        alpha=0.2)
    ax.axvline(1.0, color="black", ls="--", lw=1)
    ax.set_xlabel("expert-normalised score τ (1 = the expert)")
    ax.set_ylabel("fraction of runs with score > τ")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return _save(fig, out, "profiles")


def sweep(scores: pd.DataFrame, label: str, out: Path,
          default: float | None = None) -> list[Path]:
    """Final normalised score against the number that ends each variant's name (``tau-0.9``,
    ``data-30000``, ``cmax-150000``; ``default`` stands at ``default``), mean over seeds with a
    95 % bootstrap band, one line per algorithm; other variants are left out."""
    sns.set_theme(style="whitegrid", context="notebook")
    value = pd.to_numeric(scores["variant"].str.extract(r"-([0-9.eE+-]+)$")[0], errors="coerce")
    if default is not None:
        value = value.where(scores["variant"] != "default", default)
    data = scores.assign(value=value).dropna(subset=["value"])
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    sns.lineplot(data=data, x="value", y="normalized_score", hue="algo", marker="o",
                 palette=palette(data["algo"]),
                 errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax)
    ax.axhline(1.0, color="black", ls="--", lw=1, label="expert")
    if data["value"].max() / max(data["value"].min(), 1e-12) >= 100:
        ax.set_xscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("final expert-normalised score (95 % CI)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return _save(fig, out, "sweep")


def diagnostics(table: pd.DataFrame, out: Path) -> list[Path]:
    """``table``: as ``diagnostics.csv`` of the aggregate. Three panels over environment steps:
    inference accuracy against the hidden true actions (by effect where the dataset has the
    effects file, else by action id), the share of sampled agent states with an expert match
    within τ, and the mean confidence Φ; one line per method (mean over envs and seeds, 95 %
    band)."""
    sns.set_theme(style="whitegrid", context="notebook")
    table = table.assign(method=table["algo"] + "/" + table["variant"])
    accuracy = ("inference_effect_accuracy" if table.get("inference_effect_accuracy") is not None
                and table["inference_effect_accuracy"].notna().any() else "inference_accuracy")
    panels = [(accuracy, "inference accuracy (" +
               ("same effect" if accuracy == "inference_effect_accuracy" else "action id") +
               ")"),
              ("knn_acceptance", "share of agent states matched within τ"),
              ("phi_mean", "mean confidence Φ")]
    colors = palette(table["method"])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), squeeze=False)
    for ax, (column, label) in zip(axes[0], panels, strict=True):
        if column in table.columns:
            sns.lineplot(data=table.dropna(subset=[column]), x="step", y=column, hue="method",
                         hue_order=list(colors), palette=colors, errorbar=("ci", 95),
                         n_boot=1000, seed=0, ax=ax, legend=ax is axes[0][0])
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("environment steps")
        ax.set_ylabel(label)
    _legend_below(fig, axes[0])
    return _save(fig, out, "diagnostics")


def bridging(steps: pd.DataFrame, table: pd.DataFrame, out: Path) -> list[Path]:
    """The heterogeneous-action experiment, one row of panels per environment.

    ``steps``: as ``steps_to_threshold.csv``: each run's first evaluation step within the
    threshold of the expert (a dot per run; runs that never got there are crosses at the budget,
    and the panel counts them). ``table``: as ``diagnostics.csv``: the share of the loss that
    comes from the expert (DIIQN and HA-DIIQN), the share of matched expert samples that are
    infeasible for the agent, and the bridges found per evaluation interval (HA-DIIQN)."""
    sns.set_theme(style="whitegrid", context="notebook")
    steps = steps.assign(method=steps["algo"] + "/" + steps["variant"])
    table = table.assign(method=table["algo"] + "/" + table["variant"])
    colors = palette(steps["method"])
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
            ax.set_xlabel("environment steps")
            ax.set_ylabel(label)
            ax.set_title(env, fontsize="small")
    fig.tight_layout()
    return _save(fig, out, "bridging")
