"""Value mutants of the student functions: does a test notice when a function's results are off
by 1 % while every shape stays the same? (issue #17: "any mutant of a student region that
changes its values, not only its shape, fails `make test`").

The stub mutants (`make mutants`, tests/grading/mutants.log) replace a region with
`raise NotImplementedError`; a test kills those by merely calling the function. A value mutant
keeps the function running and only perturbs what it produces:

* its return value, recursively through tuples / lists / dicts: floating numpy arrays, torch
  floating tensors and Python floats are multiplied by 1.01 (torch: `out * 1.01`, so autograd
  still flows; a leaf tensor that requires grad, e.g. a freshly made parameter, is scaled in
  place under `torch.no_grad()` so that it stays a leaf). A returned `nn.Module` has its floating
  parameters scaled in place, a returned optimizer its learning rates;
* only when the return value holds no floating value at all: integer / bool arrays and tensors
  get "+1 on the first element" (bool: flipped), Python ints +1 (labels, indices, captions);
* a function returning None (`__init__`, a method filling `self`): every floating numpy array /
  torch tensor reachable one level deep on `self` (attributes, and the values of dict / list
  attributes such as cs231n's `self.params`) and every floating parameter of `self` when it is
  an `nn.Module`, scaled in place under `torch.no_grad()`. A plain function returning None:
  its floating array / tensor / module arguments, likewise.

A call whose results hold nothing of the above is "not value-mutable"; the report says so.

Plugin (loaded with `-p dl4cv_tools.grader.value_mutants`):

    pytest -p dl4cv_tools.grader.value_mutants \
        --value-mutant cs231n/assignment2::cs231n/layers.py::affine_forward tests/...

patches the function wherever the tests can reach it: an import hook wraps the function as soon
as its file is executed (course_module drops and re-imports an assignment's modules when the
tests switch assignments), and an autouse fixture re-applies the patch right before each test to
the module, to the class that defines a method, and to every alias (`from cs231n.layers import
*`) in the assignment's other modules.

Sweep (one pytest subprocess per student function, on the tests that declare it with
`@pytest.mark.reference`, see dl4cv_tools.verification):

    python -m dl4cv_tools.grader.value_mutants [--assignment A] [--only SUBSTR] [--log FILE]
"""
import argparse
import functools
import importlib.abc
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

FACTOR = 1.01
_MAX_DEPTH = 6

# What the wrapper did, for the report: calls, mutation kinds applied, calls that changed nothing.
STATE = {"calls": 0, "kinds": Counter(), "unmutated_calls": 0, "mutation_errors": []}


# ----------------------------------------------------------------------------- the mutation
def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency of the project
        return None
    return torch


def _is_float_array(x):
    import numpy as np
    return isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)


def _is_int_array(x):
    import numpy as np
    return isinstance(x, np.ndarray) and (np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_)


def _scale_module_params(module, kinds, seen):
    torch = _torch()
    n = 0
    with torch.no_grad():
        for p in module.parameters():
            if p.is_floating_point() and id(p) not in seen:
                seen.add(id(p))
                p.mul_(FACTOR)
                n += 1
    if n:
        kinds["module-params"] += 1
    return n


def _scale_floats(value, kinds, seen, depth=0):
    """`value` with every floating leaf scaled by FACTOR (new objects where possible)."""
    import numpy as np
    torch = _torch()
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (float, np.floating)):
        kinds["float"] += 1
        return type(value)(value * FACTOR)
    if _is_float_array(value):
        kinds["ndarray"] += 1
        return (value * FACTOR).astype(value.dtype, copy=False)
    if torch is not None and isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            return value
        if value.is_leaf and value.requires_grad:      # a parameter: keep it a leaf
            if id(value) not in seen:
                seen.add(id(value))
                with torch.no_grad():
                    value.mul_(FACTOR)
            kinds["tensor-param"] += 1
            return value
        kinds["tensor"] += 1
        return value * FACTOR
    if torch is not None and isinstance(value, torch.nn.Module):
        _scale_module_params(value, kinds, seen)
        return value
    if torch is not None and isinstance(value, torch.optim.Optimizer):
        for group in value.param_groups:
            if isinstance(group.get("lr"), float):
                group["lr"] *= FACTOR
                kinds["optimizer-lr"] += 1
        return value
    if isinstance(value, tuple):
        items = [_scale_floats(v, kinds, seen, depth + 1) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, list):
        return [_scale_floats(v, kinds, seen, depth + 1) for v in value]
    if isinstance(value, dict):
        out = {k: _scale_floats(v, kinds, seen, depth + 1) for k, v in value.items()}
        try:
            return type(value)(out)
        except Exception:  # noqa: BLE001 - a dict subclass with another constructor
            return out
    return value


def _bump_ints(value, kinds, depth=0):
    """`value` with +1 on the first element of every integer leaf (bool: flipped)."""
    import numpy as np
    torch = _torch()
    if depth > _MAX_DEPTH or value is None:
        return value
    if isinstance(value, bool):
        kinds["bool"] += 1
        return not value
    if isinstance(value, (int, np.integer)):
        kinds["int"] += 1
        return type(value)(value + 1)
    if _is_int_array(value) and value.size:
        out = value.copy()
        flat = out.reshape(-1)
        flat[0] = (not flat[0]) if out.dtype == np.bool_ else flat[0] + 1
        kinds["int-array"] += 1
        return out
    if torch is not None and isinstance(value, torch.Tensor):
        if value.is_floating_point() or value.is_complex() or not value.numel():
            return value
        out = value.clone()
        flat = out.view(-1) if out.is_contiguous() else out.reshape(-1)
        if out.dtype == torch.bool:
            flat[0] = ~flat[0]
        else:
            flat[0] += 1
        if not out.is_contiguous():
            out = flat.reshape(value.shape)
        kinds["int-tensor"] += 1
        return out
    if isinstance(value, tuple):
        items = [_bump_ints(v, kinds, depth + 1) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, list):
        return [_bump_ints(v, kinds, depth + 1) for v in value]
    if isinstance(value, dict):
        out = {k: _bump_ints(v, kinds, depth + 1) for k, v in value.items()}
        try:
            return type(value)(out)
        except Exception:  # noqa: BLE001
            return out
    return value


def _scale_in_place(obj, kinds, seen):
    """Scale one object's floating contents in place (no new objects)."""
    torch = _torch()
    if id(obj) in seen:
        return
    if _is_float_array(obj):
        if obj.flags.writeable:
            seen.add(id(obj))
            obj *= FACTOR
            kinds["ndarray-inplace"] += 1
    elif torch is not None and isinstance(obj, torch.Tensor):
        if obj.is_floating_point():
            seen.add(id(obj))
            with torch.no_grad():
                obj.mul_(FACTOR)
            kinds["tensor-inplace"] += 1
    elif torch is not None and isinstance(obj, torch.nn.Module):
        _scale_module_params(obj, kinds, seen)


def _scale_self(self, kinds, seen):
    """In place: floating attributes of `self`, one level deep, and its module parameters."""
    torch = _torch()
    if torch is not None and isinstance(self, torch.nn.Module):
        _scale_module_params(self, kinds, seen)
    attrs = getattr(self, "__dict__", {})
    for name, v in list(attrs.items()):
        if name in ("_parameters", "_modules"):          # done above by parameters()
            continue
        _scale_in_place(v, kinds, seen)
        if isinstance(v, dict):
            for w in list(v.values()):
                _scale_in_place(w, kinds, seen)
        elif isinstance(v, (list, tuple)):
            for w in v:
                _scale_in_place(w, kinds, seen)


def mutate_result(result, args=(), kwargs=None, is_method=False, kinds=None):
    """The mutated result of one call (and, for None, the in-place mutation); -> (result, kinds)."""
    kinds = Counter() if kinds is None else kinds
    seen = set()
    if result is None:
        if is_method and args:
            _scale_self(args[0], kinds, seen)
        else:
            for a in list(args) + list((kwargs or {}).values()):
                _scale_in_place(a, kinds, seen)
        return result, kinds
    before = sum(kinds.values())
    out = _scale_floats(result, kinds, seen)
    if sum(kinds.values()) == before:
        out = _bump_ints(result, kinds)
    return out, kinds


def value_mutant(fn, is_method=False):
    """`fn` wrapped so that its results change by a relative 1e-2 (see the module docstring)."""
    if getattr(fn, "__value_mutant_of__", None) is not None:
        return fn

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        result = fn(*args, **kwargs)
        STATE["calls"] += 1
        kinds = Counter()
        try:
            result, kinds = mutate_result(result, args, kwargs, is_method, kinds)
        except Exception as exc:  # noqa: BLE001 - report it; the call keeps its true result
            STATE["mutation_errors"].append(f"{type(exc).__name__}: {exc}")
            return result
        if not kinds:
            STATE["unmutated_calls"] += 1
        STATE["kinds"].update(kinds)
        return result

    wrapper.__value_mutant_of__ = fn
    return wrapper


# ----------------------------------------------------------------------------- the patch
class Target:
    """"<assignment>::<path in assignment>::<qualname>" and where it lives on disk."""

    def __init__(self, spec):
        try:
            self.assignment, self.path, self.qualname = spec.split("::")
        except ValueError:
            raise pytest.UsageError(f"--value-mutant {spec!r}: expected ASSIGNMENT::PATH::QUALNAME")
        from dl4cv.paths import REPO_ROOT
        from dl4cv_tools.testing import resolve_folder
        folder = resolve_folder(self.assignment)
        if not folder.is_absolute():
            folder = REPO_ROOT / folder
        self.folder = folder.resolve()
        self.file = (self.folder / self.path).resolve()
        self.stem = self.file.stem
        self.spec = spec
        self.wrappers = {}          # id(original) -> (original, wrapper)

    def check(self):
        """Statically: the file exists and defines the qualname."""
        import ast
        if not self.file.is_file():
            raise pytest.UsageError(f"--value-mutant: no file {self.file}")
        body = ast.parse(self.file.read_text()).body
        for part in self.qualname.split("."):
            node = next((n for n in body if isinstance(
                n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == part), None)
            if node is None:
                raise pytest.UsageError(f"--value-mutant: {self.path} defines no {self.qualname}")
            body = node.body

    def _is_target_module(self, mod):
        path = getattr(mod, "__file__", None)
        if not path:
            return False
        try:
            return Path(path).resolve() == self.file
        except OSError:
            return False

    def _wrap(self, original, is_method):
        entry = self.wrappers.get(id(original))
        if entry is None:
            entry = self.wrappers[id(original)] = (original, value_mutant(original, is_method))
        return entry[1]

    def patch_module(self, mod):
        """Wrap the function in `mod` (the target file's module object)."""
        *owners, name = self.qualname.split(".")
        owner = mod
        for part in owners:
            owner = getattr(owner, part, None)
            if owner is None:
                return False
        raw = owner.__dict__.get(name) if owners else getattr(owner, name, None)
        if raw is None:
            return False
        if isinstance(raw, (staticmethod, classmethod)):
            inner = raw.__func__
            if getattr(inner, "__value_mutant_of__", None) is None:
                setattr(owner, name, type(raw)(self._wrap(inner, is_method=isinstance(raw, classmethod))))
            return True
        if getattr(raw, "__value_mutant_of__", None) is not None:
            return True
        setattr(owner, name, self._wrap(raw, is_method=bool(owners)))
        return True

    def apply(self):
        """Patch every loaded copy of the target module, then aliases in the assignment's modules."""
        patched = False
        for mod in list(sys.modules.values()):
            if mod is not None and self._is_target_module(mod):
                patched |= self.patch_module(mod)
        if "." in self.qualname or not self.wrappers:
            return patched
        prefix = str(self.folder) + os.sep
        for mod in list(sys.modules.values()):
            path = getattr(mod, "__file__", None) or ""
            if not path.startswith(prefix):
                continue
            for attr, v in list(vars(mod).items()):
                entry = self.wrappers.get(id(v))
                if entry is not None and entry[0] is v:
                    setattr(mod, attr, entry[1])
        return patched


class _Loader(importlib.abc.Loader):
    def __init__(self, loader, target):
        self._loader, self._target = loader, target

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._target.patch_module(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _ImportHook(importlib.abc.MetaPathFinder):
    """Wraps the target as soon as its file is executed, under whatever module name."""

    def __init__(self, target):
        self.target = target
        self._busy = False

    def find_spec(self, name, path=None, target=None):
        if self._busy or name.rpartition(".")[2] != self.target.stem:
            return None
        self._busy = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._busy = False
        origin = getattr(spec, "origin", None)
        if origin and spec.loader is not None and Path(origin).resolve() == self.target.file:
            spec.loader = _Loader(spec.loader, self.target)
        return spec


_active = {"target": None, "report": None, "outcomes": Counter()}


def pytest_addoption(parser):
    group = parser.getgroup("value mutants")
    group.addoption("--value-mutant", default=None, metavar="ASSIGNMENT::PATH::QUALNAME",
                    help="scale the results of this student function by 1.01 in every test")
    group.addoption("--value-mutant-report", default=None, metavar="FILE",
                    help="write what the mutant did (calls, kinds, outcomes) as JSON to FILE")


def pytest_configure(config):
    spec = config.getoption("--value-mutant")
    _active["report"] = config.getoption("--value-mutant-report")
    if not spec:
        return
    target = Target(spec)
    target.check()
    _active["target"] = target
    sys.meta_path.insert(0, _ImportHook(target))
    target.apply()


@pytest.fixture(autouse=True)
def _value_mutant_patch():
    target = _active["target"]
    if target is not None:
        target.apply()
    yield


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _active["outcomes"][report.outcome] += 1


def pytest_unconfigure(config):
    path = _active["report"]
    if not path:
        return
    Path(path).write_text(json.dumps({
        "calls": STATE["calls"], "kinds": dict(STATE["kinds"]),
        "unmutated_calls": STATE["unmutated_calls"],
        "mutation_errors": STATE["mutation_errors"][:5],
        "outcomes": dict(_active["outcomes"])}))


# ----------------------------------------------------------------------------- the sweep
def node_ids(decls):
    """Test node ids, in order, for a function's declarations."""
    seen = []
    for d in decls:
        node = d.test_file + "::" + d.test_name.replace(".", "::")
        if node not in seen:
            seen.append(node)
    return seen


def run_one(assignment, function, nodes, timeout=600):
    """-> (status, detail, seconds) for one function's value mutant."""
    from dl4cv.paths import REPO_ROOT
    spec = f"{assignment}::{function}"
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-p", "dl4cv_tools.grader.value_mutants", "--value-mutant", spec,
               "--value-mutant-report", str(report_path), *nodes]
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return "ERROR", f"timeout after {timeout}s", time.monotonic() - start
        seconds = time.monotonic() - start
        report = json.loads(report_path.read_text()) if report_path.exists() else None
    tail = (proc.stdout.strip().splitlines() or [""])[-1]
    if report is None:
        err = (proc.stderr.strip().splitlines() or [tail])[-1]
        return "ERROR", f"rc={proc.returncode} {err}", seconds
    outcomes = report["outcomes"]
    kinds = ",".join(f"{k}:{v}" for k, v in sorted(report["kinds"].items())) or "-"
    detail = (f"calls={report['calls']} kinds={kinds} passed={outcomes.get('passed', 0)} "
              f"failed={outcomes.get('failed', 0)} skipped={outcomes.get('skipped', 0)}")
    if report["mutation_errors"]:
        detail += f" mutation_errors={report['mutation_errors'][0]!r}"
    if proc.returncode == 1 and outcomes.get("failed"):
        if report["calls"] and not report["kinds"]:
            return "NOT-MUTABLE", detail + " (failed although nothing was mutated)", seconds
        return "KILLED", detail, seconds
    if proc.returncode == 0:
        if not outcomes.get("passed"):
            return "ERROR", detail + " (no test ran)", seconds
        if report["calls"] == 0:
            return "SURVIVED", detail + " (never called by its tests)", seconds
        if not report["kinds"]:
            return "NOT-MUTABLE", detail, seconds
        return "SURVIVED", detail, seconds
    return "ERROR", f"rc={proc.returncode} {detail} {tail}", seconds


def main(argv=None):
    from dl4cv_tools import verification
    parser = argparse.ArgumentParser(prog="python -m dl4cv_tools.grader.value_mutants",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", action="append",
                        help="only this assignment (repeatable), e.g. cs231n/assignment2")
    parser.add_argument("--only", help="only functions whose name contains SUBSTR")
    parser.add_argument("--log", help="write the results to FILE as well")
    parser.add_argument("--merge", action="store_true",
                        help="with --log: keep FILE's other lines, replace only the functions run now")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per function")
    args = parser.parse_args(argv)

    cov, _ = verification.coverage()
    lines = ["# Value mutants (python -m dl4cv_tools.grader.value_mutants): each student function's",
             f"# results scaled by {FACTOR} (int outputs +1 on the first element when there is no",
             "# float), run against the tests that declare it with @pytest.mark.reference.",
             "# KILLED: a declared test failed; SURVIVED: all passed; NOT-MUTABLE: called, but its",
             "# results hold nothing to scale; ERROR: the run itself failed."]
    merge_into = read_log(args.log) if args.merge and args.log and Path(args.log).exists() else None
    log = open(args.log, "w", buffering=1) if args.log and merge_into is None else None

    def emit(line):
        print(line, flush=True)
        if log:
            log.write(line + "\n")

    for line in lines:
        emit(line)
    results = {}          # assignment -> {function: result line}
    for assignment, info in cov.items():
        if args.assignment and assignment not in args.assignment:
            continue
        fns = [f for f in info["functions"] if not args.only or args.only in f]
        if not fns:
            continue
        emit(f"== {assignment}")
        for i, fn in enumerate(fns, 1):
            decls = info["covered"].get(fn, [])
            if not decls:
                status, detail, seconds = "ERROR", "no declared test", 0.0
            else:
                print(f"[{assignment} {i}/{len(fns)}] {fn} ...", file=sys.stderr, flush=True)
                status, detail, seconds = run_one(assignment, fn, node_ids(decls), args.timeout)
            print(f"[{assignment} {i}/{len(fns)}] {fn}: {status} ({seconds:.1f}s)",
                  file=sys.stderr, flush=True)
            line = f"{status:<11} {fn}  [{seconds:.1f}s] {detail}"
            results.setdefault(assignment, {})[fn] = line
            emit(line)
        emit(_summary(f"summary {assignment}:", results[assignment].values()))
    emit(_summary("total:", [ln for r in results.values() for ln in r.values()]))
    if log:
        log.close()
    if merge_into is not None:
        for assignment, lines_of in results.items():
            merge_into.setdefault(assignment, {}).update(lines_of)
        order = {a: i for i, a in enumerate(cov)}
        out = lines[:]
        for assignment in sorted(merge_into, key=lambda a: order.get(a, len(order))):
            out.append(f"== {assignment}")
            out += [merge_into[assignment][fn] for fn in sorted(merge_into[assignment])]
            out.append(_summary(f"summary {assignment}:", merge_into[assignment].values()))
        out.append(_summary("total:", [ln for r in merge_into.values() for ln in r.values()]))
        Path(args.log).write_text("\n".join(out) + "\n")
    return 0


_LINE_RE = re.compile(r"^(?P<status>KILLED|SURVIVED|NOT-MUTABLE|ERROR)\s+(?P<fn>\S+)\s+\[(?P<s>[\d.]+)s\]")


def read_log(path):
    """-> {assignment: {function: its result line}} from a value-mutant log."""
    found, current = {}, None
    for line in Path(path).read_text().splitlines():
        if line.startswith("== "):
            current = found.setdefault(line[3:].strip(), {})
        elif current is not None and (m := _LINE_RE.match(line)):
            current[m.group("fn")] = line
    return found


def _summary(prefix, result_lines):
    """One summary line (counts per status, seconds) over result lines."""
    counts, seconds = Counter(), 0.0
    for line in result_lines:
        m = _LINE_RE.match(line)
        counts[m.group("status")] += 1
        seconds += float(m.group("s"))
    return (f"{prefix} functions={sum(counts.values())} " + " ".join(
        f"{k.lower()}={counts[k]}" for k in ("KILLED", "SURVIVED", "NOT-MUTABLE", "ERROR"))
        + f" seconds={seconds:.0f}")


if __name__ == "__main__":
    sys.exit(main())
