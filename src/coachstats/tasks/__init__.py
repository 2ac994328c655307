"""The tasks users run: reproduce the published trials, evaluate a program, power, questionnaires, tracking."""
