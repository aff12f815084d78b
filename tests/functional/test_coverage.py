"""The section tables together: at least 40 ops covered, no case id used twice."""
import runpy
from pathlib import Path

from _cases import covers

SECTIONS = sorted(Path(__file__).parent.glob("test_*.py"))


def _tables():
    for path in SECTIONS:
        if path.name != Path(__file__).name:
            table = runpy.run_path(str(path))
            if "CASES" in table:
                yield table["CASES"], table["OPS"]


def test_at_least_40_ops_covered():
    cases, ops = [], set()
    for section_cases, section_ops in _tables():
        cases += section_cases
        ops |= section_ops
    assert len(ops) >= 40
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids))
    for op in ops:
        assert covers(op, ids), op
