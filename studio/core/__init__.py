"""Studio's core: data, preparation, models, training and export, with no Qt."""
