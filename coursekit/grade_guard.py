"""The grader's guard: a check's verdict cannot be bought by changing what the check relies on.

A check runs in the same kernel as the student's code, so a student could make it pass by
redefining what it calls: ``torch.allclose = lambda *a, **k: True``, ``math.isclose``, a
builtin (``all = lambda x: True``), a NumPy function, a method of ``torch.Tensor``, a name the
course bound earlier (``preactivation_moments = ...``), a function of ``helpers``, IPython's own
machinery. The grader (:mod:`coursekit.grade`) adds cells around the student's code that call
this module, in the kernel:

- :meth:`Guard.start`, after the setup cell: imports the modules the course's cells import, and
  records every module's functions, classes and submodules (and every class's attributes);
- :meth:`Guard.keep`, after a course cell that binds a name a check reads: records the value the
  course gave it;
- :meth:`Guard.before` and :meth:`Guard.after` around every cell the student wrote (and every
  course cell that calls the student's code): whatever changed in between, in any module or
  class, in ``sys.modules`` or in IPython's hooks, is put back and reported;
- :meth:`Guard.check` runs a check: in a namespace of its own, where every name the course bound
  has the course's value (the student's own exercise names excepted) and Python's builtins are
  Python's; anything changed while it ran voids its verdict. The verdict is published as a
  display output of type :data:`MIME` carrying the check's nonce, which the grader reads: a
  check with no verdict, or two, failed.

:func:`scan` is the grader's side: it reads the student's code and names every construct that
tampers, or could defeat this guard (frames, ``gc``, ``ctypes``, IPython's hooks, ...), so the
report says so. Code in the kernel is not sandboxed: a student who sets out to defeat the guard
from inside the process may find a way, but not without one of the constructs :func:`scan`
reports.
"""

from __future__ import annotations

import ast
import builtins
import linecache
import operator
import os
import re
import sys
import types
import warnings
from collections.abc import Iterable
from typing import Any

MIME = "application/vnd.coursekit.grade+json"  # the verdicts and reports of the guard
NAME = "_course_grade_guard"  # the guard's name in the kernel


# ------------------------------------------------------------------------ the kernel's side
def _interesting(value: Any) -> bool:
    """Functions, classes, methods and modules: what a check calls (data attributes, such as
    ``torch.backends.cudnn.benchmark``, are the course's settings and change legitimately)."""
    try:
        return callable(value) or isinstance(value, types.ModuleType)
    except Exception:  # a lazy object that fails to answer
        return False


class _State:
    """Identity snapshot of the modules, the classes they define, ``sys.modules`` and IPython's
    hooks."""

    def __init__(self, user_ns: dict[str, Any]) -> None:
        self.user_ns = user_ns
        self.modules: dict[str, tuple[types.ModuleType, dict[str, Any]]] = {}
        self.classes: dict[int, tuple[type, dict[str, Any]]] = {}
        self.shell: dict[str, Any] = {}
        self.prints: dict[str | int, tuple] = {}  # what each namespace held, to skip it fast

    def add_module(self, name: str, module: Any) -> None:
        attrs = getattr(module, "__dict__", None)
        if not isinstance(module, types.ModuleType) or not isinstance(attrs, dict):
            return
        if name in ("__main__", "__mp_main__") or attrs is self.user_ns:
            return  # the notebook's own namespace: Guard.keep and Guard.check see to it
        kept = {}
        for key, value in list(attrs.items()):
            if _interesting(value) and (name, key) not in _VOLATILE:
                kept[key] = value
                if isinstance(value, type) and getattr(value, "__module__", None) == name:
                    self.add_class(value)
        self.modules[name] = (module, kept)
        self.prints[name] = _fingerprint(attrs)

    def add_class(self, cls: type) -> None:
        if id(cls) not in self.classes:
            self.classes[id(cls)] = (cls, _methods(cls))
            self.prints[id(cls)] = _fingerprint(cls.__dict__)


def _fingerprint(namespace: Any) -> tuple:
    """The names and the identities of the values of a module's or class's namespace: equal
    fingerprints, nothing changed (the values the guard keeps are alive, so no new object can
    take one of their identities). Computed at C speed: most namespaces never change."""
    return tuple(namespace), tuple(map(id, namespace.values()))


def _methods(cls: type) -> dict[str, Any]:
    """A class's methods, properties and other descriptors (not its data: caches such as
    ``__slotnames__`` come and go)."""
    return {k: v for k, v in cls.__dict__.items() if _method(v)}


def _method(value: Any) -> bool:
    try:
        return callable(value) or hasattr(type(value), "__get__")
    except Exception:
        return False


def _library(filename: str) -> bool:
    """Whether code from ``filename`` is an installed library's (not the notebook's, nor a
    file a student wrote)."""
    import site
    import sysconfig

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()}
    roots |= {sysconfig.get_paths()["stdlib"]}
    return any(filename.startswith(os.path.join(root, "")) for root in roots if root)


def _wraps(new: Any, old: Any) -> bool:
    """Whether ``new`` is a library's wrapper of ``old`` (``functools.wraps``, written in an
    installed library): how libraries change their own functions lazily, and never a way to
    change what they compute."""
    if old is _MISSING or getattr(new, "__wrapped__", None) is not old:
        return False
    code = getattr(new, "__code__", None)
    return code is not None and _library(code.co_filename)


# Attributes the kernel itself replaces at every execution (to forward input() to the client)
_VOLATILE = {
    ("builtins", "input"),
    ("builtins", "raw_input"),
    ("getpass", "getpass"),
    ("sys", "excepthook"),
    ("sys", "displayhook"),
    ("sys", "last_type"),  # the last error's, set by IPython when a cell raises
    ("sys", "last_value"),
    ("sys", "last_traceback"),
    ("sys", "last_exc"),
}


def _shell_state(shell: Any) -> dict[str, Any]:
    """IPython's hooks a student could use to rewrite or hide a check: input and AST
    transformers, event callbacks, methods set on the shell object itself."""
    if shell is None:
        return {}
    found: dict[str, Any] = {
        f"shell.{k}": v for k, v in vars(shell).items() if _interesting(v) and k != "user_ns"
    }
    for name in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
        found[name] = list(getattr(shell, name, []) or [])
    events = getattr(getattr(shell, "events", None), "callbacks", {}) or {}
    for event, callbacks in events.items():
        found[f"events.{event}"] = list(callbacks)
    return found


class Guard:
    """The guard of one kernel (see the module's docstring). ``plan`` comes from the grader:
    ``{"exercise_names", "attributes", "check_reads", "course_binds", "imports"}``: the names
    the students' code may bind (those of the stubs and solutions), the attributes it may set on
    the course's classes (``Value.tanh``), the names the checks read, the names the course's
    cells bind, the modules the course's cells import.
    """

    def __init__(self, user_ns: dict[str, Any], plan: dict[str, Any]) -> None:
        self.ns = user_ns
        self.exercise_names = set(plan.get("exercise_names", []))
        self.attributes = set(plan.get("attributes", []))
        self.check_reads = set(plan.get("check_reads", []))
        self.course_binds = set(plan.get("course_binds", []))
        self.kept: dict[str, Any] = {}
        self.names_before: dict[str, Any] = {}
        self._looked = -2
        for name in plan.get("imports", []):
            try:
                __import__(name)
            except BaseException:  # noqa: BLE001 - an optional module; the course's cell will say
                pass
        self.state = _State(user_ns)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, module in list(sys.modules.items()):
                self.state.add_module(name, module)
        self.state.shell = _shell_state(_shell())

    # ------------------------------------------------------------------ comparing
    def _compare(self, restore: bool) -> list[str]:
        """What changed since :attr:`state`, as ``["torch.allclose", ...]``. With ``restore``,
        put it back; without, take it in (the course's own cells changed it). Modules imported
        since, and attributes added to a module (an import adds both), are taken in, except an
        attribute that overrides what the module's ``__getattr__`` gives (``helpers.fit``)."""
        changed: list[str] = []
        state = self.state
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, (module, kept) in list(state.modules.items()):
                if sys.modules.get(name, module) is module and (
                    _fingerprint(module.__dict__) == state.prints.get(name)
                ):
                    continue
                if sys.modules.get(name, module) is not module:
                    changed.append(f"sys.modules[{name!r}]")
                    if restore:
                        sys.modules[name] = module
                    else:
                        state.add_module(name, sys.modules[name])
                        continue
                attrs = module.__dict__
                for key, value in list(kept.items()):
                    now = attrs.get(key, _MISSING)
                    if (name, key) in _VOLATILE:
                        continue
                    if now is not value and _wraps(now, value):
                        kept[key] = now  # the library wrapped its own function
                    elif now is not value:
                        changed.append(f"{name}.{key}")
                        if restore:
                            attrs[key] = value
                        elif now is _MISSING or not _interesting(now):
                            del kept[key]
                        else:
                            kept[key] = now
                if len(attrs) != len(kept):
                    changed += self._added(name, attrs, kept, restore)
                state.prints[name] = _fingerprint(attrs)
            for name, module in list(sys.modules.items()):
                if name not in state.modules:
                    state.add_module(name, module)
            for key, (cls, attrs) in state.classes.items():
                if _fingerprint(cls.__dict__) != state.prints.get(key):
                    changed += self._compare_class(cls, attrs, restore)
                    state.prints[key] = _fingerprint(cls.__dict__)
        shell = _shell_state(_shell())
        for key in set(state.shell) | set(shell):
            old, new = state.shell.get(key, _MISSING), shell.get(key, _MISSING)
            same = old == new if isinstance(old, list) else old is new
            if not same:
                changed.append(f"IPython's {key}")
                if restore:
                    _restore_shell(key, old)
        if not restore:
            state.shell = shell
        self._look()
        return changed

    def _added(self, name: str, attrs: dict, kept: dict, restore: bool) -> list[str]:
        changed = []
        lazy = kept.get("__getattr__")
        for key in [k for k in list(attrs) if k not in kept]:
            value = attrs[key]
            if not _interesting(value) or (name, key) in _VOLATILE:
                continue
            if lazy is not None:  # is it what the module itself would give?
                del attrs[key]
                try:
                    genuine = lazy(key)
                except Exception:
                    genuine = _MISSING
                attrs[key] = value
                if genuine is not _MISSING and genuine is not value:
                    changed.append(f"{name}.{key}")
                    if restore:
                        attrs[key] = value = genuine
            kept[key] = value
            if isinstance(value, type) and getattr(value, "__module__", None) == name:
                self.state.add_class(value)
        return changed

    def _compare_class(self, cls: type, attrs: dict[str, Any], restore: bool) -> list[str]:
        current = cls.__dict__
        if all(current.get(k, _MISSING) is v for k, v in attrs.items()) and not any(
            k not in attrs and _method(v) for k, v in current.items()
        ):
            return []
        changed = []
        for key in set(current) | set(attrs):
            old, new = attrs.get(key, _MISSING), current.get(key, _MISSING)
            if old is new or (old is _MISSING and not _method(new)):
                continue
            if _wraps(new, old):  # torch.optim wraps each optimizer's step once, lazily
                attrs[key] = new
                continue
            if cls.__module__ == "__main__" and key in self.attributes:
                attrs[key] = new  # the exercise sets it (Value.tanh = ...)
                continue
            changed.append(f"{cls.__module__}.{cls.__qualname__}.{key}")
            if not restore:
                if new is _MISSING:
                    attrs.pop(key, None)
                else:
                    attrs[key] = new
                continue
            try:
                if old is _MISSING:
                    delattr(cls, key)
                else:
                    setattr(cls, key, old)
            except (AttributeError, TypeError):
                pass
        return changed

    # ------------------------------------------------------------------ the cells' calls
    def keep(self, names: list[str]) -> None:
        """Record the course's value of each of ``names`` (after the course cell binding them);
        a class the course defines is watched like a library's."""
        for name in names:
            if name in self.ns:
                value = self.kept[name] = self.ns[name]
                if isinstance(value, type):
                    self.state.add_class(value)

    def before(self) -> None:
        """Before a cell the student wrote: what changed since is the course's doing (nothing,
        when no cell ran since the guard last looked)."""
        count = getattr(_shell(), "execution_count", None)
        if count is None or count != self.looked + 1:
            self._compare(restore=False)
        self.names_before = {n: self.ns.get(n, _MISSING) for n in self.check_reads}

    @property
    def looked(self) -> int:
        return self._looked

    def _look(self) -> None:
        """Note the cell in which the guard last compared (IPython's execution count)."""
        self._looked = getattr(_shell(), "execution_count", None) or -2

    def after(self, cell: str, own: Iterable[str] = ()) -> None:
        """After a cell the student wrote (or a course cell that calls the student's code, which
        binds the names ``own`` itself): put back what it changed; publish what it changed, and
        the names the checks read that it rebound."""
        changed = sorted(self._compare(restore=True))
        rebound = sorted(
            name
            for name, value in self.names_before.items()
            if name not in self.exercise_names
            and name not in own
            and self.ns.get(name, _MISSING) is not value
        )
        if changed or rebound:
            report = {"kind": "tampering", "cell": cell, "changed": changed, "rebound": rebound}
            _publish(report)
        self.names_before = {}

    def _namespace(self) -> dict[str, Any]:
        """The check's globals: the notebook's, with the course's value of every name the
        course bound (the exercise's own names excepted) and Python's builtins."""
        ns = dict(self.ns)
        for name, value in self.kept.items():
            if name not in self.exercise_names:
                ns[name] = value
        for name in list(ns):
            if hasattr(builtins, name) and name not in self.kept and not name.startswith("_"):
                if name not in self.exercise_names:
                    del ns[name]  # a student's `all = ...`: the check gets Python's `all`
        ns["__builtins__"] = builtins
        ns[COMPARE], ns[TRUTH] = self.compare, self.truth
        return ns

    def _own(self, value: Any, *dunders: str | None) -> str | None:
        """The student's class that defines one of ``dunders`` for ``value``, if any: a class of
        the notebook's (``__main__``) that no course cell defined."""
        for klass in type(value).__mro__:
            if any(d and d in vars(klass) for d in dunders):
                top = klass.__qualname__.split(".")[0]
                if klass.__module__ == "__main__" and top not in self.course_binds:
                    return klass.__qualname__
                return None
        return None

    def _refuse(self, klass: str, dunder: str) -> None:
        raise AssertionError(
            f"the check met an object of class {klass}, whose {dunder} is the submission's own: "
            "a value that compares equal to anything cannot pass a check"
        )

    def compare(self, left: Any, pairs: list[tuple[str, Any]]) -> Any:
        """``left op1 right1 op2 right2 ...`` as Python computes it, refusing operands whose
        comparison is the student's own (see :meth:`_own`)."""
        __tracebackhide__ = True  # noqa: F841
        a = left()
        result: Any = True
        for i, (name, right) in enumerate(pairs):
            b = right()
            mine, theirs, op = _OP_NAMES[name]
            for value, dunder in ((a, mine), (b, theirs)):
                klass = self._own(value, dunder) if dunder else None
                if klass is not None:
                    self._refuse(klass, dunder)
            result = op(a, b)
            if i < len(pairs) - 1 and not self.truth(result):
                return result
            a = b
        return result

    def truth(self, value: Any) -> Any:
        """``value`` for an ``assert``, refusing a truth that is the student's own."""
        __tracebackhide__ = True  # noqa: F841
        klass = self._own(value, "__bool__", "__len__")
        if klass is not None:
            self._refuse(klass, "__bool__")
        return value

    def check(self, number: int, nonce: str, source: str, binds: list[str]) -> None:
        """Run exercise ``number``'s check ``source`` (see the module's docstring); publish its
        verdict with ``nonce``; re-raise its error so the cell shows it."""
        __tracebackhide__ = True  # noqa: F841 - IPython leaves this frame out of tracebacks
        self.before()
        ns = self._namespace()
        filename = f"<exercise {number}'s check>"
        code = _transform(source)
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        error: BaseException | None = None
        try:
            exec(_strict(code, filename), ns)
        except BaseException as err:  # noqa: BLE001 - every outcome is a verdict
            error = err
        changed = sorted(self._compare(restore=True))
        for name in binds:  # what the check defines, for the cells after it
            if name in ns:
                self.ns[name] = self.kept[name] = ns[name]
        verdict: dict[str, Any] = {"kind": "verdict", "exercise": number, "nonce": nonce}
        if changed:
            verdict.update(status="tampered", changed=changed)
        elif error is None:
            verdict.update(status="passed")
        else:
            verdict.update(
                status="raised",
                ename=type(error).__name__,
                evalue=str(error)[:500],
                line=_failing_line(error, filename),
            )
        _publish(verdict)
        if error is not None and not changed:
            raise error


def _shell() -> Any:
    try:
        from IPython import get_ipython

        return get_ipython()
    except Exception:
        return None


def _restore_shell(key: str, value: Any) -> None:
    shell = _shell()
    if shell is None:
        return
    if key.startswith("shell."):
        if value is _MISSING:
            shell.__dict__.pop(key[len("shell.") :], None)
        else:
            shell.__dict__[key[len("shell.") :]] = value
    elif key.startswith("events."):
        shell.events.callbacks[key[len("events.") :]] = list(value) if value is not _MISSING else []
    else:
        setattr(shell, key, list(value) if value is not _MISSING else [])


_MISSING = object()


def _transform(source: str) -> str:
    """The check as Python: IPython's magics (``%time``) turned into calls, by a fresh
    transformer that no student code has touched."""
    if not re.search(r"^\s*[%!]", source, re.M):
        return source
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


# ------------------------------------------------------------ answers that equal anything
_OPS = {
    ast.Eq: ("__eq__", "__eq__", operator.eq),
    ast.NotEq: ("__ne__", "__ne__", operator.ne),
    ast.Lt: ("__lt__", "__gt__", operator.lt),
    ast.LtE: ("__le__", "__ge__", operator.le),
    ast.Gt: ("__gt__", "__lt__", operator.gt),
    ast.GtE: ("__ge__", "__le__", operator.ge),
    ast.In: (None, "__contains__", lambda a, b: a in b),
    ast.NotIn: (None, "__contains__", lambda a, b: a not in b),
    ast.Is: (None, None, operator.is_),
    ast.IsNot: (None, None, operator.is_not),
}
_OP_NAMES = {op.__name__: spec for op, spec in _OPS.items()}
COMPARE, TRUTH = "__course_compare__", "__course_truth__"


class _Strict(ast.NodeTransformer):
    """``a == b`` becomes ``__course_compare__(lambda: a, [("Eq", lambda: b)])`` and ``assert
    x`` becomes ``assert __course_truth__(x)``, with Python's meaning (each operand evaluated
    once, chains stop at the first false link), so the guard sees every operand a check
    compares."""

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)

        def thunk(expr: ast.expr) -> ast.Lambda:
            args = ast.arguments(
                posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]
            )
            return ast.Lambda(args=args, body=expr)

        pairs = ast.List(
            elts=[
                ast.Tuple(elts=[ast.Constant(type(op).__name__), thunk(right)], ctx=ast.Load())
                for op, right in zip(node.ops, node.comparators)
            ],
            ctx=ast.Load(),
        )
        call = ast.Call(ast.Name(COMPARE, ast.Load()), [thunk(node.left), pairs], [])
        return ast.copy_location(call, node)

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        self.generic_visit(node)
        node.test = ast.copy_location(
            ast.Call(ast.Name(TRUTH, ast.Load()), [node.test], []), node.test
        )
        return node


def _strict(code: str, filename: str) -> Any:
    """The check compiled with :class:`_Strict`; as written when that fails (a class body that
    compares names of its own scope)."""
    try:
        tree = ast.fix_missing_locations(_Strict().visit(ast.parse(code)))
        return compile(tree, filename, "exec")
    except (SyntaxError, ValueError, TypeError):
        return compile(code, filename, "exec")


def _failing_line(error: BaseException, filename: str) -> str:
    import traceback

    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    return (frames[-1].line or "").strip() if frames else ""


def _publish(data: dict[str, Any]) -> None:
    from IPython.display import publish_display_data

    publish_display_data({MIME: data, "text/plain": f"[grader: {data['kind']}]"})


def _no_figures() -> None:
    """Figures are made, closed at the end of each cell as usual, but not drawn: the inline
    backend's image formats for a figure are taken out (drawing each figure to a PNG is most of
    what plotting costs, and nothing a check reads)."""
    shell = _shell()
    if shell is None or "matplotlib.figure" not in sys.modules:
        return
    from matplotlib.figure import Figure

    formatters = shell.display_formatter.formatters
    for mime, formatter in formatters.items():
        if mime != "text/plain":
            formatter.pop(Figure, None)
    formatters["text/plain"].for_type(Figure, lambda fig, p, cycle: p.text("[figure not drawn]"))


def start(user_ns: dict[str, Any], plan: dict[str, Any]) -> Guard:
    """Start the guard of this kernel (the first cell the grader adds)."""
    if not plan.get("figures", True):
        _no_figures()
    guard = Guard(user_ns, plan)
    user_ns[NAME] = guard
    return guard


# ------------------------------------------------------------------------ the grader's side
# Reaching these from a student's code can defeat the guard or the checks: frames, the garbage
# collector, raw memory, IPython's machinery, the import system, the guard itself.
_INTROSPECTION = {
    "gc": "the garbage collector (gc)",
    "ctypes": "raw memory (ctypes)",
    "inspect": "frames and sources (inspect)",
    "_getframe": "frames (sys._getframe)",
    "f_globals": "a frame's globals",
    "f_locals": "a frame's locals",
    "f_back": "the calling frame",
    "f_builtins": "a frame's builtins",
    "__globals__": "a function's globals",
    "__code__": "a function's code",
    "settrace": "a trace function",
    "setprofile": "a profile function",
    "get_ipython": "IPython's machinery (get_ipython)",
    "_ih": "the cells' sources (_ih)",
    "In": "the cells' sources (In)",
    "Out": "the cells' outputs (Out)",
    "modules": "sys.modules",
    "builtins": "the builtins module",
    "__builtins__": "the builtins",
    "__import__": "__import__",
    "importlib": "the import system (importlib)",
    "coursekit": "the grader (coursekit)",
    NAME: "the grader's guard",
    "atexit": "exit handlers (atexit)",
    "excepthook": "the exception hook",
    "displayhook": "the display hook",
}
_DYNAMIC = {"exec", "eval", "compile", "globals", "vars", "setattr", "delattr"}
_MODULES_ATTRIBUTE_OK = {"torch", "nn", "F", "np", "numpy", "helpers", "plt", "math"}  # X.modules
_COMPARISONS = set(
    "__eq__ __ne__ __lt__ __le__ __gt__ __ge__ __bool__ __class__ __instancecheck__ "
    "__subclasscheck__ __getattribute__ __float__ __index__".split()
)


def module_names(sources: list[str]) -> set[str]:
    """The names that ``import`` binds in any of ``sources`` (``torch``, ``np``, ``nn``, ``F``)."""
    found = {"torch", "np", "numpy", "math", "builtins", "sys", "helpers", "nn", "F", "plt"}
    for source in sources:
        try:
            tree = ast.parse(_strip_magics(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                found |= {a.asname or a.name for a in node.names if a.name != "*"}
                # `from torch import nn`: nn is a module; `from math import isclose`: not, but
                # assigning `isclose.x = ...` is as suspicious
    return found


def _strip_magics(source: str) -> str:
    return re.sub(r"^\s*[%!].*$", "", source, flags=re.M)


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:
        return "?"


def scan(source: str, modules: set[str], protected: set[str]) -> list[str]:
    """What in one cell of a student's code tampers with what checks rely on, or could defeat
    the guard, one phrase each (empty when nothing does).

    ``modules`` are the names bound to modules (:func:`module_names`); ``protected`` the names
    the course binds and the checks read, plus Python's builtins they use (rebinding them at the
    top level is reported; inside a function it is the function's own business).
    """
    try:
        tree = ast.parse(_strip_magics(source))
    except SyntaxError:
        return []
    found: list[tuple[int, str]] = []

    def add(node: ast.AST, text: str) -> None:
        found.append((getattr(node, "lineno", 0), text))

    def targets(node: ast.AST) -> list[ast.AST]:
        if isinstance(node, (ast.Tuple, ast.List)):
            return [t for elt in node.elts for t in targets(elt)]
        return targets(node.value) if isinstance(node, ast.Starred) else [node]

    for node in ast.walk(tree):
        stored: list[ast.AST] = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            stored = [t for target in node.targets for t in targets(target)]
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            stored = targets(node.target)
        for target in stored:
            if isinstance(target, (ast.Attribute, ast.Subscript)) and _root(target) in modules:
                add(target, f"assigns {_dotted(target)}")
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name in ("setattr", "delattr") and node.args and _root(node.args[0]) in modules:
                add(node, f"calls {name}({_dotted(node.args[0])}, ...)")
            elif name in _DYNAMIC:
                add(node, f"calls {name}()")
            elif isinstance(node.func, ast.Attribute) and node.func.attr == "reload":
                add(node, "reloads a module")
        if isinstance(node, ast.Name) and node.id in _INTROSPECTION and node.id != "modules":
            add(node, f"uses {_INTROSPECTION[node.id]}")  # (from sys import modules: below)
        elif isinstance(node, ast.Attribute) and node.attr in _INTROSPECTION:
            if node.attr != "modules" or _root(node.value) in modules - _MODULES_ATTRIBUTE_OK:
                add(node, f"uses {_INTROSPECTION[node.attr]}")  # model.modules() is PyTorch's
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top in _INTROSPECTION:
                    add(node, f"uses {_INTROSPECTION[top]}")
            if (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").split(".")[0] in _INTROSPECTION
            ):
                add(node, f"uses {_INTROSPECTION[node.module.split('.')[0]]}")
        if isinstance(node, ast.FunctionDef) and node.name in _COMPARISONS:
            add(node, f"defines {node.name} (an answer that passes for what it is not?)")
    for stmt in tree.body:  # top-level rebinding of what the checks read
        names: list[str] = []
        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            for target in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
                names += [t.id for t in targets(target) if isinstance(t, ast.Name)]
        elif isinstance(stmt, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.append(stmt.name)
        for name in names:  # (an import binds the same module again: the guard sees if not)
            if name in protected:
                add(stmt, f"rebinds {name}, which a check reads")
    ordered: list[str] = []
    for _, text in sorted(found, key=lambda item: item[0]):
        if text not in ordered:
            ordered.append(text)
    return ordered
