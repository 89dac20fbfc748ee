"""The public events over HTTP: a resumable Server-Sent Events stream."""
