"""What outlives the window: model files, the run history (SQLite) and the settings."""
