"""The report: rows, their tables, the headline, BENCHMARKS.md and the raw JSON, and the entry point
of a module run on its own."""
import datetime
import json
import math
import os
import sys
import time

from .process import OMP_WAIT_ENV, pool_label, prepare_process
from .timing import DEFAULTS, configure

def row(section, case, result, **extra):
    """A table row from a :func:`compare` result; ``extra`` may carry e.g. ``flops`` or ``bytes``
    (the report then adds GFLOP/s or GB/s), ``note``, ``params``."""
    return {"section": section, "case": case, **extra, **result}


def skipped(section, case, reason):
    """A row that could not be measured, with the reason shown in the report."""
    return {"section": section, "case": case, "skipped": reason}


def not_available(exc):
    return f"not available: {type(exc).__name__}: {exc}"


def _wait_policy_text(meta):
    policy = meta.get("process", {}).get(OMP_WAIT_ENV, "unset")
    if policy == "unset":
        return ("unset, libgomp's default as users get it (idle workers spin briefly, then sleep; on a "
                "host shared with other jobs run `OMP_WAIT_POLICY=PASSIVE make bench`, as spinning workers "
                "then steal the cores their partners need)")
    return f"`{policy}`, as set by the caller"


def _pools_text(info):
    pools = info.get("threadpools") or []
    return ", ".join(map(pool_label, pools)) or "none found"


def fmt_time(seconds):
    """Format with a unit chosen by magnitude."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale or unit == "µs":
            v = seconds / scale
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{seconds} s"


def module_main(run, prog, doc, argv=None):
    """``python -m benchmarks.<module> [--quick]``: one section on its own, printed (no report)."""
    import argparse

    parser = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    prepare_process()
    configure(quick=args.quick)
    print_rows(run(args.quick))


def print_rows(rows):
    """Rows on stdout, one line per candidate (for ``python -m benchmarks.<module>``)."""
    for r in rows:
        if "candidates" not in r:
            print(f"{r.get('case')}: {r.get('skipped', r)}")
            continue
        print(f"{r['case']} ({r['threads']} thread{'s' if r['threads'] != 1 else ''})")
        for name, c in r["candidates"].items():
            ratio = r["ratios"].get(name)
            print(f"    {name:12s} {_fmt_stat(c):>16s}" + (f"   {_fmt_ratio(ratio)} × {r['baseline']}" if ratio else ""))


def _fmt_stat(s):
    if "error" in s:
        return "error"
    if "q1" not in s:
        return fmt_time(s["median"])
    spread = (s["q3"] - s["q1"]) / s["median"] * 50 if s["median"] else 0.0
    return f"{fmt_time(s['median'])} ±{spread:.0f}%"


def _fmt_ratio(r):
    spread = f" ({r['q1']:.2f}–{r['q3']:.2f})" if "q1" in r else ""
    return f"**{r['median']:.2f}×**{spread}"


def _geomean(values):
    values = [v for v in values if v > 0]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else float("nan")


def sanity_line(info, start, end=None):
    def one(p):
        parts = []
        if "fma_gflops_1t" in p:
            parts.append(f"FMA peak {p['fma_gflops_1t']:.0f} / {p['fma_gflops_2t']:.0f} GFLOP/s (1 / 2 threads,"
                         f" {p['fma_isa_bits']}-bit)")
        else:
            parts.append(f"FMA probe unavailable ({p.get('fma_note')})")
        parts.append(f"numpy SGEMM 1024³ {p['numpy_sgemm1024_gflops_1t']:.0f} / "
                     f"{p['numpy_sgemm1024_gflops_2t']:.0f} GFLOP/s")
        parts.append(f"copy 256 MB {p['copy_256MB_gbs']:.1f} GB/s (read+write)")
        parts.append(f"load avg {p['loadavg'][0]:.2f}")
        return "; ".join(parts)

    isa = ", ".join(info["isa"]) or "no AVX2"
    line = (f"**CPU:** {info['cpu']} ({isa}; {info['cores_available']} cores available) — "
            f"**start:** {one(start)}")
    if end:
        line += f" — **end:** {one(end)}"
    return line


def _section_table(rows):
    """Markdown table of rows produced by compare(): one column per candidate (median ± half the
    IQR as % of the median), then each candidate's ratio to the baseline."""
    measured = [r for r in rows if "candidates" in r]
    names = []
    for r in measured:
        names += [n for n in r["candidates"] if n not in names]
    baseline = next((r["baseline"] for r in measured if r.get("baseline") in names), None)
    others = [n for n in names if n != baseline]
    derived = [k for k in ("gflops", "gbs") if any(k in r.get("derived", {}) for r in measured)]
    extras = []
    for r in measured:
        extras += [k for k in r.get("extra", {}) if k not in extras]
    head = ["case", "threads"] + names + [f"{n} / {baseline}" for n in others if baseline] + \
        [{"gflops": "GFLOP/s (minigrad)", "gbs": "GB/s (minigrad)"}[k] for k in derived] + extras
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['case']} | | " + f"*{r['skipped']}*" + " |" * (len(head) - 2))
            continue
        if "candidates" not in r:
            continue
        cells = [r["case"], str(r["threads"])]
        cells += [_fmt_stat(r["candidates"][n]) if n in r["candidates"] else "" for n in names]
        if baseline:
            cells += [_fmt_ratio(r["ratios"][n]) if n in r.get("ratios", {}) else "" for n in others]
        for k in derived:
            v = r.get("derived", {}).get(k)
            cells.append(f"{v:.1f}" if v is not None else "")
        cells += [_fmt_cell(r.get("extra", {}).get(k, "")) for k in extras]
        lines.append("| " + " | ".join(cells) + " |")
    by_note = {}
    for r in rows:
        if r.get("note"):
            by_note.setdefault(r["note"], []).append(r["case"])
    notes = [f"- {n}" if len(cases) > 1 else f"- {cases[0]}: {n}" for n, cases in by_note.items()]
    errors = [f"- {r['case']} / {n}: {s['error']}" for r in measured for n, s in r["candidates"].items()
              if "error" in s]
    busy = busy_notes(measured)
    return "\n".join(lines + ([""] + notes if notes else []) + ([""] + errors if errors else [])
                     + ([""] + busy if busy else []))


# Cores other processes may keep busy, on median over a candidate's blocks, before its row is listed.
OTHERS_NOTED = 0.5


def busy_notes(rows):
    """A line per row whose candidates' timed blocks shared the cores: with another thread of the
    process still running as a block started (compare()'s ``busy``: a pool still spinning), or with
    other processes running on OTHERS_NOTED cores or more meanwhile (``others``)."""
    lines = []
    for r in rows:
        cands = r.get("candidates", {}).items()
        spinning = ", ".join(f"{n} {s['busy']}" for n, s in cands if s.get("busy"))
        shared = ", ".join(f"{n} {s['others']:.1f}" for n, s in cands if (s.get("others") or 0) >= OTHERS_NOTED)
        why = []
        if spinning:
            why.append(f"threads of the process running as a block started (a pool still spinning?): {spinning}")
        if shared:
            why.append(f"cores other processes kept busy during the blocks (median): {shared}")
        if why:
            threads = f"{r['threads']} thread{'s' if r['threads'] != 1 else ''}"
            lines.append(f"- {r['case']} ({threads}): " + "; ".join(why))
    return lines


def _generic_table(rows):
    """Rows in a format compare() did not make: every key as a column, values as given."""
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys and not isinstance(r[k], (list, dict))]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt_cell(r.get(k, "")) for k in keys) + " |")
    return "\n".join(lines)


def _fmt_cell(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def add_derived(r):
    """GFLOP/s or GB/s of the minigrad candidate when a row carries ``flops`` or ``bytes``."""
    cands = r.get("candidates", {})
    m = cands.get("minigrad", {})
    if "median" in m:
        d = r.setdefault("derived", {})
        if r.get("flops"):
            d["gflops"] = r["flops"] / m["median"] / 1e9
            d["gflops_all"] = {n: r["flops"] / s["median"] / 1e9 for n, s in cands.items() if "median" in s}
        if r.get("bytes"):
            d["gbs"] = r["bytes"] / m["median"] / 1e9
    return r


def headline(sections):
    """(label, ratio summary) of minigrad / torch: every train, infer and overhead row, and the geometric
    mean of each kernel section's rows (the scaling section is a plot, not a headline)."""
    lines = []
    for name, sec in sections.items():
        rows = [r for r in sec.get("rows", []) if "minigrad" in r.get("ratios", {})]
        if not rows or name == "scaling":
            continue
        if name in ("train", "infer", "overhead"):
            for r in rows:
                threads = f" ({r['threads']} thread{'s' if r['threads'] != 1 else ''})" if r.get("threads") else ""
                lines.append((f"{name}: {r['case']}{threads}", r["ratios"]["minigrad"]))
        else:
            g = _geomean([r["ratios"]["minigrad"]["median"] for r in rows])
            lines.append((f"{name}: geometric mean over {len(rows)} rows", {"median": g}))
    return lines


def write_report(path_md, path_json, data, titles):
    """BENCHMARKS.md (tables) and the raw JSON. ``data`` = {"meta", "probes", "sections"};
    ``titles`` maps section name → (title, one-paragraph description)."""
    tmp = path_json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, default=str)
    os.replace(tmp, path_json)

    meta, probes_ = data["meta"], data["probes"]
    info = meta["machine"]
    cfg = info["minigrad_config"]
    paths = ", ".join(f"{k[:-5]} {v}" for k, v in cfg.items() if k.endswith("_path"))
    blocking = cfg.get("gemm_blocking")
    out = [
        f"# minigrad benchmarks: {meta.get('kind') or info['cpu']}",
        "",
        "Generated by `make bench` (`python -m benchmarks`); do not edit by hand. "
        f"Mode: **{'QUICK' if meta['quick'] else 'full'}**, sections: {', '.join(data['sections'])}; "
        f"run {meta['started']} UTC, {meta['duration_s']:.0f} s. Raw data: "
        f"[`{os.path.relpath(path_json, os.path.dirname(path_md))}`]"
        f"({os.path.relpath(path_json, os.path.dirname(path_md))}).",
        "",
        sanity_line(info, probes_["start"], probes_.get("end")),
        "",
        f"numpy {info['numpy']} ({_blas_name(info)}), torch {info['torch']} "
        f"(CPU capability {info['torch_cpu_capability']}), minigrad {cfg.get('minigrad')} kernels "
        f"`{cfg.get('kernels')}`, OpenMP {cfg.get('openmp')}, CPU paths {cfg.get('cpu_features')}, "
        f"ISA path per kernel family: {paths or 'not reported'}"
        + (f" (GEMM blocking: {blocking})" if blocking else "") + ", "
        f"build flags `{' '.join(cfg.get('build', {}).get('base_flags', []))}`, Python {info['python']}; "
        f"thread pools at the start (threadpoolctl): {_pools_text(info)}.",
        "",
        "**Method.** Every row is timed by `harness.compare`: candidates interleaved in one process, "
        "their order rotated every repetition, after warm-up; a timed block calls a candidate enough "
        "times to last ~" + f"{DEFAULTS['target'] * 1e3:.0f} ms, and each figure is the median time per call over the "
        f"repetitions ({DEFAULTS['reps']} here), ± half the interquartile range as % of the median; every "
        "repetition is in the JSON. `X / torch` is the median over repetitions of time(X) / time(torch) "
        "measured in the same rotation (quartiles in parentheses): **below 1 means faster than torch**. "
        "Threads are set explicitly, and restored after each row, for minigrad, numpy's BLAS "
        "(threadpoolctl) and torch alike (the `threads` column). Process settings, the same for every "
        f"candidate: `OMP_WAIT_POLICY` {_wait_policy_text(meta)}; glibc's mmap and trim thresholds raised "
        "to 1 GiB, so a freed output buffer is reused by the next call instead of being returned to the "
        "OS and page-faulted in again (that cost ~1 fault per 4 KB of output per call and made BatchNorm "
        "5–10× slower than its arithmetic in both frameworks). The process sleeps "
        f"{DEFAULTS['gap']} s before each timed block so OpenBLAS's workers (which spin ~0.1 s after a "
        "call) are idle, then counts the process's other threads still running (/proc), and measures "
        "the CPU time other processes take during the block (/proc/stat); a candidate whose block "
        f"started beside a running thread, or shared the machine with ≥ {OTHERS_NOTED} busy cores "
        "(median), is listed under its section's table. Absolute times drift between runs on these "
        "shared machines; only ratios within "
        "one run are comparable. `numpy-ref` is minigrad running its numpy reference kernels "
        "(`use_backend('numpy')`).",
        "",
        "## Headline: minigrad / torch (same run)",
        "",
        "| figure | minigrad / torch |",
        "|---|---|",
    ]
    for label, r in headline(data["sections"]):
        spread = f" ({r['q1']:.2f}–{r['q3']:.2f})" if "q1" in r else ""
        out.append(f"| {label} | **{r['median']:.2f}×**{spread} |")
    speedups = [r for sec in data["sections"].values() for r in sec.get("rows", []) if r.get("compiled_speedup")]
    if speedups:
        out += ["", "Compiled kernels against minigrad's own numpy reference kernels (numpy-ref / minigrad, "
                "same run; above 1 means the compiled kernels are faster):", "",
                "| figure | numpy-ref / minigrad |", "|---|---|"]
        out += [f"| {r['section']}: {r['case']} ({r['threads']} thread{'s' if r['threads'] != 1 else ''}) | "
                f"**{r['compiled_speedup']['median']:.2f}×** "
                f"({r['compiled_speedup']['q1']:.2f}–{r['compiled_speedup']['q3']:.2f}) |" for r in speedups]
    for name, sec in data["sections"].items():
        title, desc = titles.get(name, (name, ""))
        out += ["", f"## {title}", ""]
        if desc:
            out += [desc, ""]
        if sec.get("loadavg"):
            out += [f"*{sec['seconds']:.0f} s; 1-minute load average {sec['loadavg'][0]:.1f} → "
                    f"{sec['loadavg'][1]:.1f} on {info['cores_available']} cores.*", ""]
        if sec.get("error"):
            out += [f"*Section failed: {sec['error']}*", ""]
        rows = sec.get("rows", [])
        ours = [r for r in rows if "candidates" in r or "skipped" in r]
        foreign = [r for r in rows if r not in ours]
        if ours:
            out.append(_section_table(ours))
        if foreign:
            out += ["", _generic_table(foreign)]
        if sec.get("image"):
            rel = os.path.relpath(sec["image"], os.path.dirname(path_md))
            out += ["", f"![{title}]({rel})"]
    with open(path_md, "w") as f:
        f.write("\n".join(out) + "\n")


def _blas_name(info):
    for p in info["threadpools"]:
        if p["user_api"] == "blas":
            return f"{p['internal_api']} {p['version']} {p.get('architecture') or ''}".strip()
    return "BLAS unknown"


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def run_section(name, fn, quick):
    """Call a module's ``run(quick)``; an exception becomes the section's error, not a crash."""
    t, load = time.perf_counter(), os.getloadavg()[0]
    try:
        rows = [add_derived(r) for r in fn(quick)]
        sec = {"rows": rows}
    except Exception as e:  # noqa: BLE001  a broken module must not lose the other sections
        import traceback
        sec = {"rows": [], "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    sec["seconds"] = time.perf_counter() - t
    sec["loadavg"] = (load, os.getloadavg()[0])  # 1-minute load before and after: disturbance shows
    print(f"[bench] {name}: {len(sec['rows'])} rows in {sec['seconds']:.1f} s"
          + (f" — ERROR {sec['error']}" if sec.get("error") else ""), file=sys.stderr, flush=True)
    return sec
