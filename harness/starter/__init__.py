"""`hil init`: a starter lab file, example device tests and pytest config for the user's own repository."""
