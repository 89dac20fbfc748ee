"""Code every Newsroom service shares: contracts, settings, plumbing."""
