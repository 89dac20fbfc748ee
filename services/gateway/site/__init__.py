"""The reader site: server-rendered pages, feeds and what crawlers read."""
