"""The check-cell scan: an expected value in a notebook's check cells never restates the
solution (an ast analysis of where each compared value comes from)."""
import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

from dl4cv_tools.release.files import _excluded


# A check cell (a code cell not tagged `solution`) compares what a student function returns
# with an expected value. The expected value may be: literals and arrays of literals, data
# loaded from a file, a numeric gradient, the output of the function under test, or a torch /
# torch.nn.functional / torchvision op called as a black box. It must not be written out as
# numpy/torch math on the inputs (`np.tanh(x.dot(Wx) + b)`), built by a loop of such math, come
# from a lambda or local function that re-implements the solution, or gather by array indexing
# (`W[x]`): that is the answer, shipped in the release. `check_cells` follows, with Python's
# ast, where each compared value comes from (assignments in this and earlier check cells).
#
# Provenance kinds: LIT (literals, constant arrays), INPUT (random inputs, affine in literals),
# DATA (what a given helper returns: a data set, an image), LOAD (files), NUMGRAD (numeric
# gradients), BLACKBOX (a torch op or module), STUDENT
# (anything a student function, object or solution cell produced), NEUTRAL (unknown: loop
# variables, names from nowhere), FUNC (a lambda / local function: `ret` is what it returns),
# DERIVED (a formula: `why` says where).
COMPARE_FUNCS = {"rel_error", "relative_error", "check", "allclose", "isclose", "array_equal",
                 "assert_allclose", "assert_array_almost_equal", "assert_almost_equal",
                 "assert_array_equal", "assert_equal", "assert_array_less", "assert_close",
                 "equal", "compare"}
NUMGRAD_FUNCS = {"eval_numerical_gradient", "eval_numerical_gradient_array",
                 "eval_numerical_gradient_blobs", "eval_numerical_gradient_net",
                 "grad_check_sparse", "compute_numeric_gradient"}
# Calls and methods that measure a difference: a compared value is followed through them.
DIFF_OPS = {"abs", "max", "min", "mean", "sum", "norm", "sqrt", "maximum", "minimum", "float",
            "item", "amax", "fabs", "square", "linalg", "int", "double", "cpu", "detach",
            "numpy", "flatten", "reshape", "view", "astype", "to", "tolist", "all", "any"}
SHAPE_METHODS = {"reshape", "view", "astype", "to", "copy", "clone", "detach", "numpy", "cpu",
                 "cuda", "float", "double", "half", "long", "int", "item", "tolist", "squeeze",
                 "unsqueeze", "flatten", "ravel", "contiguous", "transpose", "permute", "t",
                 "requires_grad_", "type", "view_as", "reshape_as", "expand", "expand_as",
                 "swapaxes", "copy_", "type_as", "get", "values", "keys", "items", "flip"}
MATH_METHODS = {"dot", "mm", "matmul", "bmm", "sum", "mean", "max", "min", "exp", "log", "tanh",
                "sigmoid", "relu", "clamp", "clip", "pow", "sqrt", "abs", "argmax", "argmin",
                "softmax", "log_softmax", "cumsum", "prod", "std", "var", "norm", "mul", "add",
                "sub", "div", "outer", "neg", "sign", "maximum", "minimum", "round", "floor",
                "ceil", "masked_fill", "where", "gather", "index_select", "scatter", "sin", "cos",
                "square", "logsumexp", "exp_", "add_", "mul_", "sub_", "div_", "clamp_", "tanh_",
                "sigmoid_", "relu_", "addmm", "baddbmm", "einsum", "cumprod", "take",
                "take_along_axis", "logaddexp", "log1p", "expm1", "reciprocal", "rsqrt", "sqrt_"}
MUTATING_METHODS = {"append", "extend", "insert", "add_", "update", "setdefault", "fill_",
                    "index_put_", "copy_", "masked_fill_", "scatter_", "mul_", "sub_", "div_"}
ARRAY_CTORS = {"array", "asarray", "asfarray", "ascontiguousarray", "float32", "float64",
               "int32", "int64", "uint8", "copy", "stack", "concatenate", "vstack", "hstack",
               "dstack", "column_stack", "reshape", "transpose", "squeeze", "expand_dims",
               "atleast_1d", "atleast_2d", "moveaxis", "swapaxes", "tile", "repeat",
               "broadcast_to", "split", "array_split", "tensor", "as_tensor", "from_numpy",
               "Tensor", "FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "cat",
               "unsqueeze", "flatten", "permute", "clone", "vsplit", "hsplit", "chunk"}
FILL_CTORS = {"zeros", "ones", "empty", "full", "eye", "identity", "arange", "linspace",
              "logspace", "zeros_like", "ones_like", "empty_like", "full_like", "meshgrid",
              "tril", "triu", "tri", "range"}
TORCH_RANDOM = {"randn", "rand", "randint", "randn_like", "rand_like", "randint_like",
                "randperm", "normal", "manual_seed", "bernoulli", "multinomial", "poisson",
                "seed", "uniform_", "normal_"}
TORCH_MATH = {"mm", "matmul", "bmm", "tanh", "exp", "log", "sum", "mean", "sigmoid", "sqrt",
              "pow", "abs", "clamp", "einsum", "where", "max", "min", "dot", "mul", "add", "sub",
              "div", "square", "outer", "addmm", "baddbmm", "cumsum", "prod", "maximum",
              "minimum", "sin", "cos", "log1p", "expm1", "logsumexp", "gather", "index_select",
              "masked_fill", "mv", "matrix_power", "tensordot", "std", "var", "rsqrt",
              "reciprocal", "clip", "exp2", "logaddexp", "relu", "neg", "argmax", "argmin"}
LOADERS = {"load", "loadtxt", "genfromtxt", "fromfile", "load_state_dict_from_url", "loads",
           "imread", "read_image"}
DL4CV_SETTINGS = {"pick", "is_smoke", "is_full", "describe", "get_device", "seed_everything",
                  "record", "note_data", "build_dir", "data_dir", "cache_dir"}
BUILTIN_NUMBER = {"int", "float", "len", "bool", "round", "complex"}
BUILTIN_MATH = {"abs", "sum", "max", "min", "pow", "round", "divmod"}
BUILTIN_KEEP = {"float", "int", "list", "tuple", "dict", "set", "sorted", "reversed", "zip",
                "enumerate", "iter", "next", "bool", "complex", "str", "len", "range", "print",
                "map", "filter", "isinstance", "type", "repr", "format", "getattr", "hasattr",
                "id", "hash", "open"}
STUDENT_CELL_RE = re.compile(r"START OF YOUR CODE|YOUR CODE HERE|Replace \"pass\" statement|"
                             r"^\s*# *TODO\b", re.M)
EXPECTED_PARAM_RE = re.compile(r"expect|correct|ref|true|target|want|gold|desired", re.I)
ERROR_TEXT_RE = re.compile(r"\berror\b(?!s)|\bdifference\b|discrepancy", re.I)
COMPARE_NAME_RE = re.compile(r"error|diff|close|compare|equal", re.I)
_RANK = ["LIT", "NEUTRAL", "INPUT", "DATA", "BLACKBOX", "LOAD", "NUMGRAD", "STUDENT"]


@dataclass(frozen=True)
class Prov:
    kind: str
    why: str = ""          # DERIVED: "line N: <formula>"
    scalar: bool = False   # a number (not an array): indexing with it is not a gather
    ret: "Prov" = None     # FUNC: what calling it gives
    compares: bool = False  # FUNC: its body compares (a checking helper)
    params: tuple = ()     # FUNC: its parameter names
    output: bool = False   # STUDENT: returned by a student function (not a solution cell's name)


LIT, NEUTRAL = Prov("LIT", scalar=True), Prov("NEUTRAL", scalar=True)
LIT_ARRAY, INPUT, STUDENT = Prov("LIT"), Prov("INPUT"), Prov("STUDENT")


def _join(provs):
    """The provenance of a value made of several: a formula anywhere makes it a formula."""
    provs = [p for p in provs if p is not None]
    if not provs:
        return LIT
    for p in provs:
        if p.kind == "DERIVED":
            return p
    funcs = [p for p in provs if p.kind == "FUNC"]
    if funcs:
        return funcs[0]
    kind = max((p.kind for p in provs), key=_RANK.index)
    return Prov(kind, scalar=all(p.scalar for p in provs))


def _array(p):
    return p if not p.scalar else Prov(p.kind, p.why, False, p.ret, p.compares)


@dataclass
class CheckCellFinding:
    cell: int           # index in the notebook
    cell_id: str
    line: int           # line in the cell
    message: str

    def __str__(self):
        return f"cell {self.cell + 1} ({self.cell_id}) line {self.line}: {self.message}"


def _strip_magics(source):
    """Cell source as Python: IPython magics and shell lines become `pass` (same indentation)."""
    out = []
    for line in source.splitlines():
        s = line.lstrip()
        if s.startswith(("%", "!")) or (s.endswith("?") and not s.startswith("#")):
            line = line[:len(line) - len(s)] + "pass"
        out.append(line)
    return "\n".join(out)


class _Scan:
    """One scope (a notebook, or the body of a local function / lambda)."""

    def __init__(self, env=None, aliases=None, findings=None, cell=(0, "?"), student=None,
                 defs=None):
        self.env = dict(env or {})
        self.defs = dict(defs or {})        # name -> the expression last assigned to it
        self.student = student              # names of student functions/classes, or None
        self.aliases = aliases if aliases is not None else {
            "np": "numpy", "torch": "torch", "F": "torch.nn.functional", "nn": "torch.nn",
            "torchvision": "torchvision", "math": "math"}
        self.findings = [] if findings is None else findings
        self.cell = cell
        self.returns, self.compares = [], False
        self._seen = set()

    # -- helpers ---------------------------------------------------------------------------
    def _src(self, node, limit=90):
        text = " ".join(ast.unparse(node).split())
        return text if len(text) <= limit else text[:limit - 3] + "..."

    def derived(self, node, what=None):
        return Prov("DERIVED", f"line {getattr(node, 'lineno', '?')}: {what or self._src(node)}")

    def report(self, node, message):
        key = (self.cell, getattr(node, "lineno", 0), message)
        if key not in self._seen and key not in {(f.cell, f.line, f.message) for f in self.findings}:
            self._seen.add(key)
            self.findings.append(CheckCellFinding(self.cell[0], self.cell[1],
                                                  getattr(node, "lineno", 0), message))

    def dotted(self, node):
        """`np.random.randn` -> 'numpy.random.randn'; None for a method of a variable."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id in self.env:
            return None
        root = self.aliases.get(node.id, node.id)
        return ".".join([root] + parts[::-1])

    def child(self):
        return _Scan(self.env, self.aliases, self.findings, self.cell, self.student, self.defs)

    # -- statements ------------------------------------------------------------------------
    def run(self, body):
        for stmt in body:
            self.stmt(stmt)

    def stmt(self, node):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    self.aliases[a.asname] = a.name
                else:
                    self.aliases.setdefault(a.name.split(".")[0], a.name.split(".")[0])
                self.env.pop(a.asname or a.name.split(".")[0], None)
        elif isinstance(node, ast.ImportFrom):
            for a in node.names:
                if a.name != "*":
                    self.aliases[a.asname or a.name] = f"{node.module or ''}.{a.name}".lstrip(".")
                    self.env.pop(a.asname or a.name, None)
        elif isinstance(node, ast.Assign):
            p = self.expr(node.value)
            for t in node.targets:
                self.bind(t, p, node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            self.bind(node.target, self.expr(node.value), node.value)
        elif isinstance(node, ast.AugAssign):
            p = self.expr(node.value)
            old = self.expr(node.target)
            self.bind(node.target, self.binop(old, p, node), None, augment=True)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            it = self.expr(node.iter)
            self.bind(node.target, NEUTRAL if it.kind != "DERIVED" else it, None)
            self.run(node.body)
            self.run(node.orelse)
        elif isinstance(node, (ast.While, ast.If)):
            self.expr(node.test)
            self.run(node.body)
            self.run(node.orelse)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                p = self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, p, None)
            self.run(node.body)
        elif isinstance(node, ast.Try):
            for part in (node.body, *[h.body for h in node.handlers], node.orelse, node.finalbody):
                self.run(part)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.env[node.name] = self.function(node.name, node.args, node.body)
        elif isinstance(node, ast.ClassDef):
            self.env[node.name] = STUDENT
        elif isinstance(node, ast.Return):
            self.returns.append(self.expr(node.value) if node.value is not None else NEUTRAL)
        elif isinstance(node, ast.Assert):
            self.expr(node.test)
            if isinstance(node.test, ast.Compare):
                self.compare(node, [node.test.left, *node.test.comparators])
        elif isinstance(node, ast.Expr):
            self.expr(node.value)
        elif isinstance(node, (ast.Global, ast.Nonlocal, ast.Pass, ast.Break, ast.Continue)):
            pass
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)
                elif isinstance(child, ast.stmt):
                    self.stmt(child)

    def bind(self, target, p, value, augment=False):
        if isinstance(target, ast.Name):
            self.env[target.id] = p
            if value is not None and not augment:
                self.defs[target.id] = value
            else:
                self.defs.pop(target.id, None)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
                for t, v in zip(target.elts, value.elts):
                    self.bind(t, self.expr(v), v)
            else:
                for t in target.elts:
                    self.bind(t, p if p.kind != "FUNC" else STUDENT, None)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, p, None)
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            # `expected[i] = ...`, `out.data = ...`: the container takes what is stored in it
            base = target.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(target, ast.Subscript):
                self.expr(target.slice)
            if isinstance(base, ast.Name) and base.id in self.env:
                self.defs.pop(base.id, None)        # no longer what its assignment says
                old = self.env[base.id]
                self.env[base.id] = p if old.kind in ("LIT", "NEUTRAL") and p.kind != "LIT" \
                    else _join([old, p])

    def function(self, name, args, body):
        """A lambda or local function: FUNC whose `ret` is what its body returns, its params
        being inputs. A comparison helper (`rel_error`) stays a comparison."""
        if name and COMPARE_NAME_RE.search(name):
            return Prov("FUNC", ret=NEUTRAL, compares=True, why="compare")
        scope = self.child()
        positional = [*args.posonlyargs, *args.args]
        defaults = dict(zip([a.arg for a in positional][::-1], args.defaults[::-1]))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d})
        params = [a.arg for a in (*positional, *args.kwonlyargs)]
        params += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
        for p in params:
            # a parameter is an input; one with a constant default is a setting (a size, a flag)
            constant = isinstance(defaults.get(p), ast.Constant)
            scope.env[p] = STUDENT if p == "self" else (LIT if constant else INPUT)
        if isinstance(body, list):
            scope.run(body)
            ret = _join(scope.returns) if scope.returns else NEUTRAL
        else:
            ret = scope.expr(body)
        if ret.kind not in ("DERIVED",):
            ret = STUDENT if ret.kind in ("STUDENT", "FUNC") else ret
        return Prov("FUNC", ret=ret, compares=scope.compares, params=tuple(params))

    # -- expressions -----------------------------------------------------------------------
    def expr(self, n):
        if n is None:
            return NEUTRAL
        if isinstance(n, ast.Constant):
            return LIT
        if isinstance(n, ast.Name):
            if n.id in self.env:
                return self.env[n.id]
            return NEUTRAL
        if isinstance(n, ast.UnaryOp):
            p = self.expr(n.operand)
            return NEUTRAL if isinstance(n.op, ast.Not) else p
        if isinstance(n, ast.BinOp):
            return self.binop(self.expr(n.left), self.expr(n.right), n)
        if isinstance(n, ast.BoolOp):
            return _join([self.expr(v) for v in n.values])
        if isinstance(n, ast.Compare):
            for v in (n.left, *n.comparators):
                self.expr(v)
            return NEUTRAL
        if isinstance(n, ast.IfExp):
            self.expr(n.test)
            return _join([self.expr(n.body), self.expr(n.orelse)])
        if isinstance(n, (ast.List, ast.Tuple, ast.Set)):
            p = _join([self.expr(e) for e in n.elts])
            # [[1, 2], [3, 4]] is an array of literals; (i, j) an index, (N, D) a shape
            return p if isinstance(n, ast.Tuple) else Prov(p.kind, p.why, False, p.ret, p.compares)
        if isinstance(n, ast.Dict):
            for k in n.keys:
                self.expr(k)
            return _join([self.expr(v) for v in n.values])
        if isinstance(n, ast.Starred):
            return self.expr(n.value)
        if isinstance(n, ast.JoinedStr):
            for v in n.values:
                self.expr(v)
            return NEUTRAL
        if isinstance(n, ast.FormattedValue):
            return self.expr(n.value)
        if isinstance(n, ast.Slice):
            return _join([self.expr(x) for x in (n.lower, n.upper, n.step) if x is not None])
        if isinstance(n, ast.Subscript):
            return self.subscript(n)
        if isinstance(n, ast.Attribute):
            name = self.dotted(n)
            if name is not None and name.split(".")[0] in set(self.aliases.values()):
                return LIT                                  # np.pi, torch.float64, ...
            base = self.expr(n.value)
            if n.attr in ("shape", "ndim", "size", "dtype", "device", "requires_grad"):
                return LIT if base.kind != "DERIVED" else base
            if n.attr == "T":
                return base
            return base if base.kind != "FUNC" else STUDENT
        if isinstance(n, ast.Lambda):
            return self.function(None, n.args, n.body)
        if isinstance(n, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            scope = self.child()
            for gen in n.generators:
                it = scope.expr(gen.iter)
                scope.bind(gen.target, NEUTRAL if it.kind != "DERIVED" else it, None)
                for cond in gen.ifs:
                    scope.expr(cond)
            if isinstance(n, ast.DictComp):
                scope.expr(n.key)
                return scope.expr(n.value)
            return scope.expr(n.elt)
        if isinstance(n, ast.NamedExpr):
            p = self.expr(n.value)
            self.bind(n.target, p, n.value)
            return p
        if isinstance(n, ast.Call):
            return self.call(n)
        if isinstance(n, ast.Await):
            return self.expr(n.value)
        return NEUTRAL

    def binop(self, a, b, node):
        """Arithmetic: scaling or shifting by a number keeps what a value is (x * 5 + 12 is
        still an input, 1e-3 * np.arange(6) still a literal); x @ W, W * x, a product of two
        inputs, arithmetic on a torch op's output are formulas."""
        if a.kind == "DERIVED":
            return a
        if b.kind == "DERIVED":
            return b
        a = STUDENT if a.kind == "FUNC" else a
        b = STUDENT if b.kind == "FUNC" else b
        op = getattr(node, "op", None)
        number = lambda p: p.scalar and p.kind in ("LIT", "NEUTRAL")   # noqa: E731
        if number(a) and number(b):
            return Prov("LIT" if a.kind == b.kind == "LIT" else "NEUTRAL", scalar=True)
        if isinstance(op, ast.MatMult):
            return self.derived(node)
        if number(a) or number(b):
            return b if number(a) else a
        kinds = {a.kind, b.kind}
        if "NEUTRAL" in kinds:                          # a difference measure, or unknown
            return Prov("NEUTRAL")
        if "STUDENT" in kinds and isinstance(op, ast.Sub):
            return Prov("NEUTRAL")                      # out - expected: the comparison itself
        if kinds <= {"STUDENT", "NUMGRAD", "LOAD"}:
            return _join([a, b])
        if kinds <= {"INPUT", "DATA"} and isinstance(op, (ast.Add, ast.Sub)):
            return _join([a, b])                        # two random parts of one input
        return self.derived(node)

    def subscript(self, n):
        base = self.expr(n.value)
        index = self.expr(n.slice)
        if base.kind == "DERIVED":
            return base
        if index.kind == "DERIVED":
            return index
        if base.kind in ("STUDENT", "LOAD", "NUMGRAD", "NEUTRAL", "FUNC", "DATA"):
            return base if base.kind != "FUNC" else STUDENT     # a subset of a data set
        # W[x] with an array x is a gather (a word embedding, a loss picking scores)
        if not index.scalar and self._array_index(n.slice):
            return self.derived(n)
        return Prov(base.kind, scalar=base.scalar)      # shape[0] is a number, x[0] a row

    def _array_index(self, s):
        parts = s.elts if isinstance(s, ast.Tuple) else [s]
        for p in parts:
            if isinstance(p, (ast.Slice, ast.Constant)):
                continue
            if isinstance(p, ast.UnaryOp) and isinstance(p.operand, ast.Constant):
                continue
            return True
        return False

    @staticmethod
    def _texts(args):
        """The string literals among call arguments (f-strings and '%' formats included)."""
        out = []
        for a in args:
            if isinstance(a, ast.Constant) and isinstance(a.value, str):
                out.append(a.value)
            elif isinstance(a, ast.JoinedStr):
                out += [v.value for v in a.values if isinstance(v, ast.Constant)]
            elif isinstance(a, ast.BinOp) and isinstance(a.op, ast.Mod) and \
                    isinstance(a.left, ast.Constant) and isinstance(a.left.value, str):
                out.append(a.left.value)
        return out

    def call(self, n):
        func = n.func
        name = self.dotted(func)
        last = func.attr if isinstance(func, ast.Attribute) else (
            func.id if isinstance(func, ast.Name) else None)
        local = self.env.get(func.id) if isinstance(func, ast.Name) else None
        if local is not None and local.kind == "FUNC" and local.compares and local.why == "compare":
            self.compare(n, n.args[:2])
            return NEUTRAL
        if local is None and last in COMPARE_FUNCS and (name is not None or last == "check"):
            if last == "check":
                values = n.args[1:2] + [k.value for k in n.keywords
                                        if k.arg in ("value", "below", "above", "near")]
                self.compare(n, values)
            else:
                self.compare(n, n.args[:2] + [k.value for k in n.keywords
                                              if k.arg in ("actual", "desired", "expected")])
            return NEUTRAL
        if local is None and isinstance(func, ast.Name) and func.id in ("print", "record") \
                and any(ERROR_TEXT_RE.search(t) for t in self._texts(n.args)):
            # print("next_h error:", err), record("... relative error", err): a comparison too
            self.compare(n, [a for a in n.args if not self._texts([a])] +
                         [v.value for a in n.args if isinstance(a, ast.JoinedStr)
                          for v in a.values if isinstance(v, ast.FormattedValue)] +
                         [a.right for a in n.args if isinstance(a, ast.BinOp)
                          and isinstance(a.op, ast.Mod) and self._texts([a.left])])
            return NEUTRAL
        if last in NUMGRAD_FUNCS and local is None:
            ps = [self.expr(a) for a in n.args] + [self.expr(k.value) for k in n.keywords]
            f = ps[0] if ps else NEUTRAL
            if f.kind == "FUNC" and f.ret is not None and f.ret.kind == "DERIVED":
                return Prov("DERIVED", f"numeric gradient of a formula, {f.ret.why}")
            return Prov("NUMGRAD")
        if name is None and isinstance(func, ast.Attribute):
            return self.method(n, self.expr(func.value), func.attr)
        args = [self.expr(a) for a in n.args] + [self.expr(k.value) for k in n.keywords]
        derived = next((p for p in args if p.kind == "DERIVED"), None)
        if local is not None:                           # a variable called: model(x), f(x)
            if local.kind == "FUNC":
                if local.compares:          # check_step(x, ..., expected=<formula>)
                    given = list(zip(local.params, n.args)) + [(k.arg, k.value) for k in n.keywords]
                    for param, value in given:
                        p = self.expr(value)
                        if param and EXPECTED_PARAM_RE.search(param) and p.kind == "DERIVED":
                            self.report(n, f"checking helper `{func.id}` is given `{param}` "
                                           f"computed from a formula ({p.why})")
                return local.ret or STUDENT
            if local.kind == "BLACKBOX":
                return derived or Prov("BLACKBOX")
            if local.kind == "DERIVED":
                return local
            self._inputs_of_student(n)
            return STUDENT
        if name is None:                                # (f())(x), d['f'](x): unknown
            return self.expr(func) if not isinstance(func, ast.Name) else STUDENT
        root = name.split(".")[0]
        if root in ("numpy", "torch", "torchvision"):
            random = name.startswith(("numpy.random.", "torch.random", "torch.distributions")) \
                or (root != "numpy" and last in TORCH_RANDOM)
            if random:
                return INPUT
            if last in LOADERS:
                return Prov("LOAD")
            if last in ARRAY_CTORS:
                return derived or _array(_join(args))
            if last in FILL_CTORS:
                return derived or LIT_ARRAY
        if root == "numpy":
            return self.math(args, n)
        if root in ("torch", "torchvision"):
            if name.count(".") == 1 and last in TORCH_MATH:   # torch.tanh, torch.mm, ...
                return self.math(args, n)
            if last in ("no_grad", "enable_grad", "set_grad_enabled", "device",
                        "set_default_dtype", "set_printoptions", "is_tensor"):
                return NEUTRAL
            return derived or Prov("BLACKBOX")        # F.conv2d, nn.LSTM, torchvision.ops...
        if root == "math":
            return self.math(args, n)
        if root in ("pickle", "json", "PIL", "imageio", "scipy") and last in LOADERS | {"open"}:
            return Prov("LOAD")
        if root in ("random",):
            return INPUT
        if isinstance(func, ast.Name) and func.id in BUILTIN_MATH:
            return self.math(args, n)
        if isinstance(func, ast.Name) and func.id in BUILTIN_NUMBER:
            return derived or Prov(_join(args).kind if func.id != "len" else "LIT", scalar=True)
        if isinstance(func, ast.Name) and func.id in BUILTIN_KEEP:
            return derived or _join(args) if args else NEUTRAL
        if root == "dl4cv" and last in DL4CV_SETTINGS:
            return derived or NEUTRAL                   # pick(full=.., smoke=..), is_smoke()
        if self.student is not None and last not in self.student:
            return derived or Prov("DATA")              # a given helper: what it returns is data
        composed = self._composed(n, last)
        self._inputs_of_student(n)
        return Prov("STUDENT", composed, output=True)                # a student function

    def math(self, args, node):
        """numpy/torch/builtin math: a formula unless on numbers or on a student's output."""
        derived = next((p for p in args if p.kind == "DERIVED"), None)
        if derived is not None:
            return derived
        if all(p.scalar and p.kind in ("LIT", "NEUTRAL") for p in args):
            return Prov("LIT" if all(p.kind == "LIT" for p in args) else "NEUTRAL", scalar=True)
        if any(p.kind in ("INPUT", "DATA") or (p.kind == "LIT" and not p.scalar) for p in args):
            return self.derived(node)
        arrays = [p for p in args if not (p.scalar and p.kind in ("LIT", "NEUTRAL"))]
        if len(arrays) > 1 and any(p.kind == "BLACKBOX" for p in arrays):
            return self.derived(node)                   # torch ops combined: a formula
        return _join(args)

    def method(self, n, base, method):
        args = [self.expr(a) for a in n.args] + [self.expr(k.value) for k in n.keywords]
        derived = next((p for p in [base, *args] if p.kind == "DERIVED"), None)
        if method in MUTATING_METHODS and isinstance(n.func.value, ast.Name) and args \
                and n.func.value.id in self.env:
            self.defs.pop(n.func.value.id, None)
            self.bind(n.func.value, _join([base, *args]) if base.kind not in ("LIT", "NEUTRAL")
                      else _join(args), None)
            return NEUTRAL
        if derived is not None:
            return derived
        if base.kind == "FUNC":
            return base.ret or STUDENT
        if method in SHAPE_METHODS:
            return Prov(base.kind, scalar=method in ("item", "tolist") or base.scalar)
        if method in MATH_METHODS:
            quiet = all(p.kind in ("LIT", "NEUTRAL") and p.scalar for p in args)
            if base.kind in ("STUDENT", "LOAD", "NUMGRAD", "NEUTRAL", "BLACKBOX") and quiet:
                return base
            if base.kind == "LIT" and base.scalar and quiet:
                return LIT
            return self.derived(n)
        if base.kind in ("STUDENT", "NEUTRAL"):
            if self.student is not None and method not in self.student and base.kind == "NEUTRAL":
                return Prov("DATA")                     # a given object's method
            composed = self._composed(n, method)
            self._inputs_of_student(n)
            return Prov("STUDENT", composed, output=True)            # model.loss(X, y)
        return base

    def _composed(self, n, callee):
        """'line N: f(g(x))' when a student function is given another student function's
        output (not a backward pass given its forward's cache): a composition that may
        restate a third student function (`relu_forward(affine_forward(...)[0])` for
        `affine_relu_forward`). Only a comparison of such a value with another student output
        is reported (see `compare`)."""
        if callee and ("backward" in callee or callee.startswith("_")):
            return ""
        for a in [*n.args, *[k.value for k in n.keywords]]:
            if "cache" in ast.unparse(a):
                continue
            p = self.expr(a)
            if p.kind == "STUDENT" and p.output and not p.scalar:
                return f"line {getattr(n, 'lineno', '?')}: {self._src(n)}"
        return ""

    def _inputs_of_student(self, n):
        """A value built by a formula and handed to a student function is an input of the
        function under test (the course builds inputs so, e.g. `a = np.maximum(0, X.dot(W1))`
        before batchnorm_forward(a, ...)), not an expected value: from here on it is INPUT."""
        for a in [*n.args, *[k.value for k in n.keywords]]:
            a = a.value if isinstance(a, ast.Starred) else a
            if isinstance(a, ast.Name) and self.env.get(a.id, NEUTRAL).kind == "DERIVED":
                self.env[a.id] = INPUT

    # -- comparisons -----------------------------------------------------------------------
    def compare(self, node, values):
        """Every compared value must be of an allowed kind; the first formula is reported.
        Two student outputs compared, one made by composing student functions: reported."""
        self.compares = True
        compared = []
        for v in values:
            for leaf in self.leaves(v):
                p = self.expr(leaf)
                if p.kind == "DERIVED":
                    self.report(node, f"compares `{self._src(leaf, 60)}`, computed from a "
                                      f"formula ({p.why})")
                    return
                if p.kind == "FUNC" and not p.compares:
                    self.report(node, f"compares a lambda/function `{self._src(leaf, 60)}`")
                    return
                if not (p.scalar and p.kind in ("LIT", "NEUTRAL")):   # not a threshold
                    compared.append((leaf, p))
        if len(compared) >= 2 and all(p.kind == "STUDENT" for _, p in compared):
            made = next(((leaf, p) for leaf, p in compared if p.why), None)
            if made is not None:
                self.report(node, f"compares `{self._src(made[0], 60)}`, made by other student "
                                  f"functions ({made[1].why}), with a student output")

    def leaves(self, n, depth=0):
        """The values a difference measure compares: `np.max(np.abs(a - b))` -> a, b; and
        `err = abs(a - b) / abs(b)` then `check("err", err, ...)` -> a, b."""
        if depth > 6:
            return [n]
        if isinstance(n, ast.Name) and n.id in self.defs and self.expr(n).kind == "DERIVED":
            d = self.defs[n.id]
            if isinstance(d, (ast.BinOp, ast.UnaryOp, ast.Call)) and not (
                    isinstance(d, ast.BinOp) and isinstance(d.op, ast.MatMult)):
                return self.leaves(d, depth + 1)
            return [n]
        if isinstance(n, ast.BinOp):
            if isinstance(n.op, (ast.Sub, ast.Div, ast.Add)) or any(
                    isinstance(x, ast.Constant) for x in (n.left, n.right)):
                return self.leaves(n.left, depth + 1) + self.leaves(n.right, depth + 1)
            return [n]
        if isinstance(n, ast.UnaryOp):
            return self.leaves(n.operand, depth + 1)
        if isinstance(n, ast.Call):
            f = n.func
            last = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            local = self.env.get(f.id) if isinstance(f, ast.Name) else None
            is_cmp = (local is not None and local.kind == "FUNC" and local.why == "compare") or \
                (local is None and last in COMPARE_FUNCS and last != "check")
            if is_cmp:
                return [leaf for a in n.args[:2] for leaf in self.leaves(a, depth + 1)]
            if local is None and last in DIFF_OPS:
                out = []
                if isinstance(f, ast.Attribute) and self.dotted(f) is None:
                    out += self.leaves(f.value, depth + 1)
                out += [leaf for a in n.args for leaf in self.leaves(a, depth + 1)]
                return out
        return [n]


def student_functions(folder):
    """Names of the functions, methods and classes a student writes in the .py files under
    `folder`: those holding a START OF YOUR CODE region (or, in the course's own starter code,
    a TODO / 'Replace "pass"' marker)."""
    names = set()
    for path in sorted(Path(folder).rglob("*.py")):
        if _excluded(path.relative_to(folder).parts):
            continue
        try:
            text = path.read_text()
            tree = ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        lines = text.splitlines()

        def visit(node, cls=None):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef):
                    visit(child, child.name)
                elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    body = "\n".join(lines[child.lineno - 1:child.end_lineno])
                    if STUDENT_CELL_RE.search(body):
                        names.add(child.name)
                        if cls:
                            names.add(cls)
                    visit(child, cls)
        visit(tree)
    names.discard("__init__")
    return names


def check_cells(nb, course_style=None, student=None):
    """-> [CheckCellFinding] for the check cells of notebook `nb` (an nbformat node) that
    compare with a value computed from a formula, a lambda or a local re-implementation.

    Solution cells (tagged `solution`; in a notebook with no such tag, e.g. the course's own,
    cells with a TODO / YOUR CODE marker) are the student's: what they define is STUDENT.
    `student`: the names of the student functions of the assignment's modules
    (`student_functions`); calls of other functions are then given code, whose outputs are
    inputs (math on them is a formula). Without it every unknown call counts as a student's."""
    student = set(student) if student is not None else None
    cells = nb.cells if hasattr(nb, "cells") else nb["cells"]
    if course_style is None:
        course_style = not any("solution" in c.get("metadata", {}).get("tags", []) for c in cells)
    scan = _Scan(student=student)
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        tags = cell.get("metadata", {}).get("tags", [])
        scan.cell = (index, cell.get("id") or f"index-{index}")
        try:
            tree = ast.parse(_strip_magics(source))
        except SyntaxError:
            continue
        student = "solution" in tags or (course_style and STUDENT_CELL_RE.search(source))
        if "colab-setup" in tags:
            continue
        if student:                     # what a student writes: its names are the student's
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    scan.stmt(node)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    scan.env[node.name] = STUDENT
                    if scan.student is not None:
                        scan.student.add(node.name)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    scan.env[node.id] = STUDENT
            continue
        scan.run(tree.body)
    return scan.findings


def check_cell_problems(release):
    """Release notebooks whose check cells restate a solution: ["<file>: <finding>"]."""
    problems = []
    for name, (data, _) in sorted(release.files.items()):
        if not name.endswith(".ipynb"):
            continue
        try:
            nb = json.loads(data.decode())
        except ValueError:
            continue
        folder = next((a for a in release.regions if name.startswith(a + "/")), None)
        student = student_functions(release.out / folder) if folder else None
        problems += [f"{name}: {f}" for f in check_cells(nb, course_style=False, student=student)]
    return problems

