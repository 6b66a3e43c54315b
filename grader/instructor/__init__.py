"""Instructor-side tooling: releases, submissions, the demo class and grade tables.

Everything here drives nbgrader's own command-line apps in a course folder (the folder
holding ``nbgrader_config.py``); nothing re-implements grading.
"""
