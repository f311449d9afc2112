"""A class's tools, consumers of the pipeline's documents and answers: per-student versions
and the constraints that keep them fair (versions.py, constraints.py), batches built in
parallel (batch.py), the grading grid and summary (grid.py), students' submissions and their
marking (submissions.py, grading.py), and the LMS exports (lms.py; moodle.py, canvas.py) with
their numbers (lms_numbers.py)."""
