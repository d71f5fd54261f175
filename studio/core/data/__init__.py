"""Reading tables and image folders."""
