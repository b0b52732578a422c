"""nbgrader's configuration of the course directory (this folder).

One assignment per notebook: ``source/<NN_name>/<NN_name>.ipynb`` is a copy of ``solutions/<NN_name>.ipynb``
made by ``make course`` (``python tasks.py course``), which also runs ``nbgrader generate_assignment`` for
each. From this folder the usual nbgrader commands work: ``nbgrader generate_assignment``, ``nbgrader
zip_collect``, ``nbgrader autograde``, ``nbgrader generate_feedback``, ``nbgrader export`` and the
formgrader (``make instructor-lab``). The settings live in course_lib/grading/nbgrader_setup.py.
Everything but this file, .gitignore and student-lab/ is generated and ignored by git.
"""

import os

from course_lib.grading.nbgrader_setup import configure

c = get_config()  # noqa: F821 - nbgrader provides it
configure(c, os.path.dirname(os.path.abspath(__file__)))
