"""The course's grader: never installed for students, never importable in a grading kernel.

- ``grader.checks``      -- the hidden checks and the references they compare with; they run
                            in the trusted grading process and call the student's functions
                            through ``grader.instructor.trusted`` (the student's code stays
                            in its kernel)
- ``grader.handouts``    -- modules handed out with a later lesson's release, once the lesson
                            whose answer they contain has been graded (``mlp`` with lesson 5)
- ``grader.instructor``  -- release, the demo class, class grading, reports, validity scripts
- ``grader.secret``      -- the course secret every hidden input is drawn from
"""
