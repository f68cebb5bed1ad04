"""The CI recipes in examples/ci run as written.

Each recipe's YAML is parsed and its structure checked, then its steps are executed the
way GitHub Actions and Kubernetes would execute them: each `run:` script (and each
container's command) with bash or sh, after the substitutions a runner makes; the
artifact actions emulated by copying directories where the recipe's paths say; the other
`uses:` steps and the install steps skipped, by name, and listed. The store is built from
fixtures/traffic, the candidate is an example service in-process, and a checkout holding
this repository's [tool.parity] tables stands for the team's repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from examples.processes import REPO_ROOT
from parity.store import LocalStore, iter_exchanges, write_exchanges

pytestmark = pytest.mark.e2e

CI = REPO_ROOT / "examples" / "ci"
CANDIDATE = "examples.candidate:app"  # one deliberate regression
MONOLITH = "examples.monolith:app"  # answers as it was recorded
#: What GitHub runs a `shell: bash` step with.
BASH = ("bash", "--noprofile", "--norc", "-eo", "pipefail")
#: `if:` conditions under which a step or job runs after a failure, as the recipe uses them.
EVEN_AFTER_FAILURE = ("${{ !cancelled() }}", "${{ always() }}")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture traffic in segments of 20 exchanges, as a team's store would be."""
    path = tmp_path_factory.mktemp("store") / "traffic"
    write_exchanges(
        LocalStore(path),
        list(iter_exchanges(LocalStore(REPO_ROOT / "fixtures" / "traffic"))),
        "ci",
        max_records=20,
    )
    return path


def checkout(where: Path) -> Path:
    """A fresh working copy of "the team's repository": its Parity configuration, this
    repository's [tool.parity] tables (course tags as a set, enrolments declared safe;
    the services' volatile fields learned as noise from the recording)."""
    tables = re.split(r"(?m)^(?=\[)", (REPO_ROOT / "pyproject.toml").read_text())
    config = "".join(t for t in tables if t.startswith("[tool.parity"))
    assert "[tool.parity.compare]\n" in config
    where.mkdir(parents=True)
    (where / "pyproject.toml").write_text(config)
    return where


def machine(home: Path) -> dict[str, str]:
    """A runner's or an image's environment before the recipe adds to it: Parity and the
    example services importable (what the install step or the image provides), and none
    of the variables of the shell that runs the tests."""
    home.mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    assert shutil.which("parity", path=path) and shutil.which("pytest", path=path)
    return {"PATH": path, "HOME": str(home), "PYTHONPATH": str(REPO_ROOT), "LANG": "C.UTF-8"}


def execute(argv: list[str], cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def certified(report: Path) -> dict[str, Any]:
    """What certification.json counts, and what it replayed against."""
    document = json.loads((report / "certification.json").read_text())
    counts = ("verdict", "replayed", "matched", "mismatched", "error", "skipped")
    return {
        **{key: document[key] for key in ("store", "target", "summary")},
        "endpoints": {e["endpoint"]: [e[k] for k in counts] for e in document["endpoints"]},
    }


def outcomes(junit: Path) -> Counter[str]:
    return Counter(
        next((c.tag for c in case if c.tag != "properties"), "passed")
        for case in ET.parse(junit).getroot().iter("testcase")
    )


@pytest.fixture(scope="module")
def unsharded(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run over the whole store against the candidate, in a checkout like the recipes'."""
    work = checkout(tmp_path_factory.mktemp("unsharded") / "repo")
    options = [f"--replay-from={store}", f"--replay-target={CANDIDATE}", "--replay-report=report"]
    command = ["pytest", "--replay", *options, "--junitxml=report/junit.xml"]
    done = execute(command, work, machine(work.parent / "home"))
    assert done.returncode == 1, done.stdout + done.stderr  # the deliberate regression
    return work / "report"


# GitHub Actions ------------------------------------------------------------------------

WORKFLOW = yaml.safe_load((CI / "github-actions.yml").read_text())
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def evaluate(text: str, context: Mapping[str, str]) -> str:
    """`text` with its ${{ ... }} expressions replaced as the runner would from `context`
    (e.g. "matrix.shard", "vars.PARITY_STORE"); one the test has no value for fails it."""

    def value(expression: re.Match[str]) -> str:
        assert expression[1] in context, f"the test gives no value to ${{{{ {expression[1]} }}}}"
        return context[expression[1]]

    return _EXPRESSION.sub(value, str(text))


@dataclass
class JobRun:
    """A job run as a runner would: each executed `run:` step's exit status by name, the
    steps skipped because the test cannot or must not run them, and the job's output."""

    failed: bool = False
    statuses: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    output: str = ""


def run_job(name: str, workspace: Path, artifacts: Path, context: Mapping[str, str]) -> JobRun:
    job, run = WORKFLOW["jobs"][name], JobRun()
    env = {
        **machine(workspace.parent / "home"),
        **{
            k: evaluate(v, context)
            for k, v in {**WORKFLOW.get("env", {}), **job.get("env", {})}.items()
        },
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
    }
    for step in job["steps"]:
        label = step.get("name") or step["uses"].split("@")[0]
        if run.failed and step.get("if") not in EVEN_AFTER_FAILURE:
            continue
        action = step.get("uses", "").split("@")[0]
        given = step.get("with", {})
        if action == "actions/upload-artifact":
            upload(
                workspace / evaluate(given["path"], context),
                artifacts / evaluate(given["name"], context),
                overwrite=given.get("overwrite", False),
            )
        elif action == "actions/download-artifact":
            download(
                artifacts,
                evaluate(given.get("pattern", "*"), context),
                workspace / evaluate(given.get("path", "."), context),
            )
        elif action:
            run.skipped.append(label)
        elif step.get("name") == "Install":  # the test's environment is installed already
            assert re.fullmatch(r"python -m pip install [^;&|]+", step["run"].strip()), step
            run.skipped.append(label)
        else:
            script = workspace.parent / f"step-{len(run.statuses)}.sh"
            script.write_text(evaluate(step["run"], context))
            step_env = {k: evaluate(v, context) for k, v in step.get("env", {}).items()}
            done = execute([*BASH, str(script)], workspace, {**env, **step_env})
            run.statuses[label] = done.returncode
            run.output += done.stdout + done.stderr
            run.failed = run.failed or (done.returncode != 0 and not step.get("continue-on-error"))
    return run


def upload(source: Path, artifact: Path, overwrite: bool) -> None:
    """As actions/upload-artifact does: a directory's contents at the artifact's root,
    replacing an artifact of that name only when told to; nothing (and a warning) when
    the path does not exist."""
    assert overwrite or not artifact.exists(), f"two uploads name the artifact {artifact.name}"
    shutil.rmtree(artifact, ignore_errors=True)
    if source.exists():
        shutil.copytree(source, artifact)


def download(artifacts: Path, pattern: str, target: Path) -> None:
    """As actions/download-artifact does by pattern: each artifact into a directory of its
    name under `target`."""
    for artifact in sorted(artifacts.iterdir()):
        if fnmatch(artifact.name, pattern):
            shutil.copytree(artifact, target / artifact.name)


def replay_step() -> dict[str, Any]:
    step: dict[str, Any]
    (step,) = (
        s for s in WORKFLOW["jobs"]["replay"]["steps"] if "pytest --replay" in s.get("run", "")
    )
    return step


SHARDS = WORKFLOW["jobs"]["replay"]["strategy"]["matrix"]["shard"]


def test_the_workflow_shards_uploads_and_merges_what_it_says() -> None:
    replay, certify = WORKFLOW["jobs"]["replay"], WORKFLOW["jobs"]["certify"]
    assert set(WORKFLOW[True]) >= {"workflow_dispatch"}  # PyYAML reads the key `on` as True
    assert WORKFLOW["defaults"]["run"]["shell"] == "bash"  # what BASH emulates
    (count,) = re.findall(r"--replay-shard=\$\{\{ matrix\.shard \}\}/(\d+)\b", replay_step()["run"])
    assert list(range(1, int(count) + 1)) == SHARDS
    assert replay["strategy"]["fail-fast"] is False
    first = {"matrix.shard": "1"}
    run = evaluate(replay_step()["run"], first)
    (report,) = re.findall(r"--replay-report=(\S+)", run)
    assert re.findall(r"--junitxml=(\S+)", run) == [f"{report}/junit.xml"]
    (upload_step,) = (
        s for s in replay["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")
    )
    assert evaluate(upload_step["with"]["path"], first) == report
    assert upload_step["if"] in EVEN_AFTER_FAILURE
    assert certify["needs"] == "replay" and certify["if"] in EVEN_AFTER_FAILURE
    (download_step,) = (
        s for s in certify["steps"] if s.get("uses", "").startswith("actions/download-artifact@")
    )
    names = [evaluate(upload_step["with"]["name"], {"matrix.shard": str(k)}) for k in SHARDS]
    assert all(fnmatch(n, download_step["with"]["pattern"]) for n in names)
    (merge,) = (s["run"] for s in certify["steps"] if "parity report merge" in s.get("run", ""))
    assert f" {download_step['with']['path']}/* " in merge


#: The replay jobs, the certify job, and the artifacts they uploaded.
GitHubRun = tuple[list[JobRun], JobRun, Path]


def github_run(store: Path, target: str, work: Path) -> tuple[list[JobRun], JobRun]:
    """Every shard's replay job, two at a time, then the certify job, each on a fresh
    checkout; shared artifacts in `work`/artifacts."""
    artifacts = work / "artifacts"
    artifacts.mkdir()
    context = {"vars.PARITY_STORE": str(store), "vars.PARITY_TARGET": target}

    def shard(index: int) -> JobRun:
        return run_job(
            "replay",
            checkout(work / f"replay-{index}" / "repo"),
            artifacts,
            {**context, "matrix.shard": str(index)},
        )

    with ThreadPoolExecutor(2) as pool:
        shards = list(pool.map(shard, SHARDS))
    return shards, run_job("certify", checkout(work / "certify" / "repo"), artifacts, context)


@pytest.fixture(scope="module")
def github(store: Path, tmp_path_factory: pytest.TempPathFactory) -> GitHubRun:
    """The candidate certified by the workflow: the shards' jobs, the certify job, and the
    run's artifacts."""
    work = tmp_path_factory.mktemp("github")
    return (*github_run(store, CANDIDATE, work), work / "artifacts")


def test_the_workflow_certifies_what_one_run_does_and_its_gate_fails_on_the_regression(
    github: GitHubRun, unsharded: Path, store: Path
) -> None:
    shards, certify, artifacts = github
    for job in shards:  # differences found, and left to the merge to judge
        assert job.skipped == [
            "actions/checkout",
            "actions/setup-python",
            "Read the store",
            "Install",
        ]
        assert job.statuses == {"Replay": 0} and not job.failed, job.output
    assert certify.skipped == ["actions/checkout", "actions/setup-python", "Install"]
    assert certify.statuses == {"Merge": 1} and certify.failed  # the release gate
    assert "parity certification" in certify.output  # the table, in the job's log
    merged = artifacts / "parity-certification"  # uploaded although the gate failed
    counted = certified(merged)
    assert counted == certified(unsharded)
    assert counted["target"] == CANDIDATE and counted["store"].endswith(str(store))
    assert counted["summary"]["failed"] == 1
    assert counted["endpoints"]["GET /api/users/{id}/progress"][0] == "failed"
    assert outcomes(merged / "junit.xml") == outcomes(unsharded / "junit.xml")
    assert (merged / "report.html").is_file()


def test_the_workflow_gate_refuses_a_missing_shard(github: GitHubRun, tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    shutil.copytree(
        github[2], artifacts, ignore=lambda where, names: ["parity-shard-2", "parity-certification"]
    )
    context = {"vars.PARITY_STORE": "unused", "vars.PARITY_TARGET": "unused"}
    certify = run_job("certify", checkout(tmp_path / "repo"), artifacts, context)
    assert certify.statuses == {"Merge": 2}, certify.output
    assert f"shard(s) 2 of {len(SHARDS)} are missing" in certify.output


def test_the_workflow_gate_passes_a_candidate_that_answers_as_recorded(
    store: Path, tmp_path: Path
) -> None:
    shards, certify = github_run(store, MONOLITH, tmp_path)
    assert [job.statuses for job in shards] == [{"Replay": 0}] * len(SHARDS)
    assert certify.statuses == {"Merge": 0} and not certify.failed, certify.output
    counted = certified(tmp_path / "artifacts" / "parity-certification")
    assert counted["target"] == MONOLITH and counted["summary"]["failed"] == 0
    verdicts = Counter(counts[0] for counts in counted["endpoints"].values())
    assert set(verdicts) == {"certified", "skipped"} and verdicts["certified"] > 10


def test_a_shard_that_cannot_run_fails_its_job(tmp_path: Path) -> None:
    (tmp_path / "artifacts").mkdir()
    context = {
        "vars.PARITY_STORE": str(tmp_path / "no-such-store"),
        "vars.PARITY_TARGET": CANDIDATE,
        "matrix.shard": "1",
    }
    job = run_job("replay", checkout(tmp_path / "repo"), tmp_path / "artifacts", context)
    assert job.statuses == {"Replay": 4} and job.failed, job.output  # a usage error
    # It uploads what it wrote, pytest's JUnit XML, and no report: the merge refuses it.
    assert [p.name for p in (tmp_path / "artifacts" / "parity-shard-1").iterdir()] == ["junit.xml"]


# Kubernetes ----------------------------------------------------------------------------

MANIFEST = list(yaml.safe_load_all((CI / "kubernetes-job.yaml").read_text()))


def one(kind: str, name: str | None = None) -> dict[str, Any]:
    document: dict[str, Any]
    (document,) = (
        d for d in MANIFEST if d["kind"] == kind and name in (None, d["metadata"]["name"])
    )
    return document


def container(job: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any]
    (found,) = job["spec"]["template"]["spec"]["containers"]
    return found


REPLAY, CERTIFY = one("Job", "parity-replay"), one("Job", "parity-certify")
_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' expansion of $(NAME) in a command or its arguments: a defined variable
    replaced, $$ a literal $, anything else kept."""
    return _REFERENCE.sub(lambda m: "$" if m[0] == "$$" else env.get(m[1], m[0]), text)


def run_pod(
    job: dict[str, Any],
    workspace: Path,
    reports: Path,
    values: Mapping[str, str],
    index: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """One pod of `job`: its container's command and arguments with the ConfigMap's
    variables (their values replaced by `values`), the Job's index, the claim's mount
    path read as `reports` and the working directory as `workspace`."""
    spec = container(job)
    env: dict[str, str] = {}
    for source in spec.get("envFrom", []):
        if "configMapRef" in source:
            data = one("ConfigMap", source["configMapRef"]["name"])["data"]
            assert set(values) == set(data)  # every value the manifest sets is a placeholder
            env.update(values)
        else:
            assert source["secretRef"]["optional"] is True  # may be absent, as here
    env.update({item["name"]: item["value"] for item in spec.get("env", [])})
    if index is not None:
        env["JOB_COMPLETION_INDEX"] = str(index)  # as Kubernetes sets it in an Indexed Job
    (mount,) = spec["volumeMounts"]
    argv = [expand(part, env) for part in spec["command"] + spec.get("args", [])]
    assert any(mount["mountPath"] in part for part in argv[1:])
    argv = [part.replace(mount["mountPath"], str(reports)) for part in argv]
    assert spec["workingDir"]  # where the image holds the repository: `workspace` here
    return execute(argv, workspace, {**machine(workspace.parent / "home"), **env})


def test_the_manifest_runs_one_shard_per_index_and_merges_them_from_one_claim() -> None:
    spec = REPLAY["spec"]
    (shards,) = re.findall(r"--replay-shards=(\d+)\b", " ".join(container(REPLAY)["args"]))
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == int(shards)
    claim = one("PersistentVolumeClaim")["metadata"]["name"]
    for job in (REPLAY, CERTIFY):
        pod = job["spec"]["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        assert [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]] == [claim]
        assert container(job)["volumeMounts"] == container(REPLAY)["volumeMounts"]
        assert container(job)["image"] == container(REPLAY)["image"]
        assert "REPLACE" in container(job)["image"]  # a placeholder, clearly
    rules = spec["podFailurePolicy"]["rules"]
    assert [r["onExitCodes"]["containerName"] for r in rules if "onExitCodes" in r] == ["replay"]
    assert container(REPLAY)["name"] == "replay"
    # The commands examples/ci/README.md gives name what the manifest holds.
    commands = [
        line
        for line in (CI / "README.md").read_text().splitlines()
        if line.startswith(("kubectl", "until kubectl", "test "))
    ]
    labels = [d["metadata"]["labels"] for d in MANIFEST]
    for selector in re.findall(r" -l (\S+)", "\n".join(commands)):
        key, value = selector.split("=")
        assert any(found.get(key) == value for found in labels), selector
    assert commands[0].startswith("kubectl delete job,pvc -l ")  # no report of the last run
    named = set(re.findall(r"job[/ ](parity-[a-z]+)", "\n".join(commands)))
    assert named == {REPLAY["metadata"]["name"], CERTIFY["metadata"]["name"]}
    # The first apply creates what the replay needs; the second, only the merge.
    component = {
        d["kind"]: d["metadata"]["labels"]["app.kubernetes.io/component"]
        for d in MANIFEST
        if d is not CERTIFY
    }
    assert component == dict.fromkeys(("ConfigMap", "PersistentVolumeClaim", "Job"), "replay")
    assert CERTIFY["metadata"]["labels"]["app.kubernetes.io/component"] == "certify"


def test_the_manifest_certifies_what_one_run_does_and_its_gate_fails_on_the_regression(
    store: Path, unsharded: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "claim"
    reports.mkdir()
    values = {"PARITY_STORE": str(store), "PARITY_TARGET": CANDIDATE}

    def pod(index: int) -> subprocess.CompletedProcess[str]:
        return run_pod(REPLAY, checkout(tmp_path / f"pod-{index}" / "app"), reports, values, index)

    with ThreadPoolExecutor(2) as pool:
        pods = list(pool.map(pod, range(REPLAY["spec"]["completions"])))
    for done in pods:  # differences found, and left to the merge to judge
        assert done.returncode == 0, done.stdout + done.stderr
    merge = run_pod(CERTIFY, checkout(tmp_path / "certify" / "app"), reports, {})
    assert merge.returncode == 1, merge.stdout + merge.stderr  # the release gate
    assert "parity certification" in merge.stdout
    assert certified(reports / "certification") == certified(unsharded)
    assert outcomes(reports / "certification" / "junit.xml") == outcomes(unsharded / "junit.xml")
    # An index past the last shard (a Job given more completions than shards) fails its pod.
    past = pod(REPLAY["spec"]["completions"])
    assert past.returncode == 4 and "JOB_COMPLETION_INDEX" in past.stdout + past.stderr
