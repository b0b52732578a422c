"""nbgrader's Execute step, hardened for grading code written by students.

``GuardedExecute`` replaces ``nbgrader.preprocessors.Execute`` in ``nbgrader autograde`` run by hand
from the course directory (the course's ``nbgrader_config.py`` sets it). ``make grade`` does not use
it: it grades each submission in a sandbox and judges the answers outside it
(``course_lib.grading.grade``). It differs in four ways:

- **Hooks reset before every test cell.** Before any cell of the notebook runs, a preamble takes a
  snapshot of the functions and classes of ``course_lib``, NumPy, PyTorch, SciPy, pandas and the
  builtins, and of the IPython shell's hooks (input transformers, AST transformers, event
  callbacks, ``run_cell``/``showtraceback``). Before each test cell the snapshot is restored: a
  student cell that replaced ``course_lib.metrics.ndcg_at_k``, patched ``Popularity.score``,
  ``np.isclose`` or ``builtins.all``, changed a function in place (``metrics.recall_at_k.__code__ = ...``,
  ``numpy.testing.assert_allclose.__defaults__``), shadowed a builtin or rebound a module name, or registered an
  input transformer that turns test cells into ``pass``, no longer changes what the test runs. The
  import statements of the source notebook are run again, so names such as ``metrics`` or
  ``Popularity`` point at the real objects; ``numpy.testing`` and ``math``, which the hidden tests
  compare with, are imported before the snapshot so they are restored too. The reset runs as a ``user_expressions`` entry of an
  empty request, which input transformers never see; when it cannot run (the student broke the
  kernel's machinery) the test cell is not run and scores zero with that reason.
- **Warnings do not cost points.** nbgrader scores any stderr output of a test cell as a failure;
  here stderr lines of a test cell (a library's ``UserWarning``, a student's diagnostic print) are
  kept, moved to stdout with a ``[stderr]`` prefix, so only an error fails a test.
- **A dead kernel costs only what follows.** When the kernel dies (``os._exit``, a segfault, the
  memory limit), the cell it died in gets an error naming the cell, every later test cell gets
  "not run: the kernel died in cell N", and the test cells before keep their results.
- **Progress on disk.** Before each cell, the cell's index and the results of the test cells so
  far are written to ``GuardedExecute.progress_file`` (JSON, written atomically), so the grader
  can keep the points earned before a kernel that kills the grading process itself.

None of this makes it safe to run untrusted code as yourself: a student can still read files and
start processes. Grade in a container or as an unprivileged user (README, "Grading").
"""

from __future__ import annotations

import ast
import json
import os
import secrets
import tempfile
from pathlib import Path

from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from nbgrader.utils import determine_grade, is_grade
from traitlets import Unicode

__all__ = ["GuardedExecute", "import_statements", "PREAMBLE", "RESET_EXPRESSION"]

# Modules whose functions and classes are restored before each test cell (with their submodules).
_GUARDED_PACKAGES = ("course_lib", "builtins", "numpy", "torch", "tensorflow", "scipy", "pandas", "math", "operator",
                     "functools", "itertools", "random", "time", "warnings", "IPython", "ipykernel", "hashlib",
                     "unittest")

# Imported before the snapshot, so that what the hidden tests compare with is restored before each
# test cell even when the notebook never imported it itself (NumPy loads ``numpy.testing`` lazily).
_COMPARISON_IMPORTS = ("import math", "import numpy", "import numpy.testing", "import hashlib")

PREAMBLE = r'''
def __course_grader_install(nonce, packages, imports):
    import builtins, sys, threading, types, warnings

    def _functions(namespaces):
        found = {}
        for namespace in namespaces:
            for value in namespace.values():
                if isinstance(value, (staticmethod, classmethod)):
                    value = value.__func__
                elif isinstance(value, property):
                    value = value.fget
                if isinstance(value, types.FunctionType) and value not in found:
                    found[value] = (value.__code__, value.__defaults__, value.__kwdefaults__)
        return found

    for statement in imports:
        try:
            exec(statement, {})
        except Exception:
            pass
    ip = get_ipython()
    plain = (int, float, complex, str, bytes, bool, type(None))

    def guarded(name):
        return name.split(".")[0] in packages

    modules = {name: (module, dict(vars(module))) for name, module in list(sys.modules.items())
               if isinstance(module, types.ModuleType) and guarded(name)}
    classes = {}
    for name, (module, namespace) in modules.items():
        if name.split(".")[0] != "course_lib":
            continue
        for value in namespace.values():
            if isinstance(value, type) and getattr(value, "__module__", "").startswith("course_lib"):
                classes[value] = dict(vars(value))
    for klass in type(ip).__mro__:
        if klass is not object:
            classes[klass] = dict(vars(klass))
    if "torch" in sys.modules:
        for klass in (sys.modules["torch"].Tensor, sys.modules["torch"].nn.Module):
            classes[klass] = dict(vars(klass))
    # a function object can be changed in place (`metrics.recall_at_k.__code__ = ...`,
    # `numpy.testing.assert_allclose.__code__ = ...`): its code and defaults are restored too
    namespaces = [namespace for _, namespace in modules.values()] + list(classes.values())
    with warnings.catch_warnings():     # isinstance() on a deprecated alias warns (torch.distributed.reduce_op)
        warnings.simplefilter("ignore")
        function_state = _functions(namespaces)
    shell_attributes = dict(vars(ip))
    manager = ip.input_transformer_manager
    transforms = {name: list(getattr(manager, name)) for name in ("cleanup_transforms", "line_transforms",
                                                                 "token_transformers")}
    post, ast_transformers = list(ip.input_transformers_post), list(ip.ast_transformers)
    callbacks = {event: list(functions) for event, functions in ip.events.callbacks.items()}
    hooks = (sys.displayhook, sys.excepthook, ip.custom_exceptions, ip.CustomTB)
    builtin_names = dict(vars(builtins))
    user_ns = ip.user_ns

    def reset():
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)
        threading.setprofile(None)
        for name, (module, namespace) in modules.items():
            sys.modules[name] = module
            current = vars(module)
            for key, value in namespace.items():
                if current.get(key, reset) is not value and not isinstance(value, plain):
                    current[key] = value
        for klass, namespace in classes.items():
            for key in [key for key, value in vars(klass).items() if key not in namespace
                        and (callable(value) or isinstance(value, (property, staticmethod, classmethod)))]:
                try:
                    delattr(klass, key)
                except (AttributeError, TypeError):
                    pass
            for key, value in namespace.items():
                if vars(klass).get(key, reset) is not value:
                    try:
                        setattr(klass, key, value)
                    except (AttributeError, TypeError):
                        pass
        for function, (code, defaults, kwdefaults) in function_state.items():
            if function.__code__ is not code:
                function.__code__ = code
            if function.__defaults__ is not defaults:
                function.__defaults__ = defaults
            if function.__kwdefaults__ is not kwdefaults:
                function.__kwdefaults__ = kwdefaults
        for key in [key for key in vars(ip) if key not in shell_attributes]:
            del vars(ip)[key]
        for key in ("input_transformer_manager", "events", "user_ns", "user_global_ns", "display_pub",
                    "displayhook", "compile", "InteractiveTB", "SyntaxTB"):
            if key in shell_attributes:
                vars(ip)[key] = shell_attributes[key]
        for name, values in transforms.items():
            getattr(manager, name)[:] = values
        ip.input_transformers_post = list(post)
        ip.ast_transformers = list(ast_transformers)
        for event, functions in callbacks.items():
            ip.events.callbacks[event] = list(functions)
        sys.displayhook, sys.excepthook, ip.custom_exceptions, ip.CustomTB = hooks
        for key, value in builtin_names.items():
            if key in user_ns and user_ns[key] is not value and not key.startswith("_") \
                    and key not in ("exit", "quit", "In", "Out", "get_ipython", "display"):
                del user_ns[key]
        for statement in imports:
            try:
                exec(statement, user_ns)
            except Exception:
                pass
        return nonce

    sys.modules["__course_grader_reset__"] = types.SimpleNamespace(reset=reset)

'''

# Evaluated as a user expression: input transformers never see it.
RESET_EXPRESSION = "__import__('sys').modules['__course_grader_reset__'].reset()"


def import_statements(notebook: NotebookNode) -> list[str]:
    """The top-level import statements of the notebook's code cells that are not solution cells."""
    statements = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("solution"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                statement = ast.unparse(node)
                if statement not in statements:
                    statements.append(statement)
    return statements


def _write_json_atomically(path: Path, payload: dict) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".progress.", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(payload, stream)
    os.replace(temporary, path)


def _error(name: str, value: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=value, traceback=[f"{name}: {value}"])


class GuardedExecute(Execute):
    """nbgrader's Execute with hooks reset before test cells, warnings kept, and dead kernels contained."""

    progress_file = Unicode("", help="where to write the progress of the run (JSON); empty: nowhere; "
                                     "'{notebook}' is replaced by the notebook's name").tag(config=True)
    source_imports = Unicode("[]", help="JSON: the source notebook's import statements, a list, or a dict of "
                                        "lists by notebook name (one autograde run for several notebooks)"
                             ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        from nbclient.client import NotebookClient
        from nbclient.exceptions import DeadKernelError

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._results: dict[str, float] = {}
        self._reasons: dict[str, str] = {}
        notebook = str((resources or {}).get("nbgrader", {}).get("notebook", ""))
        self._progress = Path(self.progress_file.replace("{notebook}", notebook)) if self.progress_file else None
        declared = json.loads(self.source_imports or "[]")
        if isinstance(declared, dict):
            declared = declared.get(notebook, [])
        imports = list(_COMPARISON_IMPORTS) + (declared or import_statements(nb))
        nonce = secrets.token_hex(8)
        with self.setup_kernel():
            info = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            preamble = PREAMBLE + f"__course_grader_install({nonce!r}, {_GUARDED_PACKAGES!r}, {imports!r})\n" \
                                  "del __course_grader_install\n"
            reply = self.wait_for_reply(self.kc.execute(preamble, silent=True, store_history=False))
            installed = bool(reply) and reply["content"].get("status") == "ok"
            for index, cell in enumerate(self.nb.cells):
                self._save_progress(index)
                grade_cell = cell.cell_type == "code" and is_grade(cell)
                if grade_cell and not self._reset_hooks(installed, nonce):
                    cell.outputs = [_error("GraderResetFailed", "the grader could not reset the kernel before this "
                                           "test cell (the notebook's code replaced the kernel's machinery): "
                                           "test not run")]
                    self._record(cell)
                    continue
                try:
                    self.preprocess_cell(cell, resources, index)
                except DeadKernelError:
                    cell.outputs = list(cell.get("outputs", [])) + [
                        _error("DeadKernelError", f"the kernel died while running cell {index} (the code crashed "
                                                  "Python, called os._exit, or ran out of memory)")]
                    if is_grade(cell):
                        self._record(cell)
                    for later in self.nb.cells[index + 1:]:
                        if later.cell_type == "code" and is_grade(later):
                            later.outputs = [_error("NotRun", f"not run: the kernel died in cell {index}")]
                            self._record(later)
                    break
                if grade_cell:
                    self._move_stderr(cell)
                    self._record(cell)
        self._save_progress(len(self.nb.cells), finished=True)
        self.set_widgets_metadata()
        return self.nb, self.resources

    def _reset_hooks(self, installed: bool, nonce: str) -> bool:
        if not installed:
            return False
        try:
            reply = self.wait_for_reply(self.kc.execute("", silent=True, store_history=False,
                                                        user_expressions={"reset": RESET_EXPRESSION}))
        except Exception:  # noqa: BLE001 - a kernel that does not answer is a failed reset
            return False
        result = (reply or {}).get("content", {}).get("user_expressions", {}).get("reset", {})
        return result.get("status") == "ok" and nonce in str(result.get("data", {}).get("text/plain", ""))

    @staticmethod
    def _move_stderr(cell: NotebookNode) -> None:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                output["name"] = "stdout"
                output["text"] = "".join(f"[stderr] {line}" for line in output["text"].splitlines(keepends=True))

    def _record(self, cell: NotebookNode) -> None:
        points, _ = determine_grade(cell)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        reason = ""
        if errors:
            value = str(errors[0].get("evalue", "")).strip().splitlines()
            reason = errors[0].get("ename", "error") + (f": {value[0][:200]}" if value else "")
        self._results[cell.metadata["nbgrader"]["grade_id"]] = points
        self._reasons[cell.metadata["nbgrader"]["grade_id"]] = reason

    def _save_progress(self, index: int, finished: bool = False) -> None:
        if self._progress is not None:
            _write_json_atomically(self._progress, {"cell": index, "finished": finished,
                                                              "points": self._results,
                                                              "reasons": self._reasons})
