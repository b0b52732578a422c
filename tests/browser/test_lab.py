"""The student notebooks in JupyterLab, in headless Chromium, as a student uses them (`make browser-test`).

Each test starts its own JupyterLab (tests/browser/conftest.py) on a temporary git copy of
notebooks/, so nothing here changes the repository's files.
"""

from __future__ import annotations

import json
import platform
import re
import time

import pytest

from tests.browser import jlab

pytestmark = pytest.mark.browser

WIDGET_ERRORS = ("Error displaying widget", "model not found")


def _cells(lab, name: str) -> tuple[int, int]:
    """(cells, code cells) of the notebook ``name`` in the lab's copy."""
    cells = json.loads((lab.notebooks / name).read_text(encoding="utf-8"))["cells"]
    return len(cells), sum(cell["cell_type"] == "code" for cell in cells)


def _assert_ran_to_the_end(page, name: str, code_cells: int) -> None:
    prompts = jlab.code_prompts(page)
    assert len(prompts) == code_cells, f"{name}: {len(prompts)} code cells on the page, {code_cells} in the file"
    counts = [jlab.execution_count(prompt) for prompt in prompts]
    if counts[-1] is None:
        never = [index for index, count in enumerate(counts) if count is None]
        errors = "\n---\n".join(text[-1500:] for text in jlab.errors_shown(page)) or "(no traceback on the page)"
        pytest.fail(f"{name}: Run All stopped before the end: code cells {never} (of {code_cells}) never ran. "
                    f"What the page shows of errors:\n{errors}", pytrace=False)


@pytest.mark.parametrize("name", [
    "00_data_and_evaluation.ipynb",
    "03_ease_r.ipynb",
    pytest.param("07_bpr.ipynb", marks=pytest.mark.slow),
])
def test_run_all_reaches_the_last_cell(lab, page, name):
    """Run > Run All Cells on the untouched student notebook runs every code cell, the last included:
    the checks of the unsolved exercises show a box ("not done yet") instead of raising."""
    cells, code_cells = _cells(lab, name)
    jlab.open_notebook(page, lab, name, cells)
    seconds = jlab.run_all(page, code_cells)
    print(f"{name}: Run All took {seconds:.1f} s")
    _assert_ran_to_the_end(page, name, code_cells)
    statuses = jlab.notebook(page).locator(".course-check").evaluate_all("els => els.map(e => e.dataset.status)")
    assert statuses and set(statuses) == {"not-done"}, f"{name}: the check boxes of the untouched notebook: {statuses}"


WRONG_RECALL = '''def recall_at_k(recommended, relevant, k):
    """Recall@k of one ranked list."""
    if not relevant:
        return 0.0
    hits = len(set(recommended[:k]) & set(relevant))
    return hits / k
'''
RIGHT_RECALL = WRONG_RECALL.replace("return hits / k", "return hits / len(relevant)")


def test_a_wrong_answer_gets_a_hint_then_the_right_one_passes(lab, page):
    name = "00_data_and_evaluation.ipynb"
    cells, _ = _cells(lab, name)
    jlab.open_notebook(page, lab, name, cells)
    exercise = jlab.code_cell(page, "def recall_at_k(")
    check = jlab.code_cell(page, "checks.check_recall_at_k(recall_at_k)")
    # What comes before the exercise (the imports, the data), as a student who starts here would.
    exercise.click()
    jlab.menu(page, "Run", "Run All Above Selected Cell")
    jlab.wait_for_cell_run(page, jlab.code_cell(page, "rel = [int(item in relevant)"))

    attempts = []
    for source, expected in ((WRONG_RECALL, "failed"), (RIGHT_RECALL, "passed")):
        jlab.replace_source(page, exercise, source)
        jlab.run_selected_and_advance(page)          # the exercise cell; the check cell is selected next
        jlab.wait_for_cell_run(page, exercise, after=max(attempts, default=0))
        jlab.run_selected_and_advance(page)          # the check cell
        attempts.append(jlab.wait_for_cell_run(page, check, after=jlab.cell_count(exercise)))
        box = jlab.check_box(check)
        assert box.count() == 1, (f"the check cell shows no .course-check box; it shows:\n"
                                  f"{check.locator('.jp-OutputArea').inner_text()[:2000]}")
        text = box.inner_text()
        assert box.get_attribute("data-status") == expected, text
        assert box.get_attribute("data-exercise") == "recall_at_k"
        assert "recall_at_k" in text.splitlines()[0], text
        if expected == "failed":
            # The hint names the mistake: dividing by k is precision; recall divides by |relevant|.
            assert "precision" in text and "|relevant|" in text, text


def test_saved_training_outputs_reopen_without_widget_errors(lab, page):
    """07 in its QUICK form: Run All (training with progress bars), save, close, open again: every
    output displays, no "Error displaying widget: model not found" for a progress bar."""
    name = "07_bpr.ipynb"
    cells, code_cells = _cells(lab, name)
    jlab.open_notebook(page, lab, name, cells)
    # The parameters cell as a student shortens it: QUICK and the values of quick_parameters (what
    # course_lib.grading.check.with_quick_parameters gives the tests), typed at its end.
    content = json.loads((lab.notebooks / name).read_text(encoding="utf-8"))
    source = "".join(next(c["source"] for c in content["cells"] if "parameters" in c["metadata"].get("tags", [])))
    quick = {"QUICK": True, **content["metadata"]["course"]["quick_parameters"]}
    parameters = jlab.code_cell(page, "QUICK = False")
    jlab.replace_source(page, parameters, source + "\n" + "\n".join(f"{k} = {v!r}" for k, v in quick.items()))
    page.keyboard.press("Escape")
    seconds = jlab.run_all(page, code_cells)
    print(f"{name} (QUICK): Run All took {seconds:.1f} s")
    _assert_ran_to_the_end(page, name, code_cells)
    jlab.save(page)
    jlab.close_current_tab(page)
    page.wait_for_selector(".jp-NotebookPanel", state="detached", timeout=30_000)
    lab.shut_down_kernels()  # reopened later, with a new kernel: only what the file holds can display

    jlab.open_notebook(page, lab, name, cells)
    time.sleep(2)  # the outputs render, widget views look their models up
    text = page.locator("body").inner_text()
    shown = [phrase for phrase in WIDGET_ERRORS if phrase in text]
    assert not shown, f"{name} reopened after saving shows {shown}"
    assert jlab.notebook(page).locator(".jp-OutputArea-output").count() > 0, "the saved outputs are not shown"
    # The training's progress bars are static HTML in the file (course_lib.base), shown again as they ended.
    assert jlab.notebook(page).locator(".jp-OutputArea .course-progress").count() > 0, "no progress bar shown"


@pytest.mark.parametrize("name", ["00_data_and_evaluation.ipynb", "07_bpr.ipynb"])
def test_an_untouched_notebook_closes_without_changes(lab, page, name):
    """Open, let the kernel start, close: no "Save your work" question and nothing for git to see.
    (JupyterLab writes the kernel's language_info into the notebook when the kernel starts: the
    student notebooks carry it already, see course_lib/grading/generate.py.)"""
    cells, _ = _cells(lab, name)
    jlab.open_notebook(page, lab, name, cells)
    time.sleep(2)
    if jlab.is_dirty(page):
        stored = json.loads((lab.notebooks / name).read_text(encoding="utf-8"))["metadata"].get("language_info", {})
        kernel = platform.python_version()  # the kernel is this interpreter (python3 of the same venv)
        pytest.fail(f"{name} is marked modified right after opening. Its language_info.version is "
                    f"{stored.get('version')!r}, the kernel's Python {kernel!r}: JupyterLab rewrites language_info "
                    "unless it equals the kernel's key for key.", pytrace=False)
    jlab.close_current_tab(page)
    page.wait_for_selector(".jp-NotebookPanel", state="detached", timeout=10_000)
    assert jlab.dialog(page).count() == 0, jlab.dialog(page).inner_text()
    assert lab.git_status() == "", f"git status in the copy:\n{lab.git_status()}"


def test_math_is_rendered(lab, page):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    name = "00_data_and_evaluation.ipynb"
    cells, _ = _cells(lab, name)
    jlab.open_notebook(page, lab, name, cells)
    rendered = jlab.notebook(page).locator(".jp-MarkdownCell .jp-RenderedMarkdown")
    page.wait_for_selector(".jp-RenderedMarkdown mjx-container", timeout=60_000)
    # Every markdown cell with a formula typesets it: wait until no \sum, \frac, ... is left as text.
    try:
        page.wait_for_function(
            "() => !Array.from(document.querySelectorAll('.jp-RenderedMarkdown')).some(e => /\\\\(sum|frac|log|text)\\b/.test(e.innerText))",
            timeout=60_000)
    except PlaywrightTimeout:
        pass  # the assertion below says which cells
    texts = rendered.all_inner_texts()
    raw = [t[:200] for t in texts if re.search(r"\\(sum|frac|log|text)\b", t)]
    assert not raw, f"markdown cells show raw LaTeX: {raw}"
    assert jlab.notebook(page).locator("mjx-container").count() >= 10
