#!/usr/bin/env python3
"""Which Keras 3 operation nodes do real models hold?  (issue #15)

Counts the op nodes (layer entries of a functional model's config whose module
is ``keras.src.ops.*`` or ``keras.src.activations.*``: ``x * 0.5``,
``keras.ops.concatenate``, ``x[:, 0]``, the ``NotEqual`` mask of
``Embedding(mask_zero=True)``, ...) over

- every model of ``keras.applications`` (random weights, default input size), and
- every model that can be built from the keras.io example scripts without data
  downloads or training: each script runs one top-level statement at a time in a
  subprocess with the network cut off and ``fit``/``evaluate``/``predict`` replaced
  by stubs; a statement that fails (no data, a missing package, ...) is skipped
  and the script goes on; a statement gets 30 s.  Then every function of the
  script whose name contains "model" and whose required arguments all have
  globals of the same name is called.  Every Keras model left in the script's
  namespace (or returned) counts, except those nested in another one.

and writes bench/results/op_survey.md (and a JSON of the raw counts).  Needs Keras
3 with the TensorFlow backend (the examples under tensorflow/ import it): run in
.venv-tf (requirements/tf.txt):

    nice -n 10 .venv-tf/bin/python tools/op_survey.py --examples-git GITDIR --examples-rev REV

GITDIR/REV: a git directory holding the keras.io example scripts under
``examples/keras_io`` (keras-team/keras before #19042 had a copy of them).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STATEMENT_SECONDS = 30
SCRIPT_SECONDS = 600

#: Issue #15's supported set, as Keras 3 op classes (module keras.src.ops.*), and the activations as ops.
SUPPORTED = {
    "add": {"Add"}, "subtract": {"Subtract"}, "multiply": {"Multiply"}, "divide": {"Divide", "TrueDivide"},
    "power": {"Power"}, "negative": {"Negative"}, "abs": {"Absolute", "Abs"}, "square": {"Square"},
    "sqrt": {"Sqrt"}, "exp": {"Exp"}, "log": {"Log"}, "minimum": {"Minimum"}, "maximum": {"Maximum"},
    "clip": {"Clip"}, "equal": {"Equal"}, "not_equal": {"NotEqual"}, "greater": {"Greater"}, "less": {"Less"},
    "where": {"Where"}, "mean": {"Mean"}, "sum": {"Sum"}, "max": {"Max", "Amax"}, "min": {"Min", "Amin"},
    "reshape": {"Reshape"}, "transpose": {"Transpose"}, "expand_dims": {"ExpandDims"}, "squeeze": {"Squeeze"},
    "concatenate": {"Concatenate"}, "stack": {"Stack"}, "slicing": {"GetItem"}, "matmul": {"Matmul"},
    "cast": {"Cast"},
}
#: Activation functions as ops (keras.ops.* and keras.activations.* called on a tensor).
ACTIVATIONS = {"Relu", "ReLU", "Relu6", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Softplus", "Softsign", "Silu",
               "Swish", "Gelu", "GELU", "Elu", "ELU", "Selu", "SELU", "LeakyRelu", "LeakyReLU", "HardSigmoid",
               "HardSilu", "HardSwish", "Mish", "Linear"}


def supported(op_class: str) -> bool:
    return op_class in ACTIVATIONS or any(op_class in classes for classes in SUPPORTED.values())


# ---------------------------------------------------------------------------------------------
# In a child process: build models, report their op nodes.

def _op_nodes(config: dict[str, Any]) -> tuple[Counter[str], int, Counter[str]]:
    """(op classes, number of layer entries, classes of custom layers) of a functional config, nested too."""
    ops: Counter[str] = Counter()
    custom: Counter[str] = Counter()
    entries = 0
    stack = [config]
    while stack:
        cfg = stack.pop()
        for entry in (cfg.get("config") or {}).get("layers") or []:
            entries += 1
            module = entry.get("module") or ""
            if module.startswith(("keras.src.ops", "keras.src.activations")):
                ops[entry["class_name"]] += 1
            elif module != "keras" and not module.startswith(("keras.layers", "keras.src.layers", "keras.src.models", "keras.models",
                                        "keras.src.applications", "keras.applications")):
                custom[f"{module}.{entry['class_name']}" if module else entry["class_name"]] += 1
            if isinstance(entry.get("config"), dict) and isinstance(entry["config"].get("layers"), list):
                stack.append(entry)
    return ops, entries, custom


def _describe(model: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": model.name, "class": type(model).__name__}
    try:
        config = {"config": model.get_config()}
        if not isinstance(config["config"].get("layers"), list):
            raise TypeError("no layers in get_config()")
    except Exception as exc:  # a subclassed model: no graph config, no op nodes to see
        out["graph"] = False
        out["why"] = f"{type(exc).__name__}: {str(exc)[:120]}"
        return out
    ops, entries, custom = _op_nodes(config)
    out.update({"graph": True, "layers": entries, "ops": dict(ops), "custom_layers": dict(custom)})
    return out


def _inner_models(model: Any, keras: Any) -> set[int]:
    found: set[int] = set()
    stack = [model]
    while stack:
        for layer in getattr(stack.pop(), "layers", []) or []:
            if isinstance(layer, keras.Model) and id(layer) not in found:
                found.add(id(layer))
                stack.append(layer)
    return found


class _Alarm(Exception):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Alarm(f"statement over {STATEMENT_SECONDS} s")


def _cut_network() -> None:
    import socket

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError("op_survey: no network")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]


def _stub_training(keras: Any) -> None:
    def no_training(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("op_survey: no training, evaluation or prediction")

    for name in ("fit", "evaluate", "predict", "train_on_batch", "test_on_batch", "predict_on_batch"):
        setattr(keras.Model, name, no_training)
    keras.utils.get_file = no_training


def run_script(path: Path) -> dict[str, Any]:
    _cut_network()
    import keras

    _stub_training(keras)
    signal.signal(signal.SIGALRM, _on_alarm)
    source = path.read_text()
    tree = ast.parse(source)
    namespace: dict[str, Any] = {"__name__": "__survey__", "__file__": str(path)}
    ok = failed = 0
    errors: list[str] = []
    os.chdir(tempfile.mkdtemp(prefix="op_survey_"))  # files the script writes go to a scratch folder
    for stmt in tree.body:
        code = compile(ast.Module(body=[stmt], type_ignores=[]), str(path), "exec")
        signal.alarm(STATEMENT_SECONDS)
        try:
            exec(code, namespace)
            ok += 1
        except (Exception, _Alarm, SystemExit) as exc:
            failed += 1
            if len(errors) < 3:
                errors.append(f"line {stmt.lineno}: {type(exc).__name__}: {str(exc).splitlines()[0][:150] if str(exc) else ''}")
        finally:
            signal.alarm(0)
    found: list[Any] = [v for v in namespace.values() if isinstance(v, keras.Model)]
    called = 0
    for name, fn in list(namespace.items()):
        if not (callable(fn) and "model" in name.lower() and getattr(fn, "__module__", None) == "__survey__"
                and not isinstance(fn, type)):
            continue
        try:
            import inspect

            params = [p for p in inspect.signature(fn).parameters.values()
                      if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            if any(p.name not in namespace for p in params):
                continue
            signal.alarm(STATEMENT_SECONDS)
            called += 1
            result = fn(**{p.name: namespace[p.name] for p in params})
            for item in result if isinstance(result, (list, tuple)) else [result]:
                if isinstance(item, keras.Model):
                    found.append(item)
        except (Exception, _Alarm, SystemExit):
            pass
        finally:
            signal.alarm(0)
    unique = {id(m): m for m in found}
    nested = set().union(*(_inner_models(m, keras) for m in unique.values())) if unique else set()
    models = [_describe(m) for i, m in unique.items() if i not in nested]
    return {"statements_ok": ok, "statements_failed": failed, "errors": errors, "builders_called": called,
            "models": models}


def run_application(name: str) -> dict[str, Any]:
    import keras

    model = getattr(keras.applications, name)(weights=None)
    return {"models": [_describe(model)]}


# ---------------------------------------------------------------------------------------------
# The parent: one subprocess per script / application, then the report.

def _child(args: list[str], timeout: int) -> dict[str, Any]:
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               MPLBACKEND="Agg")
    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout,
                              env=env)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "models": [], "seconds": timeout}
    seconds = round(time.monotonic() - start, 1)
    marker = "@@op_survey@@"
    lines = [line for line in proc.stdout.splitlines() if line.startswith(marker)]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
        return {"status": "crashed", "models": [], "error": tail, "seconds": seconds}
    result = json.loads(lines[-1][len(marker):])
    result["status"] = "ok"
    result["seconds"] = seconds
    return result


def _extract(git_dir: str, rev: str, into: Path) -> list[Path]:
    names = subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "-r", "--name-only", rev, "--",
                            "examples/keras_io"], capture_output=True, text=True, check=True).stdout.split()
    out = []
    for name in sorted(n for n in names if n.endswith(".py")):
        text = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{rev}:{name}"], capture_output=True,
                              text=True, check=True).stdout
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        out.append(target)
    return out


def survey(args: argparse.Namespace) -> dict[str, Any]:
    import keras

    work = ROOT / "build" / "op_survey"
    work.mkdir(parents=True, exist_ok=True)
    scripts = _extract(args.examples_git, args.examples_rev, work)
    if args.limit:
        scripts = scripts[: args.limit]
    apps = sorted(n for n in dir(keras.applications) if n[:1].isupper())
    if args.limit:
        apps = apps[: args.limit]
    result: dict[str, Any] = {"examples_git_rev": args.examples_rev, "keras_version": keras.__version__,
                              "backend": "tensorflow", "scripts": {}, "applications": {}}
    for path in scripts:
        rel = str(path.relative_to(work / "examples" / "keras_io"))
        print(rel, flush=True)
        result["scripts"][rel] = _child(["--one-script", str(path)], SCRIPT_SECONDS)
    for name in apps:
        print(name, flush=True)
        result["applications"][name] = _child(["--one-app", name], SCRIPT_SECONDS)
    return result


def _models(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every graph model, a script's models with the same profile (layer count, op nodes, custom
    layers) once: a script's statements and its builder functions often make the same model twice."""
    out = []
    for source in ("applications", "scripts"):
        for name, entry in result[source].items():
            seen = set()
            for model in entry.get("models", []):
                profile = json.dumps([model.get("layers"), model.get("ops"), model.get("custom_layers")], sort_keys=True)
                if model.get("graph") and profile not in seen:
                    seen.add(profile)
                    out.append((f"{name}: {model['name']}" if source == "scripts" else name, model))
    return out


def render(result: dict[str, Any], command: str) -> str:
    scripts = result["scripts"]
    apps = result["applications"]
    models = _models(result)
    script_models = [m for n, m in models if ":" in n]
    with_model = [n for n, e in scripts.items() if any(m.get("graph") for m in e.get("models", []))]
    subclassed_only = [n for n, e in scripts.items() if e.get("models") and n not in with_model]
    none = [n for n, e in scripts.items() if not e.get("models")]
    by_status = Counter(e["status"] for e in scripts.values())
    ops: Counter[str] = Counter()
    holders: Counter[str] = Counter()
    for _, m in models:
        ops.update(m["ops"])
        holders.update(set(m["ops"]))
    total = sum(ops.values())
    covered = sum(n for c, n in ops.items() if supported(c))
    with_ops = [(n, m) for n, m in models if m["ops"]]
    fully = [n for n, m in with_ops if all(supported(c) for c in m["ops"])]
    custom = [(n, m) for n, m in models if m["custom_layers"]]
    lines = [
        "# Keras 3 operation nodes in real models (issue #15)",
        "",
        f"Made by `{command}` (Keras {result['keras_version']}, backend {result['backend']}, random weights).",
        "",
        "An operation node is a layer entry of a functional model's config whose module is `keras.src.ops.*` or "
        "`keras.src.activations.*`: what Keras 3 records when a model calls `x * 0.5`, `keras.ops.mean`, `x[:, 0]`, "
        "an activation function, or `Embedding(mask_zero=True)`'s mask (`NotEqual`). tf.keras's TFOpLambda does not "
        "occur here: every source below is Keras 3.",
        "",
        "## What was built",
        "",
        f"- **keras.applications**: {len(apps)} models, {sum(1 for e in apps.values() if e['status'] == 'ok')} built "
        "with `weights=None` at their default input size"
        + (f"; not built: {', '.join(n for n, e in apps.items() if e['status'] != 'ok')}" if any(
            e["status"] != "ok" for e in apps.values()) else "") + ".",
        f"- **keras.io examples**: the {len(scripts)} scripts of `examples/keras_io` in keras-team/keras at "
        f"`{result['examples_git_rev'][:12]}` (Jan 2024, the Keras 3 ports of keras.io examples, removed from that "
        "repository by #19042; the keras-io repository itself, 938 MB, was over this workplace's fetch limit). "
        "Each script ran statement by statement in its own process, network cut off, `fit`/`evaluate`/`predict` "
        "and `get_file` stubbed to fail, a failing statement skipped, 30 s a statement; then its functions named "
        "`*model*` whose required arguments have same-named globals were called.",
        f"  - {len(with_model)} scripts gave at least one functional/Sequential model ({len(script_models)} models, "
        "nested models counted inside their outer model only, models of one script with the same layer count, "
        "op nodes and custom layers once);",
        f"  - {len(subclassed_only)} gave only subclassed models (no graph config, so no op nodes can be seen): "
        + (", ".join(f"`{n}`" for n in subclassed_only) or "none") + ";",
        f"  - {len(none)} gave no model (skipped): the model needs downloaded data or pretrained weights for its "
        "shapes, a package not installed here (keras_nlp, keras_cv, tensorflow_datasets, pandas, matplotlib, ...), "
        "or a statement over its time. Process status of all scripts: "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())) + ".",
        "",
        "## Op nodes",
        "",
        f"{total} op nodes in {len(with_ops)} of the {len(models)} graph models; **{covered} of {total} "
        f"({100.0 * covered / total if total else 0:.1f}%) are in issue #15's supported set**; "
        f"{len(fully)} of the {len(with_ops)} models with op nodes hold only supported ones.",
        "",
        "Read with care: the counts come from few models (ConvNeXt's five sizes hold 162 of them with "
        "the same pattern), so the share says which ops occur, not how often users meet them. Operations inside "
        "custom layers (a `TransformerEncoder` class calling `keras.ops`) are not op nodes and are not counted "
        "(those models are listed below: C refuses their custom layers anyway). Most text models of the examples "
        "needed data or packages not here, so `Embedding(mask_zero=True)`'s `NotEqual` did not show up.",
        "",
        "| op class | in #15's set | nodes | models |",
        "|---|---|---|---|",
    ]
    for cls, n in sorted(ops.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"| `{cls}` | {'yes' if supported(cls) else '**no**'} | {n} | {holders[cls]} |")
    lines += ["", "## Models with op nodes", "", "| model | layers | op nodes | not in the set |", "|---|---|---|---|"]
    for name, m in sorted(with_ops):
        outside = sorted(c for c in m["ops"] if not supported(c))
        lines.append(f"| {name} | {m['layers']} | {sum(m['ops'].values())} | {', '.join(outside) or '-'} |")
    lines += ["", "## Custom layers (outside keras.layers: refused in C whatever the ops)", ""]
    lines += [f"- {n}: " + ", ".join(f"`{c}` x{k}" for c, k in sorted(m["custom_layers"].items())) for n, m in custom]
    if not custom:
        lines.append("none")
    lines += ["", "## #15's supported set, as Keras 3 op classes", ""]
    lines += [", ".join(f"{k}: {'/'.join(sorted(v))}" for k, v in SUPPORTED.items()) + "; activations as ops: "
              + "/".join(sorted(ACTIVATIONS)) + "."]
    lines += ["", "## Per script", "", "| script | status | statements ok / failed | graph models | first errors |",
              "|---|---|---|---|---|"]
    for name, e in scripts.items():
        graphs = sum(1 for m in e.get("models", []) if m.get("graph"))
        err = "; ".join(e.get("errors") or [e.get("error", "")]).replace("|", "\\|")
        lines.append(f"| `{name}` | {e['status']} | {e.get('statements_ok', '-')} / {e.get('statements_failed', '-')} "
                     f"| {graphs} | {err} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples-git", help="git directory with examples/keras_io")
    parser.add_argument("--examples-rev", default="2588a15440a10de8d0cc10b50c21ede333a2bd01")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "op_survey.md"))
    parser.add_argument("--limit", type=int, default=0, help="first N scripts and applications only (a trial)")
    parser.add_argument("--render-only", help="render the report from this JSON of a previous run")
    parser.add_argument("--one-script", help=argparse.SUPPRESS)
    parser.add_argument("--one-app", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_script or args.one_app:
        out = run_script(Path(args.one_script)) if args.one_script else run_application(args.one_app)
        print("@@op_survey@@" + json.dumps(out), flush=True)
        os._exit(0)  # some scripts leave threads behind
    command = "nice -n 10 .venv-tf/bin/python tools/op_survey.py --examples-git GITDIR (keras-team/keras)"
    out = Path(args.out)
    if args.render_only:
        result = json.loads(Path(args.render_only).read_text())
    else:
        if not args.examples_git:
            parser.error("--examples-git is needed (a git directory of keras-team/keras)")
        result = survey(args)
        out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    out.write_text(render(result, command))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
