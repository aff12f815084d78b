"""The compiler probe (_ops/toolchain.py): what it answers, and that the kernels' build, the GEMM
ladder and the benchmark's FMA probe take their compiler and flags from it and probe nothing
themselves."""
import ast
import sys
from pathlib import Path

import pytest

from minigrad._ops import toolchain

REPO = Path(__file__).resolve().parents[2]


def test_compiler_is_cc_from_the_environment_first(monkeypatch):
    monkeypatch.setenv("CC", "my-cc")
    assert toolchain.compiler() == "my-cc"
    monkeypatch.delenv("CC")
    assert toolchain.compiler() and toolchain.compiler() != "my-cc"


def test_compiles_tells_a_good_flag_from_a_bad_one():
    assert toolchain.compiles()  # the suite's kernels were built, so there is a working compiler
    assert not toolchain.compiles(("--no-such-flag-minigrad",))
    assert not toolchain.compiles((), "int main(void) { return not_declared; }\n")
    assert toolchain.optional_flags("--no-such-flag-minigrad", "-O2") == ("-O2",)


def test_isa_flags():
    assert toolchain.isa_flags("_generic") == ()
    for suffix in ("_avx2", "_avx512"):
        flags = toolchain.isa_flags(suffix)
        assert flags is None or flags == toolchain.ISA_FLAGS[suffix]
        assert flags is None or toolchain.IS_X86


def test_the_build_recorded_the_probes_answers():
    from minigrad._ops._build_info import BUILD_INFO

    assert BUILD_INFO["compiler"] == toolchain.compiler()
    if toolchain.IS_X86:
        assert BUILD_INFO["isa_flags"] == {k: list(v) for k, v in toolchain.ISA_FLAGS.items()}


def _calls(path):
    """Dotted names of every call in the module at ``path``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            parts, f = [], node.func
            while isinstance(f, ast.Attribute):
                parts.append(f.attr)
                f = f.value
            if isinstance(f, ast.Name):
                names.add(".".join([f.id, *reversed(parts)]))
    return names


@pytest.mark.parametrize("path", ["setup.py", "benchmarks/ladder.py", "benchmarks/harness/machine.py"])
def test_builders_use_the_one_probe(path):
    calls = _calls(REPO / path)
    assert any(c.startswith("toolchain.") for c in calls), f"{path} does not use _ops/toolchain.py"
    # no compiler lookup or probe of their own
    assert not {"sysconfig.get_config_var", "shutil.which"} & calls, path
    assert "-mavx2" not in (REPO / path).read_text(encoding="utf-8"), f"{path} spells out ISA flags"


def test_the_ladder_builds_with_the_kernels_flags():
    if str(REPO) not in sys.path:  # the `benchmarks` package lives at the repo root
        sys.path.insert(0, str(REPO))
    from benchmarks import ladder

    avx2 = ladder._compile_args("_gemm_ladder_avx2")
    assert list(toolchain.ISA_FLAGS["_avx2"]) == [f for f in avx2 if f.startswith("-m")]
    assert set(toolchain.tile_flags()) <= set(avx2)
    assert not set(toolchain.tile_flags()) & set(ladder._compile_args("_gemm_ladder"))
