"""Everything that moves or computes data: targets, returns, metrics, bulletin, demo data, CLI."""
