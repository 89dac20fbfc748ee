"""The ``newsroom`` command line: run, feed and watch the platform."""
