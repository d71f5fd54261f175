"""Training: splitting the rows and the generator that fits one Pipeline and scores it."""
