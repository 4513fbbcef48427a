"""The reporting workflow around a return: contacts, reminders (催报) and their notices, review (审核) and period locks."""
