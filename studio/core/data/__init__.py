"""Data kinds and their readers: tables (CSV, Excel, Parquet), column profiles and the target."""
