"""Progress bars that leave plain, readable output in a saved notebook.

In a Jupyter kernel the bar is a tqdm bar drawn as static HTML (a ``<progress>`` element and
tqdm's own counter text) through one IPython display handle that each update replaces. Why not
tqdm's widget bar (``tqdm.auto`` in a notebook): a widget's state is not saved with the notebook,
so a reopened or submitted notebook showed "Error displaying widget: model not found" where the
bars were, and the same output renders differently on Colab, VS Code and a static page. A display
handle is plain output: the last state of the bar (epochs done, time, loss) is saved with the
notebook and reads the same everywhere, nbgrader's feedback and the course site included.

Outside a kernel (a terminal, a script) it is tqdm's ordinary text bar on stderr.
"""

from __future__ import annotations

import html
import io
import sys
from collections.abc import Iterable
from typing import Any

from tqdm.std import tqdm as _text_tqdm

__all__ = ["progress_bar", "NotebookBar", "in_kernel", "ipython_shell"]


def ipython_shell() -> Any:
    """The running IPython shell, or None (IPython is not imported unless something already did)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        return ipython.get_ipython()
    except Exception:  # noqa: BLE001 - no usable shell means: none
        return None


def in_kernel() -> bool:
    """True in a Jupyter kernel (a shell with a kernel behind it: JupyterLab, Colab, nbclient)."""
    shell = ipython_shell()
    return shell is not None and getattr(shell, "kernel", None) is not None


class NotebookBar(_text_tqdm):
    """tqdm, drawn as static HTML in one display output that each refresh replaces."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from IPython.display import display

        self._handle = display({"text/plain": ""}, raw=True, display_id=True)
        kwargs["file"] = io.StringIO()  # tqdm's own text output goes nowhere; the handle shows the bar
        kwargs["leave"] = True          # the final state stays in the saved notebook
        super().__init__(*args, **kwargs)

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:  # noqa: ARG002 - tqdm's signature
        handle = getattr(self, "_handle", None)
        if handle is None:
            return True
        state = dict(self.format_dict)
        state["bar_format"] = "{l_bar}\x00{r_bar}"
        left, _, right = self.format_meter(**state).partition("\x00")
        total, done = state.get("total"), state.get("n", 0)
        meter = (f'<progress value="{done}" max="{total}" style="width:14em;vertical-align:middle"></progress>'
                 if total else "")
        page = (f'<div class="course-progress" style="font-family:var(--jp-code-font-family, monospace);'
                f'font-size:var(--jp-code-font-size, 12px)">{html.escape(left.rstrip("|"))} {meter} '
                f'{html.escape(right.lstrip("|"))}</div>')
        handle.update({"text/plain": self.__str__(), "text/html": page}, raw=True)
        return True


def progress_bar(iterable: Iterable | None = None, description: str = "", total: int | None = None,
                 **kwargs: Any) -> Any:
    """A tqdm bar: static HTML in a notebook, text on stderr elsewhere."""
    bar = NotebookBar if in_kernel() else _text_tqdm
    return bar(iterable, desc=description, total=total, **kwargs)
