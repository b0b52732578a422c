"""The nbgrader settings of the course, shared by ``course/nbgrader_config.py`` and ``course-grade``.

One assignment per notebook (``source/00_data_and_evaluation/00_data_and_evaluation.ipynb``), the
autograder's Execute step replaced by ``GuardedExecute``, a per-cell timeout, and the pattern
``nbgrader zip_collect`` uses to read an LMS download (``Alice Smith_1234_assignsubmission_file_/
00_data_and_evaluation (1).ipynb`` or ``alice_00_data_and_evaluation.ipynb``).
"""

from __future__ import annotations

import json
import os

__all__ = ["configure", "ZIP_PATTERN"]

COURSE_ID = "course-recsys"

# nbgrader zip_collect unpacks downloaded/<NN>/archive/<name>.zip into downloaded/<NN>/extracted/<name>/:
# the student is the archive's top-level folder (an LMS's per-student folder, its numeric suffix
# dropped) or the part of a flat file name before the first underscore; the file is the notebook's
# name with a browser's " (1)" dropped.
ZIP_PATTERN = (r"^.*[/\\]extracted[/\\][^/\\]+[/\\](?P<student_id>[^/\\_]+?)(?:_\d+_assignsubmission_[^/\\]*)?[/\\_]"
               r"(?:.*[/\\])?(?P<file_id>\d\d_[A-Za-z0-9_]+?)(?: \(\d+\))?\.ipynb$")


def configure(c, root: str, cell_timeout: int = 120, progress_file: str = "", source_imports: str = "[]") -> None:
    """Fill the traitlets config ``c`` for the course directory ``root``."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    from course_lib.grading.execute import GuardedExecute

    c.CourseDirectory.root = root
    c.Exchange.root = os.path.join(root, "exchange")     # nbgrader's default, /usr/local/share, needs root
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
    c.Autograde.autograde_preprocessors = [GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                           SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    c.Execute.timeout = int(cell_timeout)
    c.Execute.interrupt_on_timeout = True
    c.GuardedExecute.timeout = int(cell_timeout)
    c.GuardedExecute.progress_file = progress_file
    c.GuardedExecute.source_imports = source_imports if isinstance(source_imports, str) else json.dumps(source_imports)
    c.ZipCollectApp.archive_directory = "archive"
    c.ZipCollectApp.extracted_directory = "extracted"
    c.FileNameCollectorPlugin.named_regexp = ZIP_PATTERN
    c.FileNameCollectorPlugin.valid_ext = [".ipynb"]
