"""Scripts the multi-process and multi-backend tests run in subprocesses (see `common`)."""
