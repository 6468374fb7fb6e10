"""docs/architecture.md maps every rule to its entry point, package functions and outputs; it and the rule graph
(docs/rulegraph.svg) must be regenerated (`make architecture`) when a rule changes."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_rule_map_is_up_to_date():
    proc = subprocess.run([sys.executable, "docs/make_architecture.py", "--check"], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr


def test_rule_graph_shows_every_rule_with_a_script():
    rules = set()
    for smk in (ROOT / "workflow/rules").glob("*.smk"):
        for name, block in re.findall(r"^rule (\w+):\n((?:    .*\n|\n)*)", smk.read_text(), flags=re.M):
            if "script:" in block and not name.startswith(("simulation", "import_")):
                rules.add(name)
    svg = (ROOT / "docs/rulegraph.svg").read_text() + (ROOT / "docs/rulegraph_pool.svg").read_text()
    labels = set(re.findall(r"<text[^>]*>([\w]+)</text>", svg))
    assert rules - labels == set()


def test_every_package_function_in_the_map_exists():
    import importlib

    doc = (ROOT / "docs/architecture.md").read_text()
    for ref in set(re.findall(r"`((?:data|cohort|stats|survival|continuation|biomarkers|report|plots|multicentre)\.[\w.]+)`", doc)):
        module, _, name = ref.rpartition(".")
        mod = importlib.import_module(f"icistop.{module}")
        if not hasattr(mod, name):
            importlib.import_module(f"icistop.{ref}")  # a module named as such (raises when there is none)
