"""Accounts: users, passwords and tokens, reporter accounts from a sheet, the audit log in words."""
