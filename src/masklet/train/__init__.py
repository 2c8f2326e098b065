"""Training SAM 2: data pipeline (clips of frames with object masks)."""
