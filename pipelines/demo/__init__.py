"""The demo warehouse: profiles, deterministic values, the upload schedule."""
