"""The networks themselves: a multilayer perceptron for tables, built from torch's own classes only."""

from __future__ import annotations

from typing import Any, Literal

ACTIVATIONS = ("relu", "tanh", "gelu")
INITS = ("default", "he", "xavier")


def parse_layers(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in str(text).replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise ValueError(f"hidden_layers must be whole numbers separated by commas, e.g. '64, 32'; got "
                         f"{text!r}.") from None
    if not sizes or any(size < 1 for size in sizes):
        raise ValueError(f"hidden_layers needs at least one layer of at least one unit; got {text!r}.")
    return sizes


def build_network(n_inputs: int, layers: tuple[int, ...], n_outputs: int, activation: str, init: str,
                  dropout: float) -> Any:
    """A plain ``nn.Sequential`` (Linear, activation, dropout, ... Linear): only torch's own classes, so the
    pickled model needs nothing from Studio to load, and it exports to TorchScript as is."""
    import torch
    from torch import nn

    make_activation = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}[activation]
    modules: list[nn.Module] = []
    width = n_inputs
    for size in layers:
        modules.append(nn.Linear(width, size))
        modules.append(make_activation())
        if dropout > 0:
            modules.append(nn.Dropout(dropout))
        width = size
    modules.append(nn.Linear(width, n_outputs))
    network = nn.Sequential(*modules)
    if init != "default":
        gains: dict[str, Literal["relu", "tanh"]] = {"relu": "relu", "tanh": "tanh", "gelu": "relu"}
        gain_name = gains[activation]
        with torch.no_grad():
            for module in network:
                if isinstance(module, nn.Linear):
                    if init == "he":
                        nn.init.kaiming_uniform_(module.weight, nonlinearity=gain_name)
                    else:
                        nn.init.xavier_uniform_(module.weight, gain=nn.init.calculate_gain(gain_name))
                    nn.init.zeros_(module.bias)
    return network
