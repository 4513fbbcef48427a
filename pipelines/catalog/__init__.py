"""The catalog: indicators, regions, plans, targets and reporting assignments, from targets/*.yaml and from the admin's Excel sheets."""
