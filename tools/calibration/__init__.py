"""Calibration searches of the synthetic cohorts: ``python -m tools.calibration.calibrate_hcpc`` / ``calibrate_peer``.

They are not part of the installed package. Their results are stored as constants in
:mod:`coachstats.synthetic.hcpc` / :mod:`coachstats.synthetic.peer`; the test suite
imports these scripts and checks that the stored constants are what they find.
"""
