"""Trial records, the JSON-lines results file (streamed, resumable) and :class:`SearchResult`.

The results file has one JSON object per line. The first line describes the search
(``{"search": {"seed", "space", "metric", "mode", "scheduler"}}``); every other line is one finished
trial, appended and flushed as soon as the trial finishes, so a search killed at any moment leaves
every finished trial on disk (a half-written last line is ignored when the file is read back).
"""
import json
import math
import os

__all__ = ["SearchResult", "ResultsFile"]


class ResultsFile:
    """Append-only JSON-lines store of one search's trials."""

    def __init__(self, path, header):
        self.path = os.fspath(path)
        self.header = header
        self.records = []
        if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
            self._read()
        else:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            with open(self.path, "w") as f:
                f.write(json.dumps({"search": header}) + "\n")

    def _read(self):
        with open(self.path) as f:
            text = f.read()
        lines = text.splitlines()
        try:
            first = json.loads(lines[0])["search"]
        except (ValueError, KeyError, TypeError, IndexError):
            raise ValueError(f"{self.path} is not a minigrad.tune results file (no search header on line 1)")
        if first != self.header:
            diff = {k: (first.get(k), v) for k, v in self.header.items() if first.get(k) != v}
            raise ValueError(f"{self.path} holds a different search; differing (file, now): {diff}. "
                             "Use another results file or delete this one.")
        torn = not text.endswith("\n")
        for line in lines[1:]:
            try:
                self.records.append(json.loads(line))
            except ValueError:  # the line being written when the search was killed
                torn = True
        if torn:
            with open(self.path, "w") as f:  # drop the torn line so appends start on a fresh line
                f.write("\n".join(json.dumps(r) for r in [{"search": first}] + self.records) + "\n")

    def append(self, record):
        self.records.append(record)
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()


def _key(record):
    return record["trial"], record.get("rung", 0)


class SearchResult:
    """All trials of a search. ``trials`` is a list of records (dicts with ``trial``, ``config``,
    ``seed``, ``status``, ``metrics``, ``error``, ``seconds``, ``worker``, and ``budget``/``rung``
    with a scheduler); the ``metric`` is maximized (``mode="max"``) or minimized."""

    def __init__(self, trials, metric, mode, space=None, wall_seconds=None, executor=None):
        self.trials = sorted(trials, key=_key)
        self.metric, self.mode = metric, mode
        self.space = space or {}
        self.wall_seconds = wall_seconds
        self.executor = executor

    # ------------------------------------------------------------ selection

    def final(self):
        """Each trial's record from the highest rung it reached (the only one without a scheduler)."""
        last = {}
        for r in self.trials:
            if r["trial"] not in last or r.get("rung", 0) > last[r["trial"]].get("rung", 0):
                last[r["trial"]] = r
        return [last[t] for t in sorted(last)]

    def _score(self, record):
        """Sort key: higher rung first, then better metric; failed trials last."""
        if record["status"] != "ok":
            return (1, 0, 0.0, record["trial"])
        value = record["metrics"][self.metric]
        return (0, -record.get("rung", 0), -value if self.mode == "max" else value, record["trial"])

    def sorted(self):
        """Final records, best first (failed and lost trials at the end, by trial number)."""
        return sorted(self.final(), key=self._score)

    @property
    def ok(self):
        return [r for r in self.final() if r["status"] == "ok"]

    @property
    def failed(self):
        return [r for r in self.final() if r["status"] != "ok"]

    @property
    def best(self):
        """The best trial's record (None if every trial failed)."""
        ranked = self.sorted()
        return ranked[0] if ranked and ranked[0]["status"] == "ok" else None

    @property
    def best_config(self):
        best = self.best
        return None if best is None else dict(best["config"])

    @property
    def compute_seconds(self):
        """Sum of every trial's own run time (all rungs)."""
        return sum(r.get("seconds") or 0.0 for r in self.trials)

    # ------------------------------------------------------------ output

    def table(self, k=None, metrics=None):
        """A Markdown table of the final records sorted by the metric, best first (``k`` rows)."""
        rows = self.sorted()[:k] if k else self.sorted()
        params = list(self.space) or sorted({p for r in rows for p in r["config"]})
        metrics = list(metrics) if metrics else [self.metric]
        with_budget = any(r.get("budget") is not None for r in rows)
        headers = ["rank", "trial"] + params + metrics + (["budget"] if with_budget else []) + ["status"]
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        for rank, r in enumerate(rows, 1):
            cells = [str(rank), str(r["trial"])]
            cells += [_fmt(r["config"].get(p)) for p in params]
            cells += [_fmt(r["metrics"].get(m)) for m in metrics]
            cells += [_fmt(r.get("budget"))] if with_budget else []
            cells.append(r["status"] if r["status"] == "ok" else f"{r['status']}: {r['error']}")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def __str__(self):
        n_ok, n = len(self.ok), len(self.final())
        head = f"{n} trials ({n_ok} ok, {n - n_ok} failed), {self.metric} ({self.mode})"
        if self.wall_seconds is not None:
            head += f", {self.wall_seconds:.1f} s wall, {self.compute_seconds:.1f} s of trials"
        return head + "\n" + self.table(k=10)

    def __repr__(self):
        return f"<SearchResult {len(self.final())} trials, best {self.metric}=" + (
            f"{self.best['metrics'][self.metric]:.4g}>" if self.best else "none>")

    def to_csv(self, path):
        """One row per final record: trial, seed, status, each parameter, each metric, budget, error."""
        import csv

        rows = self.final()
        params = list(self.space) or sorted({p for r in rows for p in r["config"]})
        metrics = sorted({m for r in rows for m in r["metrics"] if not isinstance(r["metrics"][m], list)})
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["trial", "seed", "status"] + params + metrics + ["budget", "seconds", "error"])
            for r in rows:
                writer.writerow([r["trial"], r["seed"], r["status"]] + [r["config"].get(p) for p in params]
                                + [r["metrics"].get(m) for m in metrics]
                                + [r.get("budget"), f"{r.get('seconds') or 0:.3f}", r["error"] or ""])

    def plot(self, path=None, x="lr", y="weight_decay", ax=None, title=None, dpi=80):
        """Scatter of the metric over parameters ``x`` and ``y`` (log axes for loguniform ones), coloured
        by the metric, best trial starred, failed trials as grey crosses. Saves to ``path`` if given;
        returns the matplotlib figure."""
        import matplotlib

        if path is not None and ax is None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig = None
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.4, 4.8))
        ok = self.ok
        px = [r["config"][x] for r in ok]
        py = [r["config"][y] for r in ok]
        values = [r["metrics"][self.metric] for r in ok]
        points = ax.scatter(px, py, c=values, cmap="viridis", s=36, edgecolors="k", linewidths=0.3)
        (fig or ax.figure).colorbar(points, ax=ax, label=self.metric)
        bad = self.failed
        if bad:
            ax.scatter([r["config"][x] for r in bad], [r["config"][y] for r in bad], marker="x", c="0.6",
                       label=f"failed ({len(bad)})")
        if self.best is not None:
            ax.scatter([self.best["config"][x]], [self.best["config"][y]], marker="*", s=260, c="red",
                       edgecolors="k", label=f"best {self.metric}={self.best['metrics'][self.metric]:.3f}")
        for name, setter in ((x, ax.set_xscale), (y, ax.set_yscale)):
            if getattr(self.space.get(name), "log", False):
                setter("log")
        ax.set(xlabel=x, ylabel=y, title=title or f"{self.metric} of {len(self.final())} trials")
        ax.legend(loc="best", fontsize="small", markerscale=0.6)
        ax.grid(alpha=0.3)
        fig = fig or ax.figure
        if path is not None:
            fig.tight_layout()
            fig.savefig(path, dpi=dpi)
        return fig


def _fmt(v):
    if isinstance(v, float):
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.3e}"
        return f"{v:.4f}" if math.isfinite(v) else str(v)
    return "" if v is None else str(v)
