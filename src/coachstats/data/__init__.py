"""Loading, validating and accounting for patient data: readers, schema, flow, outputs."""
