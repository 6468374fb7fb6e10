"""The pip pins (requirements*.txt) and the conda pins (environment.yml, workflow/envs) must not drift."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"matplotlib-base": "matplotlib", "python-duckdb": "duckdb"}


def pip_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-r"):
            continue
        name, version = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)$", line).groups()
        pins[name.lower()] = version
    return pins


def conda_pins(path: Path) -> dict[str, str]:
    pins = {}
    for dep in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(dep, str) and "=" in dep:
            name, version = dep.split("=", 1)
            pins[CONDA_NAMES.get(name.lower(), name.lower())] = version
    return pins


def test_every_pip_requirement_is_pinned_exactly():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-r"):
                assert "==" in line, f"{name}: '{line}' is not pinned with =="


def test_environment_yml_matches_requirements():
    pip = pip_pins(ROOT / "requirements.txt") | pip_pins(ROOT / "requirements-dev.txt")
    conda = conda_pins(ROOT / "environment.yml")
    conda.pop("python")
    assert set(conda) == set(pip), f"only in conda: {set(conda) - set(pip)}; only in pip: {set(pip) - set(conda)}"
    for name, version in conda.items():
        assert pip[name] == version, f"{name}: environment.yml {version} != requirements {pip[name]}"


def test_rule_environment_matches_requirements():
    pip = pip_pins(ROOT / "requirements.txt")
    rule_env = conda_pins(ROOT / "workflow" / "envs" / "icistop.yaml")
    rule_env.pop("python")
    for name, version in rule_env.items():
        assert pip.get(name) == version, f"workflow/envs/icistop.yaml {name}={version} != requirements {pip.get(name)}"
    assert {"pandas", "lifelines", "numpy", "scipy"} <= set(rule_env)


def test_lifelines_constraint_pandas_below_3():
    assert int(pip_pins(ROOT / "requirements.txt")["pandas"].split(".")[0]) < 3
