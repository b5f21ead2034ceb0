"""Instructor tools behind `cnnkit`: validate, release, grade, feedback, export, report."""
