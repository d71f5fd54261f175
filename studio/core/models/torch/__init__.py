"""PyTorch networks as scikit-learn estimators: devices, the epoch loop, the networks, and ONNX export.

Nothing here imports torch at module level, so importing Studio does not pay for it."""
