"""Data kinds and their readers: tables (CSV, workbooks, Parquet, Feather, JSON, ARFF; pasted, or at a web address;
databases), picture folders, column profiles and the target."""
