"""Per-patient endpoints derived from validated data: goal attainment, changes, adherence, scales."""
