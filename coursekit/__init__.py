"""The maintainers' tooling for the course: not imported by the notebooks.

- ``python -m coursekit.run``: execute the notebooks headless (``make course``, ``make notebooks``);
- ``python -m coursekit.report``: the course report from the last run;
- ``python -m coursekit.student``: the student edition (``make student``);
- ``python -m coursekit.grade``: grade submitted student notebooks (``make grade``);
- ``python -m coursekit.site``: the static HTML site (``make site``).
"""
