"""Returns: the .xlsx container checks, extraction of both layouts, the great-expectations checks, archive and load with revisions, templates."""
