"""Subcommands of the ``rackfocus-live`` CLI; each module has ``add_arguments`` and ``run``."""
