"""Importing ``course_lib.tf`` on a machine without a GPU prints nothing a student has to read past:
no oneDNN notice, no "Could not find cuda drivers", no red "failed call to cuInit: CUDA error".
Other lines TensorFlow prints while it is imported are still shown."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("tensorflow")

from course_lib.tf import _passed_on  # noqa: E402

QUIET_RUN = "import course_lib.tf as t; print(float(t.tf.reduce_sum(t.tf.ones(3))))"
CHATTER = ("oneDNN", "cuda", "CUDA", "absl", "I0000", "E0000", "W0000")


def _environment(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return {**environment, **extra}


def test_a_cpu_process_prints_no_start_up_chatter():
    done = subprocess.run([sys.executable, "-c", QUIET_RUN], capture_output=True, text=True, timeout=300,
                          env=_environment())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3.0"
    assert not [line for line in done.stderr.splitlines() if any(word in line for word in CHATTER)], done.stderr


def test_a_log_level_set_by_the_user_is_kept_and_nothing_is_filtered():
    done = subprocess.run([sys.executable, "-c", "import os, course_lib.tf; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"],
                          capture_output=True, text=True, timeout=300, env=_environment(TF_CPP_MIN_LOG_LEVEL="0"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
    assert "oneDNN" in done.stderr  # TensorFlow's own line, shown because the user asked for its log


@pytest.mark.parametrize("line", [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1796024708.557589    8187 port.cc:153] oneDNN custom operations are on.\n",
    "I0000 00:00:1796036275.450221   28398 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n",
    "W0000 00:00:1796036275.450221   28398 cpu_feature_guard.cc:210] This TensorFlow binary is optimized.\n",
    "2026-11-30 11:16:14.205917: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:31] Could not find cuda drivers\n",
    "2026-11-30 11:16:14.2: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on.\n",
])
def test_the_known_start_up_lines_are_dropped(line):
    assert _passed_on(line) == ""


@pytest.mark.parametrize("line", [
    "E0000 00:00:1796024719.121623    8187 cuda_platform.cc:52] failed call to cuInit\n",  # not at import time
    "F0000 00:00:1.0    1 port.cc:12] a fatal line from the same file\n",
    "ImportError: libcudnn.so.9: cannot open shared object file\n",
    "Traceback (most recent call last):\n",
    "port.cc:153] a line that only mentions the file\n",
    "2026-11-30 11:16:14.205917: E external/local_xla/xla/stream_executor/cuda/cuda_driver.cc:152] failed\n",
])
def test_every_other_line_is_passed_on(line):
    chatter = "I0000 00:00:1.0    1 port.cc:153] oneDNN custom operations are on.\n"
    assert _passed_on(chatter + line + chatter) == line


def test_a_jupyter_kernel_shows_no_stderr_under_the_cell():
    nbclient = pytest.importorskip("nbclient")  # a Jupyter kernel runner (not in Colab's package set)
    import nbformat

    notebook = nbformat.v4.new_notebook()
    # The kernel forwards what goes to file descriptor 2 from a thread, so it can land under a later
    # cell: the second one waits for it.
    notebook.cells = [nbformat.v4.new_code_cell(QUIET_RUN), nbformat.v4.new_code_cell("import time; time.sleep(2)")]
    # ipykernel forwards file descriptor 2 only outside pytest (it looks for PYTEST_CURRENT_TEST).
    saved = {name: os.environ.pop(name, None) for name in ("TF_CPP_MIN_LOG_LEVEL", "PYTEST_CURRENT_TEST")}
    try:
        nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    finally:
        os.environ.update({name: value for name, value in saved.items() if value is not None})
    outputs = [output for cell in notebook.cells for output in cell.outputs]
    assert [o for o in outputs if o.get("name") == "stderr"] == [], outputs
    assert "3.0" in "".join(o.get("text", "") for o in outputs)
