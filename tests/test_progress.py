"""Progress bars in a notebook are plain output (no widget), whose final state is saved; elsewhere text."""

from __future__ import annotations

import io

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course_lib.progress import NotebookBar, progress_bar


def test_outside_a_kernel_it_is_tqdms_text_bar():
    stream = io.StringIO()
    bar = progress_bar(range(3), "epochs", file=stream, mininterval=0)
    assert not isinstance(bar, NotebookBar)
    assert list(bar) == [0, 1, 2]
    assert "epochs: 100%" in stream.getvalue() and "3/3" in stream.getvalue()


@pytest.mark.notebook
def test_in_a_kernel_the_bar_is_static_html_with_its_final_state_saved():
    NotebookClient = pytest.importorskip("nbclient").NotebookClient  # noqa: N806 - the class, imported here

    notebook = new_notebook(cells=[
        new_code_cell("import time\nfrom course_lib.base import progress\n"
                      "bar = progress(range(5), True, 'fit Model')\n"
                      "for epoch in bar:\n    time.sleep(0.05)\n    bar.set_postfix({'loss': f'{1 / (epoch + 1):.3f}'})\n"
                      "print('done')"),
        new_code_cell("import course_lib\nfrom course_lib.baselines import Popularity\n"
                      "data = course_lib.make_synthetic(n_users=300, n_items=50, mean_per_user=10, min_per_user=5, seed=0)\n"
                      "train, test = course_lib.random_split(data, seed=0)\n"
                      "course_lib.evaluate(Popularity().fit(train), train, test, batch_size=10, show_progress=True)"
                      ".shape"),
    ])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = [o for cell in notebook.cells for o in cell.outputs]
    assert not [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert "widgets" not in notebook.metadata
    bars = [o for o in outputs if "course-progress" in o.get("data", {}).get("text/html", "")]
    assert len(bars) == 2, outputs
    fit, evaluation = bars
    assert "5/5" in fit.data["text/plain"] and "loss=0.200" in fit.data["text/plain"]
    assert '<progress value="5" max="5"' in fit.data["text/html"]
    assert evaluation.data["text/plain"].startswith("evaluate Popularity: 100%")
    assert "Error" not in nbformat.writes(notebook)
