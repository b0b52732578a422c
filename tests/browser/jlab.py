"""What a student does in JupyterLab, as Playwright steps: open a notebook, run all, edit and run a
cell, save, close; and what the page shows (cells, prompts, outputs, the check boxes).

Selectors are JupyterLab 4's (the lock's version): a notebook's cells are ``.jp-Notebook .jp-Cell``,
a code cell's prompt ``.jp-InputArea-prompt`` (``[3]:``, ``[*]:`` while queued or running, ``[ ]:``
never run), the kernel's state the status bar item ``<kernel name> | Idle``, a modified notebook's
tab ``.jp-mod-dirty``. A check's box is ``.course-check[data-status]`` (course_lib/checks/_display.py).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Playwright is imported by the browser fixture, which skips (or fails in CI) without it
    from playwright.sync_api import Locator, Page

RUN_TIMEOUT_MS = 600_000

# The kernel's state in the status bar ("Python 3 (ipykernel) | Idle"), and the notebook's cells.
_KERNEL_STATE_JS = """() => {
    for (const item of document.querySelectorAll('#jp-main-statusbar .jp-StatusBar-Item')) {
        const match = /^(.+) \\| (\\w[\\w ]*)$/.exec(item.innerText.trim());
        if (match && match[1] !== 'No Kernel') return match[2];
    }
    return null;
}"""

# textContent, not innerText: a folded cell (the Colab setup cell) hides its prompt, not its count.
_PROMPTS_JS = """() => Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell'))
    .map(cell => (cell.querySelector('.jp-InputArea-prompt') || {textContent: ''}).textContent.trim())"""

# Run All has finished: the kernel idle, no cell queued or running ([*]), and some cell run since (a count above
# the highest before), over every code cell of the file (JupyterLab attaches long notebooks' cells a few at a time).
_RUN_FINISHED_JS = """([cells, before]) => {
    if ((KERNEL_STATE)() !== 'Idle') return false;
    const prompts = (PROMPTS)();
    if (prompts.length < cells || prompts.some(p => p.includes('*'))) return false;
    return Math.max(0, ...prompts.map(p => parseInt((/\\[(\\d+)\\]/.exec(p) || [0, '0'])[1]))) > before;
}""".replace("KERNEL_STATE", _KERNEL_STATE_JS).replace("PROMPTS", _PROMPTS_JS)


def notebook(page: Page) -> Locator:
    """The notebook of the current tab."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first


def kernel_state(page: Page) -> str | None:
    return page.evaluate(_KERNEL_STATE_JS)


def wait_for_kernel_idle(page: Page, timeout_ms: int = 120_000) -> None:
    page.wait_for_function(f"() => ({_KERNEL_STATE_JS})() === 'Idle'", timeout=timeout_ms)


def open_notebook(page: Page, lab, name: str, cells: int | None = None) -> None:
    """Open ``name`` in JupyterLab (as a link to it does), wait for all its cells and its kernel."""
    page.goto(lab.tree_url(name))
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=120_000)
    if cells is not None:  # JupyterLab attaches the cells of a long notebook a few at a time
        page.wait_for_function(
            "([n]) => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell').length >= n",
            arg=[cells], timeout=60_000)
    wait_for_kernel_idle(page)


def menu(page: Page, top: str, item: str) -> None:
    """Click a menu of the menu bar (``Run``), then one of its items (``Run All Cells``)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-content .lm-Menu-item:not(.lm-mod-disabled)").filter(
        has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$"))).first.click()


def code_prompts(page: Page) -> list[str]:
    return page.evaluate(_PROMPTS_JS)


def run_all(page: Page, code_cells: int, timeout_ms: int = RUN_TIMEOUT_MS) -> float:
    """Run > Run All Cells, then wait until the kernel is idle and no cell is queued; returns seconds."""
    before = max((execution_count(prompt) or 0 for prompt in code_prompts(page)), default=0)
    started = time.perf_counter()
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(_RUN_FINISHED_JS, arg=[code_cells, before], timeout=timeout_ms, polling=500)
    return time.perf_counter() - started


def execution_count(prompt: str) -> int | None:
    match = re.search(r"\[(\d+)\]", prompt)
    return int(match.group(1)) if match else None


def code_cell(page: Page, text: str) -> Locator:
    """The code cell whose source contains ``text``."""
    return notebook(page).locator(".jp-CodeCell").filter(
        has=page.locator(".jp-InputArea-editor", has_text=text)).first


def replace_source(page: Page, cell: Locator, source: str) -> None:
    """Click into ``cell``'s editor, select everything and type ``source`` in its place (as one
    insertion: CodeMirror's auto-indent and bracket closing apply to keystrokes, not to this)."""
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(source)


def run_selected_and_advance(page: Page) -> None:
    page.keyboard.press("Shift+Enter")


def cell_count(cell: Locator) -> int | None:
    """The execution count of a code cell (None before it ran)."""
    return execution_count(cell.locator(".jp-InputArea-prompt").text_content() or "")


def wait_for_cell_run(page: Page, cell: Locator, after: int | None = None, timeout_ms: int = 120_000) -> int:
    """Wait until ``cell`` shows an execution count (greater than ``after``) and the kernel is idle."""
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        count = cell_count(cell)
        if count is not None and (after is None or count > after) and kernel_state(page) == "Idle":
            return count
        time.sleep(0.25)
    raise AssertionError(f"the cell did not run in {timeout_ms / 1000:.0f} s: {cell.inner_text()[:500]}")


def check_box(cell: Locator) -> Locator:
    """The box a check cell shows (``<div class="course-check" data-status=...>``)."""
    return cell.locator(".jp-OutputArea .course-check")


def errors_shown(page: Page) -> list[str]:
    """The text of every traceback on the page (the output of a cell that raised)."""
    return notebook(page).locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()


def is_dirty(page: Page) -> bool:
    """Whether the current notebook's tab says it has unsaved changes."""
    return page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current.jp-mod-dirty").count() > 0


def save(page: Page) -> None:
    menu(page, "File", "Save Notebook")
    page.wait_for_function(
        "() => !document.querySelector('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current.jp-mod-dirty')", timeout=30_000)


def close_current_tab(page: Page) -> None:
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").click()


def dialog(page: Page) -> Locator:
    return page.locator(".jp-Dialog")
