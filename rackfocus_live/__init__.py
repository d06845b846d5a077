"""rackfocus-live: real-time GPU rack-focus preview with physical thin-lens depth of field."""

__version__ = "0.1.0"
