"""The editors' and moderators' console at ``/admin``: server-rendered, Arabic, no JavaScript."""
