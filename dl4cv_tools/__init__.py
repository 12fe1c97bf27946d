"""dl4cv_tools: maintainer tooling that never ships to students (runner, notebook executor,
release, grader, results, benchmarks, course-compatibility check)."""
