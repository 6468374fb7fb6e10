"""A code change in the icistop package reruns exactly the rules that run it (icistop.codedeps, rule params).

Fast: the import graph (against a full ast parse of every script and module), the params, and that every
``script:`` rule declares its code. Slow: on a finished run of the example, edits of package modules plan
exactly the rules that use them and their downstream; a touch plans nothing.
"""

import ast
import os
import re
import time
from pathlib import Path

import pytest

from icistop.codedeps import CodeIndex, import_statements
from workflow_copy import ROOT, copy_workflow, snakemake

SCRIPTS = ROOT / "workflow" / "scripts"
RULE_FILES = sorted((ROOT / "workflow" / "rules").glob("*.smk"))
RULE = re.compile(r"^(?:rule|checkpoint) (\w+):$", re.MULTILINE)


def rule_blocks(text: str) -> dict[str, str]:
    starts = list(RULE.finditer(text))
    return {m[1]: text[m.start():starts[i + 1].start() if i + 1 < len(starts) else len(text)]
            for i, m in enumerate(starts)}


def script_rules(rule_files=RULE_FILES) -> dict[str, tuple[str, str | None]]:
    """rule -> (entry script, arguments of its ``**code_version(...)`` line or None)."""
    out = {}
    for path in rule_files:
        for name, block in rule_blocks(Path(path).read_text()).items():
            script = re.search(r'^    script:\n\s+"\.\./scripts/([\w.]+)"', block, re.MULTILINE)
            if script:
                calls = re.findall(r"^        \*\*code_version\((.*)\),$", block, re.MULTILINE)
                assert len(calls) <= 1, name
                out[name] = (script[1], calls[0] if calls else None)
    return out


def rule_files_used(index: CodeIndex, args: str, templates=()) -> set[Path]:
    """The files the ``code_version(<args>)`` of a rule fingerprints (same arguments as in common.smk)."""
    def code_version(*scripts, dispatch=(), files=()):
        dispatch = (dispatch,) if isinstance(dispatch, str) else tuple(dispatch)
        return set(index.files(scripts, dispatch=dispatch, extra=tuple(files)))
    return eval(f"code_version({args})", {"code_version": code_version, "REPORT_TEMPLATES": list(templates)})


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.fixture
def toy(tmp_path):
    write(tmp_path, {
        "entry.py": ('"""Entry.\n\nimport os  (prose)\n"""\nimport sys\nimport numpy as np\n'
                     "from pkg.a import f\nimport pkg.sub.e as e\n\n\ndef main():\n    from pkg import d\n"),
        "other_entry.py": "from pkg.c import g\n",
        "dispatcher.py": ("from pkg.a import f\n\n\ndef build(name):\n    if name == 'c':\n        from pkg.c import g\n"
                          "        return g\n    from pkg.d import h\n    return h\n"),
        "helper.py": "X = 1\n",
        "pkg/__init__.py": "VERSION = 1\n",
        "pkg/a.py": "from .b import (\n    x,\n    y,\n)\nfrom scipy import stats\n",
        "pkg/b.py": "def x():\n    from . import c\n    return c\n\n\ny = 2\n",
        "pkg/c.py": "import helper\n",
        "pkg/d.py": "h = 1\n",
        "pkg/unused.py": "import pkg.a\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/e.py": "from .. import d\nfrom ..d import h\n",
    })
    return tmp_path


def names(index: CodeIndex, files) -> set[str]:
    return {str(p.relative_to(index.scripts_dir)) for p in files}


def test_import_graph_follows_first_party_imports_transitively(toy):
    index = CodeIndex(toy)
    assert names(index, index.files(["entry.py"])) == {
        "entry.py", "pkg/__init__.py", "pkg/a.py", "pkg/b.py", "pkg/c.py", "helper.py", "pkg/d.py",
        "pkg/sub/__init__.py", "pkg/sub/e.py"}
    assert names(index, index.files(["other_entry.py"])) == {"other_entry.py", "pkg/__init__.py", "pkg/c.py",
                                                             "helper.py"}
    assert names(index, index.files(["other_entry.py", "dispatcher.py"])) >= {"pkg/a.py", "pkg/d.py"}


def test_dispatch_keeps_only_the_named_lazy_import(toy):
    index = CodeIndex(toy)
    assert index.lazy_imports("dispatcher.py") == {"pkg", "pkg.c", "pkg.d"}
    everything = names(index, index.files(["dispatcher.py"]))
    only_c = names(index, index.files(["dispatcher.py"], dispatch=["pkg.c"]))
    only_d = names(index, index.files(["dispatcher.py"], dispatch=["pkg.d"]))
    assert everything == only_c | only_d
    assert "pkg/d.py" not in only_c and "helper.py" in only_c
    assert only_d == {"dispatcher.py", "pkg/__init__.py", "pkg/a.py", "pkg/b.py", "pkg/c.py", "helper.py", "pkg/d.py"}
    with pytest.raises(ValueError, match="dispatch must name one of"):
        index.files(["dispatcher.py"], dispatch=["pkg.a"])  # imported at module level: not a dispatch choice
    with pytest.raises(ValueError, match="not a script"):
        index.files(["pkg/a.py"])


def test_params_change_with_content_not_with_mtime(toy):
    params = CodeIndex(toy, root=toy.parent).params(["other_entry.py"])
    assert params["code_pkg_c_py"].startswith(f"{toy.name}/pkg/c.py sha256:")
    assert len(params) == 4
    stat = (toy / "pkg/c.py").stat()
    os.utime(toy / "pkg/c.py", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**10))  # touch
    assert CodeIndex(toy, root=toy.parent).params(["other_entry.py"]) == params
    (toy / "pkg/d.py").write_text("h = 2\n")  # not used by other_entry.py
    assert CodeIndex(toy, root=toy.parent).params(["other_entry.py"]) == params
    (toy / "pkg/c.py").write_text("import helper  # a comment is a change too\n")
    changed = CodeIndex(toy, root=toy.parent).params(["other_entry.py"])
    assert {k for k in params if changed[k] != params[k]} == {"code_pkg_c_py"}


def test_line_scan_keeps_the_module_of_a_statement_it_cannot_parse():
    source = ('"""Prose: results from the data import step.\n\nimport the tables\n"""\n'
              "from .km import (a,  # see (b)\n    c)\nfrom icistop.stats.cif import x, \\\n    y\n")
    found = [(indented, ast.dump(node)) for indented, node in import_statements(source)]
    assert found == [(False, ast.dump(ast.parse("from .km import *").body[0])),
                     (False, ast.dump(ast.parse("from icistop.stats.cif import *").body[0]))]


def test_line_scan_finds_the_same_imports_as_a_full_parse():
    paths = sorted(SCRIPTS.glob("*.py")) + sorted((SCRIPTS / "icistop").rglob("*.py"))
    assert len(paths) > 50
    for path in paths:
        source = path.read_text(encoding="utf-8")
        full = sorted((node.col_offset > 0, ast.dump(node)) for node in ast.walk(ast.parse(source))
                      if isinstance(node, (ast.Import, ast.ImportFrom)))
        fast = sorted((indented, ast.dump(node)) for indented, node in import_statements(source))
        assert fast == full, path


def test_workflow_scripts_depend_on_the_modules_they_use():
    index = CodeIndex(SCRIPTS)
    horizon = names(index, index.files(["biomarker_horizon.py"]))
    assert {"biomarker_horizon.py", "icistop/__init__.py", "icistop/stats/fisher.py", "icistop/biomarkers/horizon.py",
            "icistop/runner.py"} <= horizon
    assert "icistop/codedeps.py" not in horizon
    km = names(index, index.files(["survival_km.py"]))
    assert "icistop/stats/km.py" in km and "icistop/stats/fisher.py" not in km and "icistop/report/render.py" not in km
    boot = names(index, index.files(["continuation_bootstrap.py"]))
    assert {"icistop/continuation/__init__.py", "icistop/continuation/bootstrap.py"} <= boot
    sections = {m: names(index, index.files(["report_section.py"], dispatch=[m]))
                for m in ("icistop.report.core", "icistop.report.survival", "icistop.report.biomarkers")}
    assert "icistop/report/biomarkers.py" not in sections["icistop.report.survival"]
    assert "icistop/report/survival.py" not in sections["icistop.report.biomarkers"]
    assert "icistop/report/biomarkers.py" in sections["icistop.report.biomarkers"]


def test_every_script_rule_declares_its_code():
    rules = script_rules()
    assert len(rules) >= 30
    index = CodeIndex(SCRIPTS)
    dispatched = set()
    for name, (script, args) in rules.items():
        assert args is not None, f"rule {name}: add **code_version({script!r}) to its params"
        assert args.split(",")[0].strip('"') == script, name
        used = rule_files_used(index, args)
        assert SCRIPTS / script in used and SCRIPTS / "icistop/__init__.py" in used, name
        assert SCRIPTS / "icistop/codedeps.py" not in used, name  # the rule files' helper is no rule's code
        dispatched |= set(re.findall(r'dispatch="([\w.]+)"', args))
    # report_section.py imports exactly one section builder per rule inside build(): every lazy import
    # of it must be some rule's dispatch, or a newly added lazy import would be dropped by dispatch
    # (a lazy import also names the packages on its way, e.g. icistop.report for icistop.report.core)
    packages = {m for m in index.lazy_imports("report_section.py") if (SCRIPTS / m.replace(".", "/")).is_dir()}
    assert index.lazy_imports("report_section.py") - packages == dispatched
    # the temp() bootstrap shards are regenerated through continuation_gather when their code changes
    assert rules["continuation_gather"][1] == '"continuation_gather.py", "continuation_bootstrap.py"'


def test_code_params_of_all_rules_take_milliseconds():
    rules = script_rules()
    start = time.perf_counter()
    index = CodeIndex(SCRIPTS, root=ROOT)
    for _, args in rules.values():
        rule_files_used(index, args)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, f"{elapsed:.3f} s for {len(rules)} rules"


# --- end to end (slow) -------------------------------------------------------------------------------------

SMALL = ("continuation: {bootstrap: {n_boot: 40, n_shards: 4, seed: 7}}\n"
         "biomarkers: {discrimination: {n_boot: 20}}\n")


def planned(work: Path) -> set[str]:
    """Rules a dry run would run (the job-stats table), without the target rule ``all``."""
    proc = snakemake(work, "--cores", "2", "--configfile", "small.yaml", "--dry-run")
    out = proc.stdout + proc.stderr
    if "Nothing to be done" in out:
        return set()
    table = out.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m[1] for m in re.finditer(r"^(\w+)\s+\d+$", table, re.MULTILINE)} - {"all"}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    work = copy_workflow(tmp_path_factory.mktemp("codechanges"))
    (work / "small.yaml").write_text(SMALL)
    snakemake(work, "--cores", "2", "--configfile", "small.yaml")
    assert planned(work) == set()
    return work


def users(work: Path, module: str) -> set[str]:
    """Rules whose code params fingerprint ``module`` (path under workflow/scripts)."""
    index = CodeIndex(work / "workflow/scripts", root=work)
    templates = sorted((work / "workflow/report/templates").glob("*"))
    rules = script_rules(sorted((work / "workflow/rules").glob("*.smk")))
    path = (work / "workflow/scripts" / module).resolve()
    return {name for name, (_, args) in rules.items() if path in rule_files_used(index, args, templates)}


@pytest.mark.slow
def test_module_change_reruns_exactly_the_rules_that_use_it(finished_run):
    work = finished_run
    module = work / "workflow/scripts/icistop/stats/fisher.py"
    biomarker_rules = set(script_rules([work / "workflow/rules/biomarkers.smk"]))
    pooling_rules = set(script_rules([work / "workflow/rules/multicentre.smk", work / "workflow/rules/pool.smk"]))
    all_users = users(work, "icistop/stats/fisher.py")
    # fisher.py is biomarker and multi-centre code; the multi-centre rules are not in a single-site run
    assert all_users & pooling_rules and all_users - pooling_rules
    using = all_users - pooling_rules
    assert using <= biomarker_rules
    original = module.read_text()
    try:
        module.write_text(original.replace("\ndef ", "\n_EDITED = True\n\n\ndef ", 1))
        proc = snakemake(work, "--cores", "2", "--configfile", "small.yaml", "--dry-run")
        out = proc.stdout + proc.stderr
        assert "workflow/scripts/icistop/stats/fisher.py sha256:" in out  # the dry-run reason names the file
        assert planned(work) == using | {"report_biomarkers", "report"}
        summary = snakemake(work, "--configfile", "small.yaml", "--summary").stdout
        rows = [row.split("\t") for row in summary.splitlines()]
        status = {(row[2], row[4]) for row in rows if len(row) >= 6}
        assert {rule for rule, s in status if s == "params changed"} == using
        assert ("survival_km", "ok") in status and ("continuation_ccw", "ok") in status
        # running it records the new fingerprints: nothing left to do afterwards
        snakemake(work, "--cores", "2", "--configfile", "small.yaml")
        assert planned(work) == set()
        # a comment-only edit is a change too (files are hashed byte for byte) ...
        module.write_text(module.read_text() + "# comment\n")
        assert planned(work) == using | {"report_biomarkers", "report"}
        # ... which `snakemake --touch` accepts without recomputing (it records the new fingerprints)
        snakemake(work, "--cores", "1", "--configfile", "small.yaml", "--touch")
        assert planned(work) == set()
    finally:
        module.write_text(original)
    assert planned(work) == using | {"report_biomarkers", "report"}
    snakemake(work, "--cores", "1", "--configfile", "small.yaml", "--touch")
    assert planned(work) == set()


@pytest.mark.slow
def test_touch_and_unrelated_changes_rerun_nothing_more(finished_run):
    work = finished_run
    package = work / "workflow/scripts/icistop"
    later = time.time() + 60
    for path in package.rglob("*.py"):
        os.utime(path, (later, later))  # a new mtime, same content
    assert planned(work) == set()
    # the biomarker section builder: only its report rule and the page
    section = package / "report/biomarkers.py"
    assert users(work, "icistop/report/biomarkers.py") == {"report_biomarkers"}
    original = section.read_text()
    try:
        section.write_text(original + "\n_EDITED = True\n")
        assert planned(work) == {"report_biomarkers", "report"}
    finally:
        section.write_text(original)
    # a module no rule of this run imports (the cBioPortal adapter)
    adapter = package / "data/cbioportal.py"
    assert users(work, "icistop/data/cbioportal.py") == {"import_cbioportal"}
    original = adapter.read_text()
    try:
        adapter.write_text(original + "\n_EDITED = True\n")
        assert planned(work) == set()
    finally:
        adapter.write_text(original)
    # the report template: only the page
    template = work / "workflow/report/templates/report.html.j2"
    original = template.read_text()
    try:
        template.write_text(original + "\n")
        assert planned(work) == {"report"}
    finally:
        template.write_text(original)
    assert planned(work) == set()
