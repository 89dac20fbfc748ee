-- One database per service (each owns its data); run once by the postgres image
-- on an empty data directory. The schemas come from `newsroom migrate`.
CREATE DATABASE ingest OWNER newsroom;
CREATE DATABASE views OWNER newsroom;
CREATE DATABASE comments OWNER newsroom;
CREATE DATABASE search OWNER newsroom;
CREATE DATABASE webhooks OWNER newsroom;
