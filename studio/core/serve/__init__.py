"""After export: using a model file on new rows."""
